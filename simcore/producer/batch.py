"""A producer batch as the record accumulator builds it and the sender sends it
([J] producer/internals/ProducerBatch.java), and how message ids join it."""

from __future__ import annotations

from array import array


class PendingBatch:
    """A plain class with its own ``__init__`` (not a dataclass, whose generated one runs in
    the interpreter under mypyc): one is made for every batch of a run."""

    __slots__ = (
        "attempts",
        "base_seq",
        "closed",
        "created_ms",
        "epoch",
        "first",
        "msgs",
        "number",
        "partition",
        "retry_at",
        "seq_reset",
        "size",
    )

    def __init__(
        self,
        partition: int,
        first: int,
        msgs: range | array[int] | list[int],
        size: int,
        created_ms: int,
        base_seq: int = -1,
    ) -> None:
        self.partition = partition
        self.first = first  # producer-local index of the first record
        # message ids: a range while consecutive, else an array('q'); keyed records gather
        # in a list while the batch is in the accumulator, made one of those when it is
        # sent (``sealed``): a batch takes a record or two per wake-up, and an array grows
        # by parsing each id like a format string
        self.msgs = msgs
        self.size = size
        self.created_ms = created_ms
        self.base_seq = base_seq
        self.attempts = 0
        self.closed = False
        self.number = -1  # position in Producer.sent_batches, set on first send
        self.retry_at = 0  # a retried batch waits until then (retry backoff)
        self.epoch = 0  # idempotent: the producer epoch its sequence belongs to
        self.seq_reset = False  # idempotent: renumbered by an epoch bump (Java)

    def __repr__(self) -> str:
        return (
            f"PendingBatch(partition={self.partition}, first={self.first}, "
            f"count={len(self.msgs)}, attempts={self.attempts}, number={self.number})"
        )


def sealed(msgs: list[int]) -> range | array[int]:
    """A batch's ids as it goes out: a range if they are consecutive (they ascend), else
    an ``array('q')`` (8 bytes an id, no int objects)."""
    first = msgs[0]
    if msgs[-1] - first == len(msgs) - 1:
        return range(first, first + len(msgs))
    return array("q", msgs)


def extend(batch: PendingBatch, ids: list[int] | range) -> None:
    """Ascending message ids join the batch: its ``msgs`` stay a range while they are
    consecutive, else become an ``array('q')`` (8 bytes an id, no int objects); a list
    of keyed ids stays a list until the batch is sent."""
    msgs = batch.msgs
    if isinstance(msgs, list):
        msgs.extend(ids)
        return
    first, count = ids[0], len(ids)
    if type(msgs) is range:
        if not msgs and ids[-1] - first == count - 1:
            batch.msgs = range(first, first + count)
            return
        if msgs and msgs.stop == first and ids[-1] - first == count - 1:
            batch.msgs = range(msgs.start, first + count)
            return
        msgs = batch.msgs = array("q", msgs)
    if type(ids) is list:
        msgs.fromlist(ids)  # (a list's fast path; extend() iterates)
    else:
        msgs.extend(ids)
