"""ISR membership, high watermark, elections and truncation, one rule at a time."""

from tests.simcore.helpers import run

LAG = 4000  # replica.lag.time.max.ms, lowered so runs stay short


def cluster(
    producer_config=None,
    topic_config=None,
    faults=(),
    messages=20,
    rate=10,
    duration=60000,
    consumers=(),
):
    return {
        "name": "replication",
        "seed": 3,
        "duration_ms": duration,
        "brokers": 3,
        "broker_config": {"replica.lag.time.max.ms": LAG},
        "topics": [
            {"name": "t", "partitions": 1, "replication_factor": 3, "config": topic_config or {}}
        ],
        "producers": [
            {
                "id": "p",
                "topic": "t",
                "messages": messages,
                "rate_per_s": rate,
                "config": producer_config or {},
            }
        ],
        "consumers": list(consumers),
        "faults": list(faults),
    }


def events(result, kind):
    return [(e[0], e[3]) for e in result.events if e[1] == kind]


def test_it_moves_the_hw_one_follower_fetch_round_after_the_append():
    result = run(cluster(messages=1))
    append = events(result, "append")[0][0]
    hw = events(result, "hw")[0][0]
    assert hw == append + 2  # follower gets it (1 ms), its next fetch reports it (1 ms)


def test_it_shrinks_the_isr_after_replica_lag_time_max_and_expands_on_catch_up():
    slow = {
        "action": "slow_follower",
        "target": "broker-1",
        "at_ms": 0,
        "delay_ms": 10000,
        "duration_ms": 20000,
    }
    result = run(cluster(faults=[slow]))
    shrink = events(result, "isr_shrink")
    expand = events(result, "isr_expand")
    assert shrink[0][1]["removed"] == [1] and shrink[0][1]["isr"] == [0, 2]
    # checked every LAG/2: out after more than LAG, at most 1.5 x LAG
    assert LAG < shrink[0][0] <= LAG * 3 // 2 + 200
    assert expand and expand[0][1]["isr"] == [0, 1, 2] and expand[0][0] > 20000


def test_it_acks_faster_once_a_slow_follower_left_the_isr():
    slow = {"action": "slow_follower", "target": "broker-1", "at_ms": 0, "delay_ms": 30000}
    result = run(cluster(faults=[slow], duration=30000))
    sends = {e[3]["batch"]: e[0] for e in result.events if e[1] == "send"}
    acks = {e[3]["batch"]: e[0] for e in result.events if e[1] == "ack"}
    shrink = events(result, "isr_shrink")[0][0]
    before = [acks[b] - sends[b] for b in acks if sends[b] < 1000]
    after = [acks[b] - sends[b] for b in acks if sends[b] > shrink]
    assert min(before) > 1000 and max(after) < 10


def test_it_rejects_acks_all_below_min_insync_replicas():
    isolate = [
        {"action": "isolate_broker", "target": f"broker-{b}", "at_ms": 500, "duration_ms": 20000}
        for b in (1, 2)
    ]
    result = run(cluster(topic_config={"min.insync.replicas": 2}, faults=isolate))
    errors = {f["error"] for _t, f in events(result, "produce_error")}
    assert "NOT_ENOUGH_REPLICAS" in errors
    assert result.ledger["topics"]["t"]["lost_acked"] == 0
    assert result.ledger["topics"]["t"]["acked"] == 20  # retried until the ISR recovered


def test_it_holds_the_hw_while_the_isr_is_below_min_insync_replicas():
    isolate = [
        {"action": "isolate_broker", "target": f"broker-{b}", "at_ms": 500, "duration_ms": 20000}
        for b in (1, 2)
    ]
    result = run(
        cluster(
            producer_config={"acks": 1, "enable.idempotence": False},
            topic_config={"min.insync.replicas": 2},
            faults=isolate,
        )
    )
    shrink = events(result, "isr_shrink")[-1][0]
    expand = events(result, "isr_expand")[0][0]
    assert not [t for t, _f in events(result, "hw") if shrink < t < expand]  # KAFKA-15583


def test_it_elects_from_the_isr_after_the_session_timeout():
    kill = {"action": "kill_broker", "target": "broker-0", "at_ms": 1000}
    result = run(cluster(faults=[kill]))
    fenced = events(result, "broker_fenced")[0][0]
    elected = events(result, "leader_elected")[0]
    assert fenced == 1000 + 9000  # broker.session.timeout.ms
    assert elected[1]["leader"] == 1 and elected[1]["unclean"] is False
    assert result.ledger["topics"]["t"]["lost_acked"] == 0


def test_it_stays_offline_without_unclean_election_and_loses_data_with_it():
    faults = [
        {"action": "isolate_broker", "target": "broker-1", "at_ms": 200, "duration_ms": 30000},
        {"action": "isolate_broker", "target": "broker-2", "at_ms": 200, "duration_ms": 30000},
        {"action": "kill_broker", "target": "broker-0", "at_ms": 15000},
    ]
    clean = run(cluster(faults=faults, producer_config={"acks": 1, "enable.idempotence": False}))
    assert events(clean, "partition_offline")
    assert not [f for _t, f in events(clean, "leader_elected") if f["unclean"]]
    unclean = run(
        cluster(
            faults=faults,
            topic_config={"unclean.leader.election.enable": True},
            producer_config={"acks": 1, "enable.idempotence": False},
        )
    )
    assert [f for _t, f in events(unclean, "leader_elected") if f["unclean"]]
    assert unclean.ledger["topics"]["t"]["lost_acked"] > 0


