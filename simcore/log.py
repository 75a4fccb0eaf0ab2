"""Partition logs: record batches, offsets, log-start offset, LEO and high watermark.

A log is a list of batches. A batch carries a contiguous offset range and the
messages it holds as a compact sequence of ledger message ids (a ``range`` when the
producer's messages are consecutive, else a tuple), so a million records cost what a
few thousand batches cost.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from typing import Sequence


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

    @property
    def count(self) -> int:
        return len(self.msgs)

    @property
    def end(self) -> int:
        return self.base + len(self.msgs)


class ReplicaLog:
    """One replica's copy of a partition."""

    __slots__ = ("broker", "batches", "log_start", "leo", "hw", "_bases")

    def __init__(self, broker: int) -> None:
        self.broker = broker
        self.batches: list[Batch] = []
        self._bases: list[int] = []
        self.log_start = 0
        self.leo = 0
        self.hw = 0

    def append(self, batch: Batch) -> Batch:
        """Appends at the LEO (the leader assigns offsets this way)."""
        placed = Batch(
            self.leo, batch.msgs, batch.size, batch.created_ms, batch.producer,
            batch.producer_id, batch.base_seq, batch.epoch,
        )
        self.batches.append(placed)
        self._bases.append(placed.base)
        self.leo = placed.end
        return placed

    def copy_from(self, batch: Batch) -> None:
        """A follower appends the leader's batch at the leader's offsets."""
        assert batch.base == self.leo, (batch.base, self.leo)
        self.batches.append(batch)
        self._bases.append(batch.base)
        self.leo = batch.end

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

    def messages_in(self, start: int, end: int) -> list[tuple[int, int]]:
        """(offset, message id) pairs in [start, end): small runs only."""
        pairs = []
        for batch in self.batches_from(start, end):
            for k, msg in enumerate(batch.msgs):
                offset = batch.base + k
                if start <= offset < end:
                    pairs.append((offset, msg))
        return pairs

    def timestamp_at(self, offset: int) -> int | None:
        found = self.batches_from(offset, offset + 1)
        return found[0].created_ms if found else None
