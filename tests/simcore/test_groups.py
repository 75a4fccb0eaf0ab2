"""The classic group protocol: joins, evictions, both rebalance protocols, static members."""

from simcore.report.narrative import records_text
from tests.simcore.helpers import consumer, run, scenario

FOUR = [{"name": "orders", "partitions": 4, "replication_factor": 1}]
STEADY = [{"id": "p1", "topic": "orders", "messages": 400, "rate_per_s": 20, "key": "k{i}"}]


def events(result, kind, actor=None):
    return [
        (e[0], e[3]) for e in result.events if e[1] == kind and (actor is None or e[2] == actor)
    ]


def group_run(consumers, faults=(), delay=0, duration=30000, producers=STEADY):
    data = scenario(
        duration_ms=duration,
        topics=FOUR,
        producers=producers,
        consumers=consumers,
        faults=list(faults),
        broker_config={"group.initial.rebalance.delay.ms": delay},
    )
    return run(data)


def assignment(result, member):
    return events(result, "assigned", member)[-1][1]["partitions"]


def test_it_waits_the_initial_rebalance_delay_and_extends_it_for_late_joiners():
    result = group_run([consumer(id="c1"), consumer(id="c2", start_ms=2000)], delay=3000)
    generations = events(result, "generation")
    assert len(generations) == 1  # both in the first generation
    assert generations[0][0] >= 2000 + 3000  # the second join extended the delay
    assert sorted(generations[0][1]["members"]) == ["c1", "c2"]


def test_it_splits_four_partitions_and_leaves_a_fifth_consumer_idle():
    members = [consumer(id=f"c{k}") for k in range(1, 6)]
    result = group_run(members)
    owned = {m: assignment(result, m) for m in ("c1", "c2", "c3", "c4", "c5")}
    assert sorted(p for parts in owned.values() for p in parts) == [
        "orders-0",
        "orders-1",
        "orders-2",
        "orders-3",
    ]
    assert owned["c5"] == []  # more consumers than partitions: one idles
    idle = [r for r in result.groups_table() if r["CLIENT-ID"] == "c5"]
    assert len(idle) == 1 and (idle[0]["TOPIC"], idle[0]["PARTITION"]) == ("-", "-")


def test_it_evicts_a_crashed_member_after_its_session_timeout():
    faults = [{"action": "crash", "target": "c1", "at_ms": 5000}]
    result = group_run([consumer(id="c1"), consumer(id="c2")], faults=faults)
    expired = events(result, "member_expired")
    assert expired and expired[0][1]["member"] == "c1"
    assert 5000 + 6000 - 2000 <= expired[0][0] <= 5000 + 6000  # session.timeout.ms 6000
    assert assignment(result, "c2") == ["orders-0", "orders-1", "orders-2", "orders-3"]
    assert result.ledger["groups"]["g"]["processed_never"] == 0


def test_it_rebalances_at_once_when_a_member_closes():
    faults = [{"action": "stop", "target": "c1", "at_ms": 5000}]
    result = group_run([consumer(id="c1"), consumer(id="c2")], faults=faults)
    left = events(result, "member_left")
    assert left and left[0][0] <= 5000 + 5
    start = [t for t, f in events(result, "rebalance_start") if t >= 5000]
    assert start and start[0] <= 5000 + 5


def test_it_removes_a_consumer_that_exceeds_max_poll_interval():
    # 3 s per record, 5 records per poll: 15 s between polls > max.poll.interval.ms 10 s
    slow = consumer(
        id="c1",
        processing_ms=3000,
        commit="sync-per-batch",
        config={"enable.auto.commit": False, "max.poll.records": 5, "max.poll.interval.ms": 10000},
    )
    fast = consumer(id="c2", commit="sync-per-batch", config={"enable.auto.commit": False})
    result = group_run([slow, fast], duration=40000)
    timeouts = events(result, "poll_timeout", "c1")
    # the heartbeat thread checks the poll timer every retry.backoff.ms (100 ms)
    assert timeouts and 10000 <= timeouts[0][1]["since_last_poll"] < 10100
    assert any("CommitFailedException" in e for e in result.errors)
    assert result.ledger["groups"]["g"]["processed_multiple"] > 0  # c2 re-read c1's batch


