"""Retention deletes whole closed segments; a lagging group loses what it never read."""

import pytest

from simcore.broker.log import Batch
from simcore.broker.retention import deletable, segment_bases
from simcore.report.narrative import offsets_text
from tests.simcore.helpers import consumer, run, scenario

RETAINED = {"retention.ms": 10000, "segment.ms": 2000}


def batches(times):
    return [Batch(k, range(k, k + 1), 100, t, "p") for k, t in enumerate(times)]


def test_it_rolls_segments_by_age_and_size():
    # a record exactly segment.ms newer than the first stays in the segment; one more ms
    # rolls ([J] LogSegment.shouldRoll compares with ">")
    assert segment_bases(batches([0, 500, 2000, 2001, 4500]), 2000, 10**9) == [
        (0, 2000, 300),
        (3, 2001, 100),
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
            "log.initial.task.delay.ms": 1000,
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
    # a segment boundary, behind the log end (one record a second from 0 s), by the leader
    for t, actor, fields in [
        (e[0], e[2], e[3]) for e in result.events if e[1] == "segments_deleted"
    ]:
        assert fields["log_start"] < t // 1000 and actor == "broker-0"
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


def test_it_deletes_the_active_segment_once_its_newest_record_is_older_than_retention():
    # one segment (default segment.ms and segment.bytes) holding one batch, written at
    # 0 ms; the check at 4,000 finds it 4,000 ms old (not > 4,000), the one at 5,000 deletes
    # the whole log: Kafka rolls an empty segment first ([J] UnifiedLog.deleteSegments)
    data = scenario(
        consumers=[],
        broker_config={"log.retention.check.interval.ms": 1000, "log.initial.task.delay.ms": 0},
        topics=[
            {
                "name": "orders",
                "partitions": 1,
                "replication_factor": 1,
                "config": {"retention.ms": 4000},
            }
        ],
    )
    result = run(data)
    deleted = [(e[0], e[3]) for e in result.events if e[1] == "segments_deleted"]
    assert deleted == [(5000, {"part": "orders-0", "log_start": 3, "records": 3})]
    assert result.ledger["topics"]["orders"]["expired"] == 3


def test_it_keeps_the_active_segment_while_the_high_watermark_is_below_the_log_end():
    # acks=1 to a leader whose only follower is isolated: the HW stays at 0, so nothing at
    # or above it may go, however old ([J] UnifiedLog.deletableSegments: HW >= upper bound)
    data = scenario(
        brokers=2,
        consumers=[],
        broker_config={"log.retention.check.interval.ms": 1000, "log.initial.task.delay.ms": 0},
        topics=[
            {
                "name": "orders",
                "partitions": 1,
                "replication_factor": 2,
                "config": {"retention.ms": 1000, "min.insync.replicas": 1},
            }
        ],
        producers=[
            {
                "id": "p1",
                "topic": "orders",
                "messages": 3,
                "rate_per_s": 1000,
                "config": {"acks": 1},
            }
        ],
        faults=[{"action": "slow_follower", "target": "broker-1", "at_ms": 0, "delay_ms": 60000}],
    )
    result = run(data)
    assert [e for e in result.events if e[1] == "segments_deleted"] == []


def test_the_first_retention_check_waits_for_log_initial_task_delay_ms():
    # default log.initial.task.delay.ms (30 s), then every check interval
    data = scenario(
        duration_ms=40_000,
        consumers=[],
        broker_config={"log.retention.check.interval.ms": 1000},
        topics=[
            {
                "name": "orders",
                "partitions": 1,
                "replication_factor": 1,
                "config": {"retention.ms": 1000, "segment.ms": 1000},
            }
        ],
        producers=[{"id": "p1", "topic": "orders", "messages": 40, "rate_per_s": 1}],
    )
    times = [e[0] for e in run(data).events if e[1] == "segments_deleted"]
    assert times[0] == 30_000
    assert all(t % 1000 == 0 for t in times)


def expiring(**changes):
    data = scenario(
        duration_ms=200_000,
        broker_config={
            "group.initial.rebalance.delay.ms": 0,
            "offsets.retention.minutes": 1,
            "offsets.retention.check.interval.ms": 20_000,
        },
        faults=[{"action": "stop", "target": "c1", "at_ms": 5000}],
        **changes,
    )
    return run(data)


def test_it_expires_an_empty_groups_offsets_at_the_first_cleanup_after_the_retention():
    # c1 leaves at 5 s: the group is Empty from then; the retention (1 min) has passed at
    # ~65 s, the coordinator's clean-up runs every 20 s from its start: at 80 s
    result = expiring()
    emptied = next(e[0] for e in result.events if e[1] == "member_left")
    assert 5000 <= emptied < 6000
    expired = [(e[0], e[3]) for e in result.events if e[1] == "offsets_expired"]
    assert expired == [(80_000, {"group": "g", "partitions": ["orders-0"]})]
    assert result.groups_table() == []  # nothing committed any more, nobody assigned


def test_a_group_back_before_the_cleanup_resumes_from_its_offsets():
    # c2 joins at 70 s: the retention has passed (65 s) but no clean-up ran yet (80 s),
    # and a group that is not Empty keeps its offsets, so c2 resumes at the commit, not at
    # auto.offset.reset
    late = consumer(id="c2", start_ms=70_000, config={"auto.offset.reset": "latest"})
    steady = {"id": "p1", "topic": "orders", "messages": 100, "rate_per_s": 1}
    result = expiring(consumers=[consumer(), late], producers=[steady])
    assert not [e for e in result.events if e[1] == "offsets_expired"]
    c1_commits = [
        offsets_text(e[3]["offsets"])
        for e in result.events
        if e[1] == "commit_stored" and e[3]["member"] == "c1"
    ]
    assert c1_commits[-1] == "orders-0@5"  # c1's commit on close, at 5 s
    positions = [e[3] for e in result.events if e[1] == "position" and e[2] == "c2"]
    assert positions[0] == {"part": "orders-0", "offset": 5, "why": "committed offset"}


# --- one retention pass, on hand-made segments: (base offset, newest timestamp, bytes) -----

THREE = [(0, 1000, 100), (10, 2000, 100), (20, 3000, 100)]  # log end 30


def cut(retention_bytes=-1, retention_ms=-1, hw=30, now=10_000, segments=THREE):
    return deletable(segments, 30, hw, retention_bytes, retention_ms, now)


def test_size_retention_deletes_whole_segments_while_the_excess_covers_them():
    assert cut(retention_bytes=150) == 1  # 300 - 150 = 150: one 100-byte segment fits
    assert cut(retention_bytes=200) == 1  # exactly one segment over: it goes
    assert cut(retention_bytes=100) == 2
    assert cut(retention_bytes=300) == 0  # not over at all
    assert cut(retention_bytes=0) == 3  # keep nothing: all, the active one too
    assert cut(retention_bytes=-1) == 0  # no limit


def test_time_retention_deletes_segments_whose_newest_record_is_older_strictly():
    assert cut(retention_ms=8000) == 1  # 9,000 and 8,000 ms old: > 8,000 only the first
    assert cut(retention_ms=7999) == 2
    assert cut(retention_ms=0, now=2500) == 2  # 0 = anything older than now
    assert cut(retention_ms=-1) == 0
    # the timestamp, not the size, decides: sizes above any age here
    big = [(0, 1000, 9000), (10, 9500, 9000)]
    assert cut(retention_ms=5000, segments=big) == 1


def test_a_pass_deletes_by_size_then_by_time():
    # size takes the first segment; time, the second (8,000 ms old > 7,500)
    assert cut(retention_bytes=200, retention_ms=7500) == 2


def test_nothing_at_or_above_the_high_watermark_goes():
    assert cut(retention_bytes=0, hw=10) == 1  # the first segment ends at 10 = HW: it may go
    assert cut(retention_bytes=0, hw=9) == 0
    assert cut(retention_ms=0, hw=20) == 2
    assert cut(retention_ms=0, hw=29) == 2  # the active one ends at the log end, 30


def test_segments_roll_on_size_when_the_next_batch_would_overflow():
    # 100-byte batches, segment.bytes 200: two fit exactly, the third rolls
    assert [s[0] for s in segment_bases(batches([0, 1, 2, 3]), 10**9, 200)] == [0, 2]
    # the age counts from the segment's first record, wherever the log began
    assert [s[0] for s in segment_bases(batches([1000, 1500, 3001]), 2000, 10**9)] == [0, 2]
    # the newest timestamp is the segment's largest, whichever batch holds it
    late_first = [Batch(0, range(0, 1), 100, 50, "p"), Batch(1, range(1, 2), 100, 40, "p")]
    assert segment_bases(late_first, 10**9, 10**9) == [(0, 50, 200)]


@pytest.mark.parametrize(
    "config",
    [{"retention.ms": 0}, {"retention.ms": -1, "retention.bytes": 0}],
    ids=["time", "size only"],
)
def test_a_zero_retention_still_starts_the_retention_task(config):
    data = scenario(
        consumers=[],
        broker_config={"log.retention.check.interval.ms": 1000, "log.initial.task.delay.ms": 0},
        topics=[{"name": "orders", "partitions": 1, "replication_factor": 1, "config": config}],
    )
    deleted = [e for e in run(data).events if e[1] == "segments_deleted"]
    assert deleted and deleted[0][3]["log_start"] == 3


def test_an_offline_partition_is_skipped_by_the_retention_task():
    # its only replica's broker dies: no leader, nothing to apply retention to, no crash
    data = scenario(
        consumers=[],
        duration_ms=10_000,
        broker_config={"log.retention.check.interval.ms": 1000, "log.initial.task.delay.ms": 0},
        topics=[
            {
                "name": "orders",
                "partitions": 1,
                "replication_factor": 1,
                "config": {"retention.ms": 100_000},
            }
        ],
        faults=[{"action": "kill_broker", "target": "broker-0", "at_ms": 500}],
    )
    result = run(data)
    assert [e for e in result.events if e[1] == "partition_offline"]
    assert not [e for e in result.events if e[1] == "segments_deleted"]
