"""Cases that plausible one-line bugs used to slip past (issue 17's list)."""

from tests.simcore.helpers import consumer, run, scenario
from tests.simcore.test_groups import events, group_run


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