def test_it_revokes_everything_with_eager_and_only_what_moves_with_cooperative():
    def scale_out(assignors):
        config = {"partition.assignment.strategy": assignors}  # full class names for Java
        members = [
            consumer(id="c1", config=config),
            consumer(id="c2", start_ms=8000, config=config),
        ]
        return group_run(members)

    eager = scale_out("org.apache.kafka.clients.consumer.RangeAssignor")
    revoked = [f["partitions"] for t, f in events(eager, "revoked", "c1") if t > 8000]
    assert revoked[0] == ["orders-0", "orders-1", "orders-2", "orders-3"]
    cooperative = scale_out("org.apache.kafka.clients.consumer.CooperativeStickyAssignor")
    revoked = [f["partitions"] for t, f in events(cooperative, "revoked", "c1") if t > 8000]
    assert len(revoked) == 1 and len(revoked[0]) == 2  # only the two that move
    gens = [f["generation"] for t, f in events(cooperative, "generation") if t > 8000]
    assert len(gens) == 2  # the second round hands the revoked partitions over
    paused = cooperative.consumer_groups()["g"]["rebalances"]["list"][-1]["paused_ms"]
    eager_paused = eager.consumer_groups()["g"]["rebalances"]["list"][-1]["paused_ms"]
    assert len(paused) == 2 and len(eager_paused) == 4


COOPERATIVE = {
    "partition.assignment.strategy": "org.apache.kafka.clients.consumer.CooperativeStickyAssignor"
}


def test_java_auto_commits_every_position_before_a_cooperative_join_and_not_at_revocation():
    # onJoinPrepare auto-commits all consumed positions, then JoinGroup goes out; the
    # revocation after the join only calls onPartitionsRevoked (ConsumerCoordinator), so
    # what the old owner consumed in between is read again by the new one
    members = [
        consumer(id="c1", processing_ms=100, config=COOPERATIVE),
        consumer(id="c2", start_ms=8000, processing_ms=100, config=COOPERATIVE),
    ]
    result = group_run(members)
    join = next(t for t, _f in events(result, "join_group", "c1") if t > 8000)
    before = [f for t, f in events(result, "commit_sync", "c1") if join - 5 <= t <= join]
    assert before and len(before[0]["offsets"]) == 4  # all four positions
    revoked_at = next(t for t, _f in events(result, "revoked", "c1") if t > 8000)
    assert not [t for t, _f in events(result, "commit_sync", "c1") if t == revoked_at]
    assert result.ledger["groups"]["g"]["processed_multiple"] > 0


def test_java_reschedules_the_auto_commit_after_a_rebalance():
    # onJoinComplete: nextAutoCommitTimer.updateAndReset(auto.commit.interval.ms)
    # the group's initial delay (3 s) makes the assignment arrive 3 s after the start
    result = group_run([consumer(id="c1", config={"auto.commit.interval.ms": 5000})], delay=3000)
    assigned = events(result, "assigned", "c1")[0][0]
    first = events(result, "commit_async", "c1")[0][0]
    assert first >= assigned + 5000


def test_it_lets_a_static_member_restart_within_its_session_without_a_rebalance():
    config = {"group.instance.id": "billing-1", "session.timeout.ms": 20000}
    members = [consumer(id="c1", config=config), consumer(id="c2")]
    faults = [{"action": "crash", "target": "c1", "at_ms": 5000, "restart_after_ms": 2000}]
    result = group_run(members, faults=faults)
    assert events(result, "static_rejoin")
    assert not [t for t, _f in events(result, "rebalance_start") if t > 5000]
    assert assignment(result, "c1") == ["orders-0", "orders-1"]


