"""Follower fetching on the consumer (KIP-392): where each partition is fetched from, and
what that costs and gives.

Java ([J] consumer/internals/AbstractFetch.java ``selectReadReplica``, FetchCollector,
SubscriptionState ``updatePreferredReadReplica`` / ``clearPreferredReadReplica``):

- The consumer sends its ``client.rack`` with each fetch. A leader whose broker has
  ``replica.selector.class`` set may answer with no records and a *preferred read
  replica* (``simcore.broker.cluster.Cluster._preferred_read_replica``).
- The consumer then fetches that partition from that replica until ``metadata.max.age.ms``
  has passed since it was named; then it asks the leader again, which may name it again.
- An error from the read replica sends the consumer back to the leader: OFFSET_OUT_OF_RANGE
  (the replica's log ends before the position) without an offset reset, other errors
  (the replica died, or is no longer one) with a metadata refresh.
- A replica serves only below its own high watermark, which it learns from the leader's
  answers to its own fetches, so its data is committed but later: ``staleness`` samples,
  per answer with records, how long after the leader's HW passed the first of them they
  reached this consumer (or after the consumer first asked for them, if that is later: a
  backlog is lag, not staleness) — from a follower and from a leader, to compare.

Counters: bytes fetched from the consumer's own rack and from other racks (the
cross-zone traffic follower fetching saves), and fetches answered by followers and by
leaders.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from simcore.broker.fetch_requests import OFFSET_OUT_OF_RANGE

if TYPE_CHECKING:
    from simcore.broker.cluster import Cluster, Metadata
    from simcore.broker.log import Batch
    from simcore.kernel.engine import Engine
    from simcore.kernel.timeline import Timeline
    from simcore.kernel.types import TopicPartition


class ReadReplicas:
    def __init__(
        self,
        engine: Engine,
        cluster: Cluster,
        timeline: Timeline,
        metadata: Metadata,
        consumer: str,
        rack: str,
        max_age_ms: int,
        deliver: Callable[[TopicPartition, int, list[Batch], str | None], object],
        again: Callable[[TopicPartition], None],
    ) -> None:
        self.engine = engine
        self.cluster = cluster
        self.timeline = timeline
        self.metadata = metadata
        self.consumer = consumer
        self.rack = rack
        self.max_age_ms = max_age_ms
        self.deliver = deliver  # the consumer's handling of a fetch answer
        self.again = again  # fetch this partition again (from wherever replica() says)
        self.preferred: dict[TopicPartition, tuple[int, int]] = {}  # -> (broker, until)
        self.bytes_same_rack = 0
        self.bytes_cross_rack = 0
        self.follower_fetches = 0  # answers with records, from a read replica
        self.leader_fetches = 0  # ... and from a leader
        # (t, part, ms from the first record's commit (or the fetch) to here, from a follower)
        self.staleness: list[tuple[int, str, int, bool]] = []
        self._asked: dict[TopicPartition, tuple[int, int]] = {}  # -> (offset, first asked)

    def replica(self, tp: TopicPartition, leader: int) -> int:
        """The broker to fetch ``tp`` from now."""
        chosen = self.preferred.get(tp)
        if chosen is None:
            return leader
        broker, until = chosen
        if self.engine.now < until:
            return broker
        del self.preferred[tp]
        self.timeline.record(
            "read_replica_expired",
            self.consumer,
            part=f"{tp[0]}-{tp[1]}",
            broker=broker,
            max_age_ms=self.max_age_ms,
        )
        return leader

    def answered(
        self,
        tp: TopicPartition,
        node: int,
        sent: int,
        offset: int,
        batches: list[Batch],
        error: str | None,
        preferred: int | None,
    ) -> None:
        part = f"{tp[0]}-{tp[1]}"
        asked = self._asked.get(tp)
        if asked is None or asked[0] != offset:
            asked = self._asked[tp] = (offset, sent)
        if error is None and preferred is not None:
            until = self.engine.now + self.max_age_ms
            self.preferred[tp] = (preferred, until)
            self.timeline.record(
                "preferred_replica",
                self.consumer,
                part=part,
                broker=preferred,
                rack=self.cluster.racks[preferred],
                leader=node,
                until=until,
            )
            self.again(tp)
            return
        from_follower = self.preferred.get(tp, (None, 0))[0] == node
        if error is not None and from_follower:
            del self.preferred[tp]
            self.timeline.record(
                "read_replica_cleared", self.consumer, part=part, broker=node, error=error
            )
            if error != OFFSET_OUT_OF_RANGE:
                self.metadata.refresh()
            self.again(tp)
            return
        if error is None and batches:
            size = sum(b.size for b in batches)
            if self.cluster.racks[node] == self.rack:
                self.bytes_same_rack += size
            else:
                self.bytes_cross_rack += size
            if from_follower:
                self.follower_fetches += 1
            else:
                self.leader_fetches += 1
            first = max(offset, batches[0].base)
            committed = self.cluster.committed_at(tp, first)
            if committed is not None:
                self.staleness.append(
                    (
                        self.engine.now,
                        part,
                        self.engine.now - max(committed, asked[1]),
                        from_follower,
                    )
                )
        self.deliver(tp, offset, batches, error)
