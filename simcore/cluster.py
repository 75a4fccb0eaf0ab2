"""Brokers and partitions: leader appends, follower fetching, the high watermark.

Each partition has a replica log per assigned broker. Followers replicate the way
real followers do: they send a fetch at their LEO, the leader parks it until it has
new data, answers with the batches, and learns the follower's new LEO from the
*next* fetch — so the HW moves one fetch round after the append (design.html,
"Replication"). The HW is the smallest LEO in the ISR, and since Kafka 3.7 it does
not advance while the ISR is below min.insync.replicas (KAFKA-15583).
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Callable

from simcore.log import Batch, ReplicaLog
from simcore.spec import Scenario, TopicSpec

if TYPE_CHECKING:
    from simcore.engine import Engine
    from simcore.timeline import Timeline

MAX_PARTITION_FETCH_BYTES = 1_048_576  # max.partition.fetch.bytes default

# Broker error codes used in responses (names as in org.apache.kafka.common.protocol.Errors).
NOT_ENOUGH_REPLICAS = "NOT_ENOUGH_REPLICAS"
OUT_OF_ORDER_SEQUENCE = "OUT_OF_ORDER_SEQUENCE_NUMBER"
OFFSET_OUT_OF_RANGE = "OFFSET_OUT_OF_RANGE"


class FetchWaiter:
    __slots__ = ("offset", "min_bytes", "respond", "done")

    def __init__(
        self, offset: int, min_bytes: int, respond: Callable[[int, list[Batch]], None]
    ) -> None:
        self.offset = offset
        self.min_bytes = min_bytes
        self.respond = respond
        self.done = False


class Partition:
    """One partition: its replicas, leader, ISR and the leader's bookkeeping."""

    def __init__(self, spec: TopicSpec, index: int, brokers: list[int]) -> None:
        self.topic = spec.name
        self.index = index
        self.spec = spec
        self.name = f"{spec.name}-{index}"
        self.replica_order = brokers
        self.replicas = {b: ReplicaLog(b) for b in brokers}
        self.leader = brokers[0]
        self.leader_epoch = 0
        self.isr = list(brokers)
        self.follower_leo = {b: 0 for b in brokers[1:]}
        self.parked_followers: set[int] = set()
        self.ack_waiters: deque[tuple[int, Callable[[], None]]] = deque()
        self.fetch_waiters: list[FetchWaiter] = []
        # idempotence: producer id -> recent (base_seq, last_seq, base_offset), newest last
        self.producer_seqs: dict[int, deque[tuple[int, int, int]]] = {}

    @property
    def log(self) -> ReplicaLog:
        return self.replicas[self.leader]

    @property
    def min_isr(self) -> int:
        return min(self.spec.min_insync_replicas, len(self.replica_order))


