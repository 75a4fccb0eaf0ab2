"""What the consumer keeps for each partition it has a position for, in one object.

Java keeps one ``TopicPartitionState`` per assigned partition in its ``SubscriptionState``
([J] consumer/internals/SubscriptionState.java: the position, the paused flag, the fetch
state), and the fetched data per partition in its ``FetchBuffer``. Here the state holds
the position, the records fetched and not yet handed out by ``poll()``, and the fetch
request (or the retry after an error) the partition waits for. The consumer keeps these
objects by partition (``Consumer.states``); the fetcher and ``poll()`` pass them along,
so a partition of a fetch response is looked up once, not once per field.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from simcore.broker.cluster import Partition
    from simcore.kernel.types import TopicPartition

Chunk = tuple["TopicPartition", int, Sequence[int]]  # (tp, first offset, message ids)


class TopicPartitionState:
    """One partition with a position: created when the position is first set (the
    committed offset, ``auto.offset.reset``, a seek), dropped when the partition is
    revoked, and emptied of its records when the process dies."""

    __slots__ = ("buffer", "end", "lag", "leader", "leaders_seen", "live", "order_seen",
                 "part", "place", "position", "request", "tp")  # fmt: skip

    def __init__(self, part: Partition, position: int) -> None:
        self.tp = part.tp
        # the cluster's partition: what a fetch request names for the broker, and where
        # the response's lag is read (no lookup by the (topic, partition) tuple, whose hash
        # is computed afresh at every lookup)
        self.part = part
        # the partition's leader in the client's metadata, read from ``leaders_seen`` (a
        # refresh replaces the metadata's dict, so its identity says whether this is
        # current: ``Fetcher.send`` looks the leader up only then)
        self.leaders_seen: dict[tuple[str, int], int | None] | None = None
        self.leader: int | None = None
        self.position = position  # the offset of the next record poll() hands out
        # the HW (read_committed: the LSO) the last answer at the position carried, what
        # the client's lag counts to ([J] SubscriptionState.partitionLag); -1: none yet
        self.end = -1
        # the partition's records-lag: the lag last recorded, at a poll() that handed out
        # its records or at an answer without records (a ``Value`` stat: it holds still
        # between records, [J] FetchMetricsManager.recordPartitionLag); -1: none yet
        self.lag = -1
        # fetched records not yet handed out, oldest first (Java's completed fetches): a
        # list, emptied at once when poll() takes them all (mypyc indexes a list natively)
        self.buffer: list[Chunk] = []
        # the id of the fetch request (or of the retry after an error) whose answer this
        # partition waits for; 0: none (ids start at 1). An answer from any other request
        # is stale for it and ignored.
        self.request = 0
        # its place in the fetch order (``Fetcher``), valid while ``order_seen`` is the
        # fetcher's current order (an assignment starts a new one)
        self.place = 0
        self.order_seen: dict[TopicPartition, int] | None = None
        self.live = True  # False once the consumer dropped it (revoked, or a restart)

    def record_lag(self) -> int:
        """Records the partition's lag now — the HW its last answer carried minus the
        position ([J] FetchCollector.fetchRecords, after the position moved) — and returns
        it; -1 before any answer."""
        if self.end < 0:
            return -1
        behind = self.end - self.position
        self.lag = behind if behind > 0 else 0
        return self.lag
