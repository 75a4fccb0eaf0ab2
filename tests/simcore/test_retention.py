"""Retention deletes whole closed segments; a lagging group loses what it never read."""

from simcore.log import Batch
from simcore.retention import segment_bases
from tests.simcore.helpers import consumer, run, scenario

RETAINED = {"retention.ms": 10000, "segment.ms": 2000}


def batches(times):
    return [Batch(k, range(k, k + 1), 100, t, "p") for k, t in enumerate(times)]


def test_it_rolls_segments_by_age_and_size():
    assert segment_bases(batches([0, 500, 2000, 2100, 4500]), 2000, 10**9) == [
        (0, 500, 200),
        (2, 2100, 200),
        (4, 4500, 100),
    ]
    assert [s[0] for s in segment_bases(batches([0, 1, 2, 3, 4]), 10**9, 250)] == [0, 2, 4]


def lagging(reset="earliest", **changes):
    changes.setdefault(
        "consumers",
        [consumer(processing_ms=3000, config={"auto.offset.reset": reset, "max.poll.records": 1})],
    )
    data = scenario(
        duration_ms=60000,
        broker_config={
            "group.initial.rebalance.delay.ms": 0,
            "log.retention.check.interval.ms": 1000,
        },
        topics=[{"name": "orders", "partitions": 1, "replication_factor": 1, "config": RETAINED}],
        producers=[{"id": "p1", "topic": "orders", "messages": 40, "rate_per_s": 1}],
        **changes,
    )
    return run(data)


def test_it_deletes_old_segments_and_moves_the_log_start():
    result = lagging()
    deleted = [e[3] for e in result.events if e[1] == "segments_deleted"]
    assert deleted and all(d["log_start"] > 0 for d in deleted)
    starts = [d["log_start"] for d in deleted]
    assert starts == sorted(starts)
    topic = result.ledger["topics"]["orders"]
    assert topic["expired"] > 0 and topic["lost_acked"] == 0
    assert topic["in_log"] + topic["expired"] == 40


def test_it_counts_records_deleted_before_a_slow_group_read_them():
    result = lagging()
    group = result.ledger["groups"]["g"]
    assert group["expired_unread"] > 0
    resets = [
        e[3]
        for e in result.events
        if e[1] == "position" and e[3]["why"].startswith("OFFSET_OUT_OF_RANGE")
    ]
    assert resets and "auto.offset.reset=earliest" in resets[0]["why"]


def test_it_fails_a_consumer_with_reset_none_when_its_position_was_deleted():
    # c0 commits a little and closes; c1 resumes there (reset=none needs a commit), then
    # falls behind until its position is deleted
    first = consumer(id="c0", commit="sync-per-record", config={"enable.auto.commit": False})
    slow = consumer(
        id="c1",
        start_ms=2500,
        processing_ms=3000,
        config={"auto.offset.reset": "none", "max.poll.records": 1},
    )
    result = lagging(
        consumers=[first, slow], faults=[{"action": "stop", "target": "c0", "at_ms": 2000}]
    )
    assert any(e.startswith("c1: OffsetOutOfRangeException") for e in result.errors)


def test_it_keeps_everything_with_the_default_segment_size_and_age():
    data = scenario(
        broker_config={"log.retention.check.interval.ms": 1000},
        topics=[
            {
                "name": "orders",
                "partitions": 1,
                "replication_factor": 1,
                "config": {"retention.ms": 1000},
            }
        ],
    )
    result = run(data)
    assert not [e for e in result.events if e[1] == "segments_deleted"]  # one active segment


def test_it_expires_an_empty_groups_offsets_after_offsets_retention_minutes():
    data = scenario(
        duration_ms=200_000,
        broker_config={"group.initial.rebalance.delay.ms": 0, "offsets.retention.minutes": 1},
        faults=[{"action": "stop", "target": "c1", "at_ms": 5000}],
    )
    result = run(data)
    expired = [e for e in result.events if e[1] == "offsets_expired"]
    assert len(expired) == 1 and 65000 <= expired[0][0] <= 66000
    assert result.groups_table() == []  # nothing committed any more, nobody assigned