def test_it_fails_a_commit_after_the_poll_timeout_on_the_client():
    # Java: generationIfStable() is null once the member left, so commitSync throws
    # CommitFailedException without sending anything (ConsumerCoordinator)
    slow = consumer(
        id="c1",
        processing_ms=3000,
        commit="sync-per-batch",
        config={"enable.auto.commit": False, "max.poll.records": 5, "max.poll.interval.ms": 10000},
    )
    result = group_run([slow, consumer(id="c2")], duration=40000)
    left = events(result, "poll_timeout", "c1")[0][0]
    thrown = events(result, "commit_exception", "c1")
    assert thrown and thrown[0][1]["exception"] == "CommitFailedException"
    assert not [t for t, _ in events(result, "commit_sync", "c1") if left <= t <= thrown[0][0]]
    assert not events(result, "commit_refused")  # the coordinator never saw it


def test_a_broker_refuses_a_commit_from_a_member_or_generation_it_does_not_know():
    from simcore.groups.classic import ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, Group
    from simcore.kernel.engine import Engine
    from simcore.kernel.timeline import Timeline

    engine = Engine(1, 1000)
    group = Group("g", engine, Timeline(lambda: engine.now), 0)
    assert group.commit_error(None, -1) is None  # an Empty group takes a standalone commit
    group.members["m1"] = object()  # type: ignore[assignment]
    group.state, group.generation = "Stable", 3
    assert group.commit_error("m2", 3) == UNKNOWN_MEMBER_ID
    assert group.commit_error("m1", 2) == ILLEGAL_GENERATION
    assert group.commit_error("m1", 3) is None


def test_a_lone_consumer_too_slow_for_its_poll_interval_redoes_the_same_batch_for_ever():
    # the livelock: leave on poll timeout, CommitFailedException, rejoin, resume at the
    # old committed offset, the same five records again, and again
    slow = consumer(
        id="c1",
        processing_ms=3000,
        commit="sync-per-batch",
        config={"enable.auto.commit": False, "max.poll.records": 5, "max.poll.interval.ms": 10000},
    )
    result = group_run([slow], duration=60000)
    thrown = events(result, "commit_exception", "c1")
    assert len(thrown) >= 3
    left = events(result, "poll_timeout", "c1")[0][0]
    assert not [t for t, _ in events(result, "commit_ok", "c1") if t > left]  # never again
    polls = [records_text(f["records"]) for t, f in events(result, "poll", "c1") if t > left]
    assert len(polls) >= 3 and len(set(polls)) == 1  # the same batch each time
    assert result.ledger["groups"]["g"]["processed_multiple"] == 5


def test_librdkafka_fails_a_commit_of_a_lost_assignment():
    slow = consumer(
        id="c1",
        client="librdkafka",
        processing_ms=12000,
        commit="sync-per-batch",
        config={"enable.auto.commit": False, "max.poll.interval.ms": 10000},
    )
    result = group_run([slow], duration=30000)
    assert events(result, "poll_timeout", "c1")
    thrown = events(result, "commit_exception", "c1")
    assert thrown and thrown[0][1]["exception"] == "KafkaException(_ASSIGNMENT_LOST)"


def test_it_notices_a_poll_timeout_shorter_than_the_heartbeat_interval():
    slow = consumer(
        id="c1",
        processing_ms=3000,
        commit="sync-per-batch",
        config={
            "enable.auto.commit": False,
            "max.poll.records": 1,
            "max.poll.interval.ms": 1000,
            "heartbeat.interval.ms": 2000,
        },
    )
    result = group_run([slow], duration=8000)
    timeouts = events(result, "poll_timeout", "c1")
    assert timeouts and 1000 <= timeouts[0][1]["since_last_poll"] < 1100


def test_a_graceful_stop_in_the_middle_of_a_chunk_lets_the_chunk_go():
    """Found by a property test: close() commits (blocking) while the chunk in hand would
    finish; the records whose time had passed count as processed, the rest do not."""
    stop = {"action": "stop", "target": "c1", "at_ms": 3755}
    slow = consumer(id="c1", processing_ms=50)
    producers = [{"id": "p1", "topic": "orders", "messages": 300, "rate_per_s": 10}]
    result = run(scenario(duration_ms=10_000, consumers=[slow], faults=[stop], producers=producers))
    assert events(result, "closed", "c1")
    processed = sum(f["count"] for _t, f in events(result, "processed", "c1"))
    assert processed == result.ledger["groups"]["g"]["processing_total"]
    last = max(t for t, _f in events(result, "processed", "c1"))
    assert last <= 3755