def test_it_truncates_a_returning_leader_to_the_new_leaders_epoch():
    faults = [
        {"action": "slow_follower", "target": "broker-1", "at_ms": 0, "delay_ms": 3000},
        {"action": "slow_follower", "target": "broker-2", "at_ms": 0, "delay_ms": 3000},
        {"action": "kill_broker", "target": "broker-0", "at_ms": 950, "restart_after_ms": 15000},
    ]
    result = run(cluster(faults=faults, producer_config={"acks": 1, "enable.idempotence": False}))
    truncate = events(result, "truncate")
    assert truncate and truncate[0][1]["removed"] > 0
    part = result.sim.cluster.partitions[("t", 0)]
    logs = [[(b.base, tuple(b.msgs)) for b in r.batches] for r in part.replicas.values()]
    assert logs[0] == logs[1] == logs[2]  # replicas never silently diverge (KIP-101)
    assert result.ledger["topics"]["t"]["lost_acked"] == truncate[0][1]["removed"]


def test_it_lets_an_isolated_leader_acknowledge_acks_1_writes_that_are_then_lost():
    faults = [
        {"action": "isolate_broker", "target": "broker-0", "at_ms": 500, "duration_ms": 20000}
    ]
    result = run(cluster(faults=faults, producer_config={"acks": 1, "enable.idempotence": False}))
    assert result.ledger["topics"]["t"]["lost_acked"] > 0  # Jepsen 2013
    safe = run(cluster(faults=faults, topic_config={"min.insync.replicas": 2}))
    assert safe.ledger["topics"]["t"]["lost_acked"] == 0


def test_it_sends_to_the_new_leader_after_a_metadata_refresh():
    kill = {"action": "kill_broker", "target": "broker-0", "at_ms": 1000}
    result = run(cluster(faults=[kill], duration=30000, messages=200))
    sends = events(result, "send")
    assert {f["broker"] for t, f in sends if t < 1000} == {0}
    assert not [t for t, f in sends if 1000 < t < 10000]  # the dead leader refuses connections
    assert {f["broker"] for t, f in sends if t >= 10000} == {1}
    assert result.ledger["topics"]["t"]["acked"] == 200


def test_it_tells_the_story_of_an_acknowledged_message_that_was_truncated_away():
    faults = [
        {"action": "slow_follower", "target": "broker-1", "at_ms": 0, "delay_ms": 3000},
        {"action": "slow_follower", "target": "broker-2", "at_ms": 0, "delay_ms": 3000},
        {"action": "kill_broker", "target": "broker-0", "at_ms": 950, "restart_after_ms": 15000},
    ]
    result = run(cluster(faults=faults, producer_config={"acks": 1, "enable.idempotence": False}))
    lost = [m["id"] for m in result.messages() if m["outcome"].startswith("lost")]
    kinds = [e["kind"] for e in result.message_story(lost[0])]
    assert kinds[:3] == ["send", "append", "ack"] and kinds[-1] == "truncate"
    assert "poll" not in kinds  # nobody read it: it never reached the high watermark


def test_it_acknowledges_a_deduplicated_retry_only_once_the_hw_passes_it():
    # found by the no-acknowledged-loss property: the leader wrote #0 and died before
    # anyone copied it, came back as leader and saw #0's retry: a duplicate, but not
    # committed yet — answering it at once acknowledged a record that was then lost
    from tests.simcore.test_replication_properties import build

    faults = [
        {"action": "kill_broker", "target": "broker-0", "at_ms": 0},
        {"action": "kill_broker", "target": "broker-1", "at_ms": 7, "restart_after_ms": 3972},
        {"action": "kill_broker", "target": "broker-1", "at_ms": 4007},
    ]
    result = run(build(0, faults, "all", 2, False, True, 2))
    assert [e for e in result.events if e[1] == "dedup"]
    assert result.ledger["topics"]["t"]["lost_acked"] == 0


def test_it_refuses_isr_changes_from_a_leader_of_an_old_epoch():
    # found by the property test: broker-0 led, was cut off, lost its leadership, and on
    # returning its ISR check tried to shrink the ISR of a partition it no longer led
    from tests.simcore.test_replication_properties import build

    faults = [
        {"action": "kill_broker", "target": "broker-1", "at_ms": 0},
        {"action": "isolate_broker", "target": "broker-0", "at_ms": 0, "duration_ms": 14998},
    ]
    result = run(build(0, faults, "all", 2, False, True, 1))  # invariants checked
    shrinks = [e[2] for e in result.events if e[1] == "isr_shrink" and e[0] >= 14998]
    assert "broker-0" not in shrinks