class Cluster:
    def __init__(self, engine: Engine, scenario: Scenario, timeline: Timeline) -> None:
        self.engine = engine
        self.timeline = timeline
        self.latency = scenario.network_latency_ms
        self.partitions: dict[tuple[str, int], Partition] = {}
        for t_index, topic in enumerate(scenario.topics):
            for p in range(topic.partitions):
                first = (t_index + p) % scenario.brokers
                brokers = [(first + k) % scenario.brokers for k in range(topic.replication_factor)]
                self.partitions[(topic.name, p)] = Partition(topic, p, brokers)
        self.partition_counts = {t.name: t.partitions for t in scenario.topics}

    def start(self) -> None:
        for part in self.partitions.values():
            for follower in part.replica_order[1:]:
                self._follower_fetch(part, follower, 0)

    # -- produce -------------------------------------------------------------------------

    def produce(
        self, tp: tuple[str, int], batch: Batch, acks: int,
        respond: Callable[[str | None, int], None],
    ) -> None:
        """A produce request for one batch arrives at the leader (now)."""
        part = self.partitions[tp]
        if acks == -1 and len(part.isr) < part.min_isr:
            respond(NOT_ENOUGH_REPLICAS, -1)
            return
        if batch.producer_id >= 0:
            verdict = self._check_sequence(part, batch)
            if verdict is not None:
                respond(*verdict)
                return
        batch.epoch = part.leader_epoch
        placed = part.log.append(batch)
        if batch.producer_id >= 0:
            seqs = part.producer_seqs.setdefault(batch.producer_id, deque(maxlen=5))
            seqs.append((batch.base_seq, batch.base_seq + batch.count - 1, placed.base))
        self.timeline.record(
            "append", f"broker-{part.leader}", part=part.name, base=placed.base,
            count=placed.count, producer=batch.producer,
        )
        self._wake_followers(part)
        if acks == -1:
            part.ack_waiters.append((placed.end, lambda: respond(None, placed.base)))
            self._update_hw(part)
        elif acks == 1:
            respond(None, placed.base)
        if len(part.replica_order) == 1:
            self._update_hw(part)

    def _check_sequence(self, part: Partition, batch: Batch) -> tuple[str | None, int] | None:
        """Broker-side idempotence: dedup the last 5 batches, reject gaps (KIP-98)."""
        seqs = part.producer_seqs.get(batch.producer_id)
        if not seqs:
            return None if batch.base_seq == 0 else (OUT_OF_ORDER_SEQUENCE, -1)
        for base_seq, _last, base_offset in seqs:
            if base_seq == batch.base_seq:
                self.timeline.record(
                    "dedup", f"broker-{part.leader}", part=part.name, producer=batch.producer,
                    seq=batch.base_seq, base=base_offset,
                )
                return (None, base_offset)
        if batch.base_seq != seqs[-1][1] + 1:
            return (OUT_OF_ORDER_SEQUENCE, -1)
        return None

    # -- replication -----------------------------------------------------------------------

    def _follower_fetch(self, part: Partition, follower: int, offset: int) -> None:
        """A follower's fetch arrives at the leader: learn its LEO, then answer or park."""
        part.follower_leo[follower] = offset
        self._update_hw(part)
        if part.log.leo > offset:
            self._answer_follower(part, follower, offset)
        else:
            part.parked_followers.add(follower)

    def _wake_followers(self, part: Partition) -> None:
        for follower in sorted(part.parked_followers):
            self._answer_follower(part, follower, part.follower_leo[follower])
        part.parked_followers.clear()

    def _answer_follower(self, part: Partition, follower: int, offset: int) -> None:
        batches = part.log.batches_from(offset, part.log.leo)
        self.engine.after(self.latency, self._follower_receive, part, follower, batches, part.log.hw)

    def _follower_receive(
        self, part: Partition, follower: int, batches: list[Batch], leader_hw: int
    ) -> None:
        replica = part.replicas[follower]
        for batch in batches:
            if batch.base >= replica.leo:
                replica.copy_from(batch)
        replica.hw = min(leader_hw, replica.leo)
        self.engine.after(self.latency, self._follower_fetch, part, follower, replica.leo)

    def _update_hw(self, part: Partition) -> None:
        leader_log = part.log
        if len(part.isr) < part.min_isr:
            return
        new_hw = leader_log.leo
        for broker in part.isr:
            if broker != part.leader:
                new_hw = min(new_hw, part.follower_leo[broker])
        if new_hw <= leader_log.hw:
            return
        leader_log.hw = new_hw
        self.timeline.record("hw", f"broker-{part.leader}", part=part.name, hw=new_hw)
        while part.ack_waiters and part.ack_waiters[0][0] <= new_hw:
            part.ack_waiters.popleft()[1]()
        self._wake_fetchers(part)

    # -- consumer fetch ---------------------------------------------------------------------

    def fetch(
        self, tp: tuple[str, int], offset: int, min_bytes: int, max_wait_ms: int,
        respond: Callable[[int, list[Batch]], None],
    ) -> None:
        """A consumer fetch arrives at the leader. Answers with batches below the HW once
        ``fetch.min.bytes`` are there, or empty-handed after ``fetch.max.wait.ms``."""
        part = self.partitions[tp]
        log = part.log
        if offset < log.log_start or offset > log.leo:
            respond(offset, [])  # out of range: handled by the consumer (issue: retention)
            return
        if log.hw > offset:
            batches = self._read(part, offset)
            if sum(b.size for b in batches) >= min_bytes:
                respond(offset, batches)
                return
        waiter = FetchWaiter(offset, min_bytes, respond)
        part.fetch_waiters.append(waiter)
        self.engine.after(max_wait_ms, self._expire_fetch, part, waiter)

    def _read(self, part: Partition, offset: int) -> list[Batch]:
        out, size = [], 0
        for batch in part.log.batches_from(offset, part.log.hw):
            out.append(batch)
            size += batch.size
            if size >= MAX_PARTITION_FETCH_BYTES:
                break
        return out

    def _wake_fetchers(self, part: Partition) -> None:
        if not part.fetch_waiters:
            return
        waiting = []
        for waiter in part.fetch_waiters:
            batches = self._read(part, waiter.offset)
            if sum(b.size for b in batches) >= waiter.min_bytes:
                waiter.done = True
                waiter.respond(waiter.offset, batches)
            else:
                waiting.append(waiter)
        part.fetch_waiters = waiting

    def _expire_fetch(self, part: Partition, waiter: FetchWaiter) -> None:
        if not waiter.done:  # fetch.max.wait.ms: answer with whatever there is
            waiter.done = True
            part.fetch_waiters.remove(waiter)
            waiter.respond(waiter.offset, self._read(part, waiter.offset))
