"""Partition logs: record batches, offsets, log-start offset, LEO and high watermark.

A log is a list of batches. A batch carries a contiguous offset range and the
messages it holds as a compact sequence of ledger message ids (a ``range`` when the
producer's messages are consecutive, else an ``array('q')``: keyed records), so a
million records cost what their batches cost. Replicas share a batch's id sequence.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from simcore.broker.replication import LeaderState


@dataclass(slots=True)
class Batch:
    base: int  # first offset (set on append)
    msgs: Sequence[int]  # ledger message ids, one per record
    size: int  # bytes
    created_ms: int  # when its first record was produced (the record timestamp)
    producer: str
    producer_id: int = -1  # idempotent producers: broker-side dedup key
    base_seq: int = -1
    epoch: int = 0  # leader epoch at append
    number: int = -1  # the producer's batch number (for message stories)
    producer_epoch: int = 0  # idempotent producers: bumped by KIP-360 recovery

    @property
    def count(self) -> int:
        return len(self.msgs)

    @property
    def end(self) -> int:
        return self.base + len(self.msgs)


class ReplicaLog:
    """One replica's copy of a partition."""

    __slots__ = (
        "_bases",
        "batches",
        "broker",
        "epoch",
        "epochs",
        "hw",
        "lead",
        "leader",
        "leo",
        "log_start",
        "truncations",
    )

    def __init__(self, broker: int) -> None:
        self.broker = broker
        self.batches: list[Batch] = []
        self._bases: list[int] = []
        self.log_start = 0
        self.leo = 0
        self.hw = 0
        self.epochs: list[tuple[int, int]] = []  # leader-epoch cache: (epoch, start offset)
        self.lead: LeaderState | None = None  # while this replica believes it leads
        self.leader: int | None = None  # the leader this replica knows of
        self.epoch = -1  # the leader epoch this replica knows of
        self.truncations = 0  # times records at or above some offset were cut away

    def append(self, batch: Batch) -> Batch:
        """Appends at the LEO (the leader assigns offsets this way)."""
        placed = Batch(
            self.leo,
            batch.msgs,
            batch.size,
            batch.created_ms,
            batch.producer,
            batch.producer_id,
            batch.base_seq,
            batch.epoch,
            batch.number,
            batch.producer_epoch,
        )
        self.copy_from(placed)
        return placed

    def copy_from(self, batch: Batch) -> None:
        """A follower appends the leader's batch at the leader's offsets."""
        assert batch.base == self.leo, (batch.base, self.leo)
        if not self.epochs or batch.epoch > self.epochs[-1][0]:
            self.epochs.append((batch.epoch, batch.base))
        self.batches.append(batch)
        self._bases.append(batch.base)
        self.leo = batch.end

    def start_epoch(self, epoch: int) -> None:
        """A new leader records where its epoch starts (its LEO) in the epoch cache."""
        if not self.epochs or epoch > self.epochs[-1][0]:
            self.epochs.append((epoch, self.leo))

    def end_offset_for_epoch(self, epoch: int) -> tuple[int, int]:
        """OffsetsForLeaderEpoch (KIP-101/279): the largest known epoch <= ``epoch`` and
        the offset where it ends (the next epoch's start, or the LEO)."""
        found = -1
        for k, (e, _start) in enumerate(self.epochs):
            if e <= epoch:
                found = k
        if found < 0:
            return -1, self.log_start
        end = self.epochs[found + 1][1] if found + 1 < len(self.epochs) else self.leo
        return self.epochs[found][0], end

    def latest_epoch(self) -> int:
        return self.epochs[-1][0] if self.epochs else -1

    def delete_before(self, offset: int) -> list[Batch]:
        """Retention: drop whole batches below ``offset`` and move the log start there."""
        removed: list[Batch] = []
        keep = 0
        while keep < len(self.batches) and self.batches[keep].end <= offset:
            removed.append(self.batches[keep])
            keep += 1
        del self.batches[:keep]
        del self._bases[:keep]
        self.log_start = max(self.log_start, offset)
        if self.leo < self.log_start:  # a lagging follower starts over at the new log start
            self.batches.clear()
            self._bases.clear()
            self.leo = self.log_start
        self.hw = max(self.hw, self.log_start)
        return removed

    def truncate_to(self, offset: int) -> list[Batch]:
        """Drops every record at or above ``offset``; returns what was removed."""
        removed: list[Batch] = []
        self.truncations += 1
        while self.batches and self.batches[-1].end > offset:
            last = self.batches.pop()
            self._bases.pop()
            if last.base < offset:  # keep the head of a batch cut in the middle
                keep = offset - last.base
                head = Batch(
                    last.base,
                    last.msgs[:keep],
                    last.size * keep // last.count,
                    last.created_ms,
                    last.producer,
                    last.producer_id,
                    last.base_seq,
                    last.epoch,
                    last.number,
                    last.producer_epoch,
                )
                removed.append(
                    Batch(
                        offset,
                        last.msgs[keep:],
                        last.size - head.size,
                        last.created_ms,
                        last.producer,
                        last.producer_id,
                        last.base_seq + keep,
                        last.epoch,
                        last.number,
                        last.producer_epoch,
                    )
                )
                self.batches.append(head)
                self._bases.append(head.base)
            else:
                removed.append(last)
        self.leo = min(self.leo, offset)
        self.hw = min(self.hw, self.leo)
        while self.epochs and self.epochs[-1][1] >= self.leo:
            self.epochs.pop()
        return removed

    def batches_from(self, offset: int, limit: int) -> list[Batch]:
        """Batches holding offsets in [offset, limit)."""
        if offset >= limit:
            return []
        i = max(bisect_right(self._bases, offset) - 1, 0)
        out = []
        while i < len(self.batches) and self.batches[i].base < limit:
            if self.batches[i].end > offset:
                out.append(self.batches[i])
            i += 1
        return out

    def timestamp_at(self, offset: int) -> int | None:
        found = self.batches_from(offset, offset + 1)
        return found[0].created_ms if found else None
