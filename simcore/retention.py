"""Time- and size-based retention: whole closed segments are deleted, moving the
log-start offset ([D] design.html "Log retention"; [J] UnifiedLog.deleteOldSegments).

Every ``log.retention.check.interval.ms`` (5 min by default) the broker deletes, from
the oldest end, closed segments whose newest record is older than ``retention.ms``,
or while the partition is larger than ``retention.bytes``; the active segment is never
deleted, and nothing at or above the high watermark. A segment rolls when it is
``segment.bytes`` large or ``segment.ms`` old — so with the defaults (1 GiB, 7 days)
a small topic deletes nothing for a week, whatever its ``retention.ms``.
A consumer whose position falls below the new log start gets OFFSET_OUT_OF_RANGE and
``auto.offset.reset`` decides where it goes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from simcore.log import Batch, ReplicaLog

if TYPE_CHECKING:
    from simcore.cluster import Cluster, Partition


class Retention:
    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.engine = cluster.engine
        self.timeline = cluster.timeline
        self.interval = cluster.broker_spec.log_retention_check_interval_ms
        self.deleted: dict[str, list[Sequence[int]]] = {}  # topic -> message ids deleted

    def start(self) -> None:
        if any(
            p.spec.retention_ms >= 0 or p.spec.retention_bytes >= 0
            for p in self.cluster.partition_list
        ):
            self.engine.after(self.interval, self.check)

    def check(self) -> None:
        for part in self.cluster.partition_list:
            if part.leader is not None and part.replicas[part.leader].lead is not None:
                self._apply(part, part.replicas[part.leader])
        self.engine.after(self.interval, self.check)

    def _apply(self, part: Partition, leader: ReplicaLog) -> None:
        segments = segment_bases(leader.batches, part.spec.segment_ms, part.spec.segment_bytes)
        new_start = leader.log_start
        size = sum(b.size for b in leader.batches)
        for index, (_base, newest, seg_bytes) in enumerate(segments[:-1]):  # never the active one
            next_base = segments[index + 1][0]
            too_old = 0 <= part.spec.retention_ms < self.engine.now - newest
            too_big = 0 <= part.spec.retention_bytes <= size - seg_bytes
            if not (too_old or too_big) or next_base > leader.hw:
                break
            new_start, size = next_base, size - seg_bytes
        if new_start <= leader.log_start:
            return
        removed: list[Batch] = []
        for replica in part.replicas.values():
            gone = replica.delete_before(new_start)
            if replica is leader:
                removed = gone
        self.deleted.setdefault(part.topic, []).extend(b.msgs for b in removed)
        self.timeline.record(
            "segments_deleted",
            f"broker-{leader.broker}",
            part=part.name,
            log_start=new_start,
            records=sum(b.count for b in removed),
        )


def segment_bases(
    batches: list[Batch], segment_ms: int, segment_bytes: int
) -> list[tuple[int, int, int]]:
    """(base offset, newest timestamp, bytes) of each segment, rolled the way the broker
    rolls them: by size, or by age of the segment's first record."""
    segments: list[list[int]] = []
    for batch in batches:
        if (
            not segments
            or segments[-1][2] + batch.size > segment_bytes
            or batch.created_ms - segments[-1][3] >= segment_ms
        ):
            segments.append([batch.base, batch.created_ms, 0, batch.created_ms])
        seg = segments[-1]
        seg[1] = max(seg[1], batch.created_ms)
        seg[2] += batch.size
    return [(s[0], s[1], s[2]) for s in segments]
