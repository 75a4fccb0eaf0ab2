"""A producer batch as the record accumulator builds it and the sender sends it
([J] producer/internals/ProducerBatch.java), and how message ids join it."""

from __future__ import annotations

from array import array
from dataclasses import dataclass


@dataclass(slots=True)
class PendingBatch:
    partition: int
    first: int  # producer-local index of the first record
    msgs: range | array[int]  # message ids: a range while consecutive
    size: int
    created_ms: int
    base_seq: int = -1
    attempts: int = 0
    closed: bool = False
    number: int = -1  # position in Producer.sent_batches, set on first send
    retry_at: int = 0  # a retried batch waits until then (retry backoff)
    epoch: int = 0  # idempotent: the producer epoch its sequence belongs to
    seq_reset: bool = False  # idempotent: renumbered by an epoch bump (Java)


def extend(batch: PendingBatch, ids: list[int] | range) -> None:
    """Ascending message ids join the batch: its ``msgs`` stay a range while they are
    consecutive, else become an ``array('q')`` (8 bytes an id, no int objects)."""
    msgs = batch.msgs
    first, count = ids[0], len(ids)
    if type(msgs) is range:
        if not msgs and ids[-1] - first == count - 1:
            batch.msgs = range(first, first + count)
            return
        if msgs and msgs.stop == first and ids[-1] - first == count - 1:
            batch.msgs = range(msgs.start, first + count)
            return
        msgs = batch.msgs = array("q", msgs)
    msgs.extend(ids)
