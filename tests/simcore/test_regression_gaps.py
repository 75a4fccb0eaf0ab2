"""Cases that plausible one-line bugs used to slip past (issue 17's list)."""

import pytest

from simcore.report.narrative import offsets_text
from tests.simcore.helpers import consumer, run, scenario
from tests.simcore.test_groups import events, group_run
from tests.simcore.test_replication import LAG, cluster
from tests.simcore.test_replication import events as replication_events


def test_a_static_member_that_stops_gracefully_and_returns_in_time_keeps_its_place():
    # KIP-345: a static member's close() sends no LeaveGroup; back within the session
    # timeout it rejoins with the same assignment and no rebalance
    config = {"group.instance.id": "billing-1", "session.timeout.ms": 20000}
    members = [consumer(id="c1", config=config), consumer(id="c2")]
    faults = [{"action": "stop", "target": "c1", "at_ms": 5000, "restart_after_ms": 2000}]
    result = group_run(members, faults=faults)
    assert not events(result, "leave_group", "c1")
    assert not [t for t, _f in events(result, "rebalance_start") if t > 5000]
    assert events(result, "static_rejoin")
    before = [f["partitions"] for t, f in events(result, "assigned", "c1") if t < 5000][-1]
    after = [f["partitions"] for t, f in events(result, "assigned", "c1") if t > 5000]
    assert all(a == before for a in after)


def test_a_librdkafka_consumer_stops_auto_committing_once_it_has_committed_everything():
    # rd_kafka's timer commits only stored offsets that moved past the committed ones
    c = consumer(client="librdkafka", config={"auto.commit.interval.ms": 1000})
    result = run(scenario(consumers=[c], duration_ms=20000))
    commits = [t for t, k, a, _f in result.events if k == "commit_async" and a == "c1"]
    assert commits and max(commits) < 5000  # three records early on, then nothing to commit


def test_latest_starts_at_the_high_watermark_not_the_log_end():
    # acks=all with a follower slowed down: the HW trails the leader's LEO; a new group
    # with auto.offset.reset=latest starts at the HW (ListOffsets(latest) returns it)
    data = scenario(
        brokers=2,
        topics=[{"name": "orders", "partitions": 1, "replication_factor": 2}],
        producers=[
            {
                "id": "p1",
                "topic": "orders",
                "messages": 40,
                "rate_per_s": 10,
                "config": {"acks": "all"},
            }
        ],
        consumers=[consumer(start_ms=2500, config={"auto.offset.reset": "latest"})],
        faults=[
            {
                "action": "slow_follower",
                "target": "broker-1",
                "at_ms": 1000,
                "delay_ms": 3000,
                "duration_ms": 3000,
            }
        ],
    )
    result = run(data)
    start = next(f for _t, k, a, f in result.events if k == "position" and a == "c1")
    at = next(t for t, k, a, _f in result.events if k == "position" and a == "c1")
    hw = max([f["hw"] for t, k, _a, f in result.events if k == "hw" and t <= at], default=0)
    leo = max(
        f["base"] + f["count"]
        for t, k, a, f in result.events
        if k == "append" and t <= at and a == "broker-0"
    )
    assert start["why"] == "auto.offset.reset=latest"
    assert start["offset"] == hw < leo  # the follower's lag held the HW back


def test_java_auto_commits_at_each_interval_from_the_assignment_with_the_position_then():
    # the timer restarts when the assignment is applied (7 ms) and at each auto-commit
    # ([J] ConsumerCoordinator.onJoinComplete, maybeAutoCommitOffsetsAsync); poll() runs
    # at each deadline — the last one an idle poll() woken for it — and commits the
    # position of that moment, before handing out the next record
    producers = [{"id": "p1", "topic": "orders", "messages": 30, "rate_per_s": 2}]
    result = run(scenario(duration_ms=20000, producers=producers, consumers=[consumer()]))
    commits = [
        (t, offsets_text(f["offsets"]))
        for t, k, a, f in result.events
        if k == "commit_async" and a == "c1"
    ]
    assert commits == [
        (5007, "orders-0@10"),
        (10007, "orders-0@20"),
        (15007, "orders-0@30"),
    ]


def test_the_hw_holds_while_the_isr_is_below_min_insync_replicas_even_as_records_arrive():
    # acks=1 keeps appending to the leader through the isolation of both followers; with
    # min.insync.replicas=2 the HW must not move from the shrink to the expand (KAFKA-15583)
    data = cluster(
        producer_config={"acks": 1, "enable.idempotence": False},
        topic_config={"min.insync.replicas": 2},
        faults=[
            {
                "action": "isolate_broker",
                "target": f"broker-{b}",
                "at_ms": 500,
                "duration_ms": 20000,
            }
            for b in (1, 2)
        ],
        messages=300,
        rate=10,
    )
    result = run(data)
    shrink = next(t for t, f in replication_events(result, "isr_shrink") if f["isr"] == [0])
    expand = replication_events(result, "isr_expand")[0][0]
    appended = [t for t, _f in replication_events(result, "append") if shrink < t < expand]
    assert len(appended) > 50, "the leader kept appending while the ISR was [0]"
    hws = [f["hw"] for t, f in replication_events(result, "hw") if t <= expand]
    moves = [t for t, _f in replication_events(result, "hw") if shrink < t < expand]
    assert moves == [] and hws[-1] <= 6  # stuck where the followers left it
    assert [t for t, _f in replication_events(result, "hw") if t > expand], "moves after"


