"""The producer: record accumulator, batches per partition, in-flight requests, acks.

Modelled on the Java client's RecordAccumulator and Sender ([J]
producer/internals/): records join the last batch of their partition's deque until
it is full (``batch.size``); a batch is ready when full or when ``linger.ms`` has
passed since its first record; the sender drains ready batches while the leader's
connection has fewer than ``max.in.flight.requests.per.connection`` requests out.
A failed batch goes back to the *front* of its deque after ``retry.backoff.ms``,
which is how retries reorder without idempotence. ``delivery.timeout.ms`` bounds
the whole life of a batch.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

from simcore.cluster import RETRIABLE_PRODUCE_ERRORS, Metadata
from simcore.log import Batch
from simcore.partitioner import (
    librdkafka_partition,
    null_key_is_random,
    partition_for_key,
)
from simcore.spec import FaultSpec, ProducerSpec

if TYPE_CHECKING:
    from simcore.cluster import Cluster
    from simcore.engine import Engine
    from simcore.timeline import Timeline

RECORD_OVERHEAD = 8  # varint lengths, attributes, deltas: a typical small record
BATCH_OVERHEAD = 61  # RecordBatch header (v2)
LIBRDKAFKA_STICKY_MS = 10  # sticky.partitioning.linger.ms default


def render(template: str, i: int) -> str:
    return template.replace("{i}", str(i))


@dataclass(slots=True)
class PendingBatch:
    partition: int
    first: int  # producer-local index of the first record
    msgs: list[int] | range
    size: int
    created_ms: int
    base_seq: int = -1
    attempts: int = 0
    closed: bool = False
    sent_ms: int = -1
    attempt_id: int = 0
    number: int = -1  # position in Producer.sent_batches, set on first send


class Producer:
    def __init__(
        self, engine: Engine, cluster: Cluster, timeline: Timeline,
        spec: ProducerSpec, msg_base: int, producer_index: int,
        faults: list[FaultSpec] | None = None,
    ) -> None:
        self.engine = engine
        self.cluster = cluster
        self.timeline = timeline
        self.spec = spec
        self.msg_base = msg_base
        self.num_partitions = cluster.partition_counts[spec.topic]
        self.metadata = Metadata(cluster)
        self._response_faults = [[f, f.count] for f in faults or []]
        self._leader_wait = False
        self.next_i = 0
        self.queues: dict[int, deque[PendingBatch]] = {}
        self.in_flight: dict[int, int] = {}
        self.next_seq: dict[int, int] = {}
        self.producer_id = 1000 + producer_index if spec.enable_idempotence else -1
        self.acked: list[range | list[int]] = []
        self.failed: list[range | list[int]] = []
        self.sent = 0
        self.sent_batches: list[tuple[int, range | tuple[int, ...]]] = []  # (partition, ids)
        self._wake_at: int | None = None
        self._rng = engine.rng(f"partitioner/{spec.id}")
        self._jitter = engine.rng(f"retry-jitter/{spec.id}")
        self._sticky: int | None = None
        self._sticky_bytes = 0
        self._sticky_since = 0
        self._hashed = spec.partition is None and spec.key is not None
        self._spread = spec.partition is None and spec.key is None and null_key_is_random(
            spec.client, spec.partitioner
        )
        self._value_base = len(spec.value) - 3 * spec.value.count("{i}")
        self._value_vars = spec.value.count("{i}")
        self._attempts = 0

    # -- the record clock ---------------------------------------------------------------

    def due(self, i: int) -> int:
        return self.spec.start_ms + math.floor(i * 1000 / self.spec.rate_per_s)

    def _last_due(self, now: int) -> int:
        """The largest index with due(i) <= now (or next_i - 1 if none)."""
        n = self.spec.messages
        guess = min(n - 1, math.floor((now - self.spec.start_ms) * self.spec.rate_per_s / 1000))
        while guess + 1 < n and self.due(guess + 1) <= now:
            guess += 1
        while guess >= self.next_i and self.due(guess) > now:
            guess -= 1
        return max(guess, self.next_i - 1)

    def record_size(self, i: int) -> int:
        value = self._value_base + self._value_vars * len(str(i))
        key = len(render(self.spec.key, i)) if self.spec.key is not None else 0
        return RECORD_OVERHEAD + key + value

    def start(self) -> None:
        if self.spec.messages > 0:
            self._wake(self.due(0))

    # -- accumulate -------------------------------------------------------------------------

    def _wake(self, time_ms: int) -> None:
        time_ms = max(time_ms, self.engine.now)
        if self._wake_at is not None and self._wake_at <= time_ms:
            return
        self._wake_at = time_ms
        self.engine.at(time_ms, self._tick, time_ms)

    def _tick(self, scheduled: int) -> None:
        if scheduled != self._wake_at:
            return  # superseded by an earlier wake-up
        self._wake_at = None
        self._accumulate()
        self._drain()
        self._plan_next_wake()

    def _accumulate(self) -> None:
        last = self._last_due(self.engine.now)
        while self.next_i <= last:
            i = self.next_i
            if not self._spread:
                self._append(self._fixed_partition(i), i, i + 1)
                continue
            part = self._sticky_partition(i)
            batch = self._open_batch(part, i)
            size = self.record_size(i)
            room = max(1, (self.spec.batch_size - batch.size) // size) if batch else 1
            end = min(last + 1, i + room)
            if self.spec.client != "java":
                deadline = self._sticky_since + LIBRDKAFKA_STICKY_MS
                while end > i + 1 and self.due(end - 1) >= deadline:
                    end = max(i + 1, min(end - 1, self._first_due_at(deadline)))
            self._append(part, i, end)

    def _first_due_at(self, time_ms: int) -> int:
        i = max(self.next_i, math.floor((time_ms - self.spec.start_ms) * self.spec.rate_per_s / 1000))
        while i > self.next_i and self.due(i - 1) >= time_ms:
            i -= 1
        while self.due(i) < time_ms:
            i += 1
        return i

    def _fixed_partition(self, i: int) -> int:
        if self.spec.partition is not None:
            return self.spec.partition
        key = render(self.spec.key or "", i).encode()
        if self.spec.client == "java":
            return partition_for_key(key, self.num_partitions)
        return librdkafka_partition(self.spec.partitioner, key, self.num_partitions)

    def _sticky_partition(self, i: int) -> int:
        """KIP-794 for Java (switch after batch.size bytes); librdkafka: switch every 10 ms."""
        now = self.due(i)
        if self._sticky is None:
            switch = True
        elif self.spec.client == "java":
            switch = self._sticky_bytes >= self.spec.batch_size
        else:
            switch = now >= self._sticky_since + LIBRDKAFKA_STICKY_MS
        if switch:
            self._sticky = self._rng.randrange(self.num_partitions)
            self._sticky_bytes = 0
            self._sticky_since = now
        return self._sticky

    def _open_batch(self, part: int, i: int) -> PendingBatch | None:
        queue = self.queues.get(part)
        if queue and not queue[-1].closed:
            return queue[-1]
        return None

    def _append(self, part: int, start: int, end: int) -> None:
        size = self.record_size(start) * (end - start)
        batch = self._open_batch(part, start)
        if batch is None or batch.size + size > self.spec.batch_size and batch.msgs:
            if batch is not None:
                batch.closed = True
            batch = PendingBatch(part, start, range(0), BATCH_OVERHEAD, self.due(start))
            self.queues.setdefault(part, deque()).append(batch)
        ids = range(self.msg_base + start, self.msg_base + end)
        if isinstance(batch.msgs, range) and (not batch.msgs or batch.msgs.stop == ids.start):
            batch.msgs = range(batch.msgs.start if batch.msgs else ids.start, ids.stop)
        else:
            batch.msgs = list(batch.msgs) + list(ids)
        batch.size += size
        self._sticky_bytes += size
        if batch.size >= self.spec.batch_size:
            batch.closed = True
        self.next_i = end
        self.sent += end - start

    # -- send -----------------------------------------------------------------------------

    def _ready(self, batch: PendingBatch, queue: deque[PendingBatch]) -> bool:
        return (
            batch.closed or len(queue) > 1 or batch.attempts > 0
            or self.engine.now >= batch.created_ms + self.spec.linger_ms
        )

    def _drain(self) -> None:
        for part in sorted(self.queues):
            queue = self.queues[part]
            leader = self.metadata.leader((self.spec.topic, part))
            if leader is None and queue:
                self._await_leader()
                continue
            while queue and self._ready(queue[0], queue):
                if self.in_flight.get(leader, 0) >= self.spec.max_in_flight:
                    break
                self._send(queue.popleft(), leader)

    def _await_leader(self) -> None:
        """No known leader (LEADER_NOT_AVAILABLE): refresh metadata and look again."""
        if not self._leader_wait:
            self._leader_wait = True
            self.metadata.refresh()
            self.engine.after(self.spec.retry_backoff_ms, self._leader_check)

    def _leader_check(self) -> None:
        self._leader_wait = False
        self._expire_waiting()
        self._drain()
        self._plan_next_wake()

    def _expire_waiting(self) -> None:
        """delivery.timeout.ms also bounds batches that never got sent."""
        for part in sorted(self.queues):
            queue = self.queues[part]
            while queue and self.engine.now >= queue[0].created_ms + self.spec.delivery_timeout_ms:
                self._complete(queue.popleft(), "delivery.timeout.ms expired before the batch "
                               "could be sent (no leader)")

    def _plan_next_wake(self) -> None:
        times = []
        for queue in self.queues.values():
            if queue and not self._ready(queue[0], queue):
                times.append(queue[0].created_ms + self.spec.linger_ms)
        if self.next_i < self.spec.messages:
            times.append(self.due(self.next_i))
        if times:
            self._wake(min(times))

    def _send(self, batch: PendingBatch, leader: int) -> None:
        batch.closed = True
        if batch.base_seq < 0 and self.producer_id >= 0:
            batch.base_seq = self.next_seq.get(batch.partition, 0)
            self.next_seq[batch.partition] = batch.base_seq + len(batch.msgs)
        batch.attempts += 1
        self._attempts += 1
        batch.attempt_id = self._attempts
        batch.sent_ms = self.engine.now
        msgs = batch.msgs if isinstance(batch.msgs, range) else tuple(batch.msgs)
        if batch.number < 0:
            batch.number = len(self.sent_batches)
            self.sent_batches.append((batch.partition, msgs))
        wire = Batch(-1, msgs, batch.size, batch.created_ms, self.spec.id,
                     self.producer_id, batch.base_seq)
        tp = (self.spec.topic, batch.partition)
        assert leader is not None
        self.timeline.record(
            "send", self.spec.id, part=f"{self.spec.topic}-{batch.partition}",
            first=msgs[0] - self.msg_base, count=len(msgs), attempt=batch.attempts,
            batch=batch.number,
        )
        if self.spec.acks == 0:
            self.cluster.send_produce(leader, tp, wire, 0, _ignore)
            self._complete(batch, None)
            return
        self.in_flight[leader] = self.in_flight.get(leader, 0) + 1
        attempt = batch.attempt_id

        def respond(error: str | None, base: int) -> None:
            delay = self._response_fault()
            if delay is None:
                return  # injected: the response is lost; the request will time out
            self.engine.after(delay, self._on_response, batch, leader, attempt, error, base)

        self.cluster.send_produce(leader, tp, wire, self.spec.acks, respond)
        self.engine.after(self.spec.request_timeout_ms, self._on_response, batch, leader,
                          attempt, "REQUEST_TIMED_OUT", -1)

    def _response_fault(self) -> int | None:
        """Scenario faults on produce responses: ms of extra delay, or None if dropped."""
        for entry in self._response_faults:
            fault, left = entry
            if left > 0 and self.engine.now >= (fault.at_ms or 0):
                entry[1] = left - 1
                self.timeline.record(
                    "response_fault", self.spec.id, injected=True,
                    what="dropped" if fault.action == "drop_produce_response"
                    else f"delayed {fault.delay_ms} ms")
                return None if fault.action == "drop_produce_response" else fault.delay_ms
        return 0

    def _on_response(
        self, batch: PendingBatch, leader: int, attempt: int, error: str | None, base: int
    ) -> None:
        if attempt != batch.attempt_id or batch.sent_ms < 0:
            return  # a late answer to an attempt already timed out or answered
        batch.sent_ms = -1
        self.in_flight[leader] -= 1
        if error is None:
            self._complete(batch, None, base)
        else:
            self._retry_or_fail(batch, error)
        self._drain()
        self._plan_next_wake()

    def _retry_or_fail(self, batch: PendingBatch, error: str) -> None:
        part = f"{self.spec.topic}-{batch.partition}"
        expired = self.engine.now >= batch.created_ms + self.spec.delivery_timeout_ms
        if error not in RETRIABLE_PRODUCE_ERRORS:
            self._complete(batch, f"{error} (not retriable)")
            return
        self.metadata.refresh()  # errors and timeouts make the Java sender refresh metadata
        if batch.attempts > self.spec.retries or expired:
            reason = "delivery.timeout.ms expired" if expired else "retries exhausted"
            self._complete(batch, f"{error} ({reason})")
            return
        backoff = self._backoff(batch.attempts)
        self.timeline.record(
            "produce_error", self.spec.id, part=part, first=batch.msgs[0] - self.msg_base,
            count=len(batch.msgs), error=error, retry_in=backoff, batch=batch.number,
        )
        self.engine.after(backoff, self._requeue, batch)

    def _backoff(self, attempts: int) -> int:
        """KIP-580: retry.backoff.ms doubling per attempt up to retry.backoff.max.ms, with
        20% jitter (drawn from this producer's seeded stream)."""
        base = self.spec.retry_backoff_ms
        cap = max(base, self.spec.retry_backoff_max_ms)
        exp = min(cap, base * 2 ** min(attempts - 1, 30))
        if cap == base:
            return base
        return max(1, round(exp * self._jitter.uniform(0.8, 1.2)))

    def _requeue(self, batch: PendingBatch) -> None:
        """Java's reenqueue: at the front of the deque — or, for an idempotent producer,
        in sequence order (RecordAccumulator.insertInSequenceOrder)."""
        queue = self.queues.setdefault(batch.partition, deque())
        at = 0
        while self.producer_id >= 0 and at < len(queue) and (
                0 <= queue[at].base_seq < batch.base_seq):
            at += 1
        queue.insert(at, batch)
        self._drain()
        self._plan_next_wake()

    def _complete(self, batch: PendingBatch, error: str | None, base: int = -1) -> None:
        part = f"{self.spec.topic}-{batch.partition}"
        first = batch.msgs[0] - self.msg_base
        if error is None:
            self.acked.append(batch.msgs)
            self.timeline.record("ack", self.spec.id, part=part, first=first,
                                 count=len(batch.msgs), acks=self.spec.acks, base=base,
                                 batch=batch.number)
        else:
            self.failed.append(batch.msgs)
            self.timeline.record("produce_failed", self.spec.id, part=part, first=first,
                                 count=len(batch.msgs), error=error, batch=batch.number)


def _ignore(error: str | None, base: int) -> None:
    return None
