"""Time- and size-based retention: whole segments are deleted from the oldest end,
moving the log-start offset ([D] design.html "Log retention"; [J] UnifiedLog.deleteOldSegments).

The broker's retention task first runs ``log.initial.task.delay.ms`` (30 s) after start-up,
then every ``log.retention.check.interval.ms`` (5 min) ([J] LogManager.startup schedules
"kafka-log-retention" with that delay and period). Each pass deletes, from the oldest end,
first by size (while the partition is larger than ``retention.bytes`` by at least a whole
segment), then by time (segments whose newest record is older than ``retention.ms``,
strictly), never a segment reaching above the high watermark ([J]
UnifiedLog.deleteRetentionSizeBreachedSegments, deleteRetentionMsBreachedSegments,
deletableSegments). The active segment is deleted too once it qualifies and the high
watermark has reached the log end: Kafka rolls a new, empty segment first
(UnifiedLog.deleteSegments), so the log start moves to the log end. A segment rolls when
it is ``segment.bytes`` large or its first record is *more than* ``segment.ms`` older than
the record being appended ([J] LogSegment.shouldRoll) — so with the defaults (1 GiB,
7 days) a quiet topic keeps its one active segment until ``retention.ms`` has passed
since its newest record.
A consumer whose position falls below the new log start gets OFFSET_OUT_OF_RANGE and
``auto.offset.reset`` decides where it goes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from simcore.broker.log import Batch, ReplicaLog

if TYPE_CHECKING:
    from simcore.broker.cluster import Cluster, Partition


class Retention:
    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.engine = cluster.engine
        self.timeline = cluster.timeline
        self.interval = cluster.broker_spec.log_retention_check_interval_ms
        self.initial_delay = cluster.broker_spec.log_initial_task_delay_ms
        self.deleted: dict[str, list[Sequence[int]]] = {}  # topic -> message ids deleted

    def start(self) -> None:
        if any(
            p.spec.retention_ms >= 0 or p.spec.retention_bytes >= 0
            for p in self.cluster.partition_list
        ):
            self.engine.after(self.initial_delay, self.check)

    def check(self) -> None:
        for part in self.cluster.partition_list:
            if part.leader is not None and part.replicas[part.leader].lead is not None:
                self._apply(part, part.replicas[part.leader])
        self.engine.after(self.interval, self.check)

    def _apply(self, part: Partition, leader: ReplicaLog) -> None:
        segments = segment_bases(leader.batches, part.spec.segment_ms, part.spec.segment_bytes)
        spec = part.spec
        gone = deletable(
            segments,
            leader.leo,
            leader.hw,
            spec.retention_bytes,
            spec.retention_ms,
            self.engine.now,
        )
        if not gone:
            return
        new_start = segments[gone][0] if gone < len(segments) else leader.leo
        removed: list[Batch] = []
        for replica in part.replicas.values():
            dropped = replica.delete_before(new_start)
            if replica is leader:
                removed = dropped
        self.deleted.setdefault(part.topic, []).extend(b.msgs for b in removed if not b.control)
        self.timeline.record(
            "segments_deleted",
            f"broker-{leader.broker}",
            part=part.name,
            log_start=new_start,
            records=sum(b.count for b in removed),
        )


def deletable(
    segments: Sequence[tuple[int, int, int]],
    log_end: int,
    hw: int,
    retention_bytes: int,
    retention_ms: int,
    now: int,
) -> int:
    """How many of the oldest ``segments`` (base offset, newest timestamp, bytes) one
    retention pass deletes: first by size, then by time, never a segment that reaches
    above the high watermark ([J] UnifiedLog.deleteRetentionSizeBreachedSegments,
    deleteRetentionMsBreachedSegments, deletableSegments)."""
    # where each segment ends: the next one's base, the log end for the active one
    ends = [s[0] for s in segments[1:]] + [log_end]
    gone = 0
    size = sum(s[2] for s in segments)
    if 0 <= retention_bytes <= size:
        diff = size - retention_bytes
        while gone < len(segments) and hw >= ends[gone] and diff - segments[gone][2] >= 0:
            diff -= segments[gone][2]
            gone += 1
    if retention_ms >= 0:
        while gone < len(segments) and hw >= ends[gone] and now - segments[gone][1] > retention_ms:
            gone += 1
    return gone


def segment_bases(
    batches: list[Batch], segment_ms: int, segment_bytes: int
) -> list[tuple[int, int, int]]:
    """(base offset, newest timestamp, bytes) of each segment, rolled the way the broker
    rolls them: by size, or when the appended record is more than ``segment_ms`` newer
    than the segment's first one ([J] LogSegment.shouldRoll, timeWaitedForRoll)."""
    segments: list[list[int]] = []
    for batch in batches:
        if (
            not segments
            or segments[-1][2] + batch.size > segment_bytes
            or batch.created_ms - segments[-1][3] > segment_ms
        ):
            segments.append([batch.base, batch.created_ms, 0, batch.created_ms])
        seg = segments[-1]
        seg[1] = max(seg[1], batch.created_ms)
        seg[2] += batch.size
    return [(s[0], s[1], s[2]) for s in segments]