def test_a_follower_that_keeps_fetching_but_falls_behind_leaves_the_isr():
    # replica.fetch.max.bytes 100: each fetch brings one batch, every ~100 ms, against 200
    # records a second; the follower never reaches the LEO of its previous fetch, so it
    # is out after replica.lag.time.max.ms (checked every half of it)
    def falling_behind(fetch_max_bytes):
        data = cluster(
            faults=[{"action": "slow_follower", "target": "broker-1", "at_ms": 0, "delay_ms": 100}],
            messages=4000,
            rate=200,
            duration=20000,
        )
        data["broker_config"]["replica.fetch.max.bytes"] = fetch_max_bytes
        return run(data)

    behind = falling_behind(100)
    shrinks = replication_events(behind, "isr_shrink")
    assert shrinks[0][1]["removed"] == [1]
    assert LAG < shrinks[0][0] <= LAG * 3 // 2
    follower = behind.sim.cluster.partitions[("t", 0)].replicas[1]
    assert 1000 < follower.leo < 4000, "it kept fetching, one batch at a time"
    # the same delay without the cap: each fetch reaches the LEO of the one before, which
    # counts as caught up ([J] Replica.updateFetchStateOrThrow), although new records
    # always arrive during the 100 ms
    assert replication_events(falling_behind(1_048_576), "isr_shrink") == []


def test_a_returning_replica_truncates_to_where_the_new_leaders_first_epoch_starts():
    # the followers are slow from the start, so broker-1 is elected (epoch 1) with an
    # empty log: it knows no epoch 0. Broker-0 comes back with 15 records of epoch 0 and
    # asks for the end of epoch 0: the leader answers with the start of its first later
    # epoch, 0 ([J] LeaderEpochFileCache.endOffsetFor, KIP-279), and broker-0 truncates all
    faults = [
        {
            "action": "slow_follower",
            "target": f"broker-{b}",
            "at_ms": 0,
            "delay_ms": 30000,
            "duration_ms": 2000,
        }
        for b in (1, 2)
    ] + [{"action": "kill_broker", "target": "broker-0", "at_ms": 1500, "restart_after_ms": 20000}]
    result = run(
        cluster(
            faults=faults,
            producer_config={"acks": 1, "enable.idempotence": False},
            messages=100,
            rate=10,
            duration=40000,
        )
    )
    elected = replication_events(result, "leader_elected")
    assert [(f["leader"], f["epoch"]) for _t, f in elected] == [(1, 1)]
    assert [f for _t, f in replication_events(result, "truncate")] == [
        {"part": "t-0", "offset": 0, "removed": 15}
    ]
    part = result.sim.cluster.partitions[("t", 0)]
    hw = part.replicas[1].hw
    below = [[b for b in r.batches if b.end <= hw] for r in part.replicas.values()]
    assert all(
        [(b.base, tuple(b.msgs)) for b in x] == [(b.base, tuple(b.msgs)) for b in below[0]]
        for x in below
    )
    assert result.ledger["topics"]["t"]["lost_acked"] == 15


@pytest.mark.parametrize(
    "retention",
    [{"retention.ms": 2000}, {"retention.bytes": 300}],
    ids=["by time", "by size"],
)
def test_retention_never_moves_the_log_start_past_the_high_watermark(retention):
    # acks=1 while both followers are isolated: the leader's log grows above a HW stuck
    # near 0; short retention and 1 s segments make closed segments above the HW old
    # enough to delete, and they must stay ([J] UnifiedLog.deletableSegments)
    data = cluster(
        producer_config={"acks": 1, "enable.idempotence": False},
        topic_config={"min.insync.replicas": 2, "segment.ms": 1000, **retention},
        faults=[
            {
                "action": "isolate_broker",
                "target": f"broker-{b}",
                "at_ms": 500,
                "duration_ms": 15000,
            }
            for b in (1, 2)
        ],
        messages=300,
        rate=10,
        duration=40000,
    )
    data["broker_config"].update(
        {"log.retention.check.interval.ms": 1000, "log.initial.task.delay.ms": 0}
    )
    result = run(data)
    deleted = replication_events(result, "segments_deleted")
    assert deleted, "segments below the HW are deleted once the followers are back"
    expand = replication_events(result, "isr_expand")[0][0]
    assert all(t > expand for t, _f in deleted), "nothing while the HW was stuck"
    part = result.sim.cluster.partitions[("t", 0)]
    for snap in result.sim.recorder.snapshots:
        (log_start, _leo, hw, *_rest) = snap[2][0]
        assert log_start <= hw
    assert part.log.log_start <= part.log.hw


def test_idle_followers_learn_the_high_watermark_within_replica_fetch_wait_max_ms():
    # the last records are written at about 1.9 s; the followers' parked fetches are
    # answered empty after replica.fetch.wait.max.ms (500) with the leader's HW, so every
    # replica agrees on it long before the end ([J] DelayedFetch expiring)
    result = run(cluster(messages=20, rate=10, duration=10_000))
    part = result.sim.cluster.partitions[("t", 0)]
    assert {r.hw for r in part.replicas.values()} == {20}
    # and an idle follower keeps being caught up: the ISR never shrinks
    assert replication_events(result, "isr_shrink") == []
