"""The producer's sender: connections, in-flight requests, responses and retries.

Modelled on the Java client's Sender and NetworkClient ([J] producer/internals/
Sender.java, clients/NetworkClient.java): at most
``max.in.flight.requests.per.connection`` requests per broker connection; answers
are handled in request order; when a request times out (``request.timeout.ms``) the
connection is closed and every request still in flight on it fails. A failed batch
goes back to the *front* of its partition's deque (``reenqueue``) — or, for an
idempotent producer, into sequence order — and waits out its retry backoff there,
which is how retries reorder without idempotence. A dead leader refuses the
connection: nothing is sent, metadata is refreshed and the batch waits.
``delivery.timeout.ms`` bounds the whole life of a batch.
"""

from __future__ import annotations

import random
from collections import deque
from functools import partial
from typing import TYPE_CHECKING

from simcore.cluster import RETRIABLE_PRODUCE_ERRORS
from simcore.log import Batch
from simcore.spec import FaultSpec, ProducerSpec

if TYPE_CHECKING:
    from simcore.cluster import Cluster, Metadata
    from simcore.engine import Engine
    from simcore.producer import PendingBatch
    from simcore.timeline import Timeline

RECONNECT_BACKOFF_MS = 50  # reconnect.backoff.ms
_PENDING = None


class Request:
    __slots__ = ("answer", "batch", "broker", "sent")

    def __init__(self, batch: PendingBatch, broker: int, sent: int) -> None:
        self.batch = batch
        self.broker = broker
        self.answer: tuple[str | None, int] | None = _PENDING
        self.sent = sent


class ProduceFault:
    """A scenario fault on this producer's requests, and how many more it affects."""

    __slots__ = ("remaining", "spec")

    def __init__(self, spec: FaultSpec) -> None:
        self.spec = spec
        self.remaining = spec.count


class Sender:
    """Mixed into Producer, which sets the attributes declared here and implements the
    methods stubbed here (the stubs only declare them; Producer's methods override them)."""

    engine: Engine
    cluster: Cluster
    timeline: Timeline
    spec: ProducerSpec
    metadata: Metadata
    msg_base: int
    queues: dict[int, deque[PendingBatch]]
    next_seq: dict[int, int]
    producer_id: int
    sent_batches: list[tuple[int, range | tuple[int, ...]]]  # (partition, ids)
    _wake_at: int | None
    _jitter: random.Random

    def _ready(self, batch: PendingBatch, queue: deque[PendingBatch]) -> bool:
        raise NotImplementedError

    def _plan_next_wake(self) -> None:
        raise NotImplementedError

    def _complete(self, batch: PendingBatch, error: str | None, base: int = -1) -> None:
        raise NotImplementedError

    def _init_sender(self, faults: list[FaultSpec]) -> None:
        self.connections: dict[int, deque[Request]] = {}
        self._timers: set[int] = set()  # connections with a request-timeout check pending
        # producer metrics counters (producer-metrics: record-send-rate, request-latency-avg)
        self.records_sent = 0
        # the producer panel's counts: produce requests (one batch each), retries among them
        self.batches_sent = 0
        self.retries_sent = 0
        self.request_count = 0
        self.request_latency_total = 0
        self._faults = [ProduceFault(f) for f in faults]
        self._leader_wait = False

    @property
    def in_flight(self) -> dict[int, int]:
        return {b: len(c) for b, c in self.connections.items()}

    # -- draining ready batches ------------------------------------------------------------

    def _drain(self) -> None:
        queues = self.queues
        if not queues:
            return
        alive = self.cluster.network.alive
        leaders = self.metadata.leaders
        topic = self.spec.topic
        max_in_flight = self.spec.max_in_flight
        ready = self._ready
        for part in sorted(queues) if len(queues) > 1 else list(queues):
            queue = queues[part]
            if not queue:
                continue
            leader = leaders[(topic, part)]
            if leader is None or not alive[leader]:
                self._await_leader()  # LEADER_NOT_AVAILABLE, or the connection is refused
                continue
            conn = self.connections.get(leader)
            if conn is None:
                conn = self.connections[leader] = deque()
            while queue and len(conn) < max_in_flight and ready(queue[0], queue):
                self._send(queue.popleft(), leader)
            if not queue:
                del queues[part]  # only partitions with queued batches stay listed

    def _await_leader(self) -> None:
        if not self._leader_wait:
            self._leader_wait = True
            self.metadata.refresh()
            self.engine.after(
                max(RECONNECT_BACKOFF_MS, 2 * self.cluster.latency + 1), self._leader_check
            )

    def _leader_check(self) -> None:
        self._leader_wait = False
        self._expire_waiting()
        self._drain()
        self._plan_next_wake()

    def _expire_waiting(self) -> None:
        """delivery.timeout.ms also bounds batches that could not be sent."""
        for part in sorted(self.queues):
            queue = self.queues[part]
            limit = self.spec.delivery_timeout_ms
            while queue and self.engine.now >= queue[0].created_ms + limit:
                self._complete(
                    queue.popleft(),
                    "TimeoutException: delivery.timeout.ms expired before the batch could be sent",
                )
            if not queue:
                del self.queues[part]

    # -- sending ------------------------------------------------------------------------------

    def _send(self, batch: PendingBatch, leader: int) -> None:
        batch.closed = True
        if batch.base_seq < 0 and self.producer_id >= 0:
            batch.base_seq = self.next_seq.get(batch.partition, 0)
            self.next_seq[batch.partition] = batch.base_seq + len(batch.msgs)
        batch.attempts += 1
        msgs = batch.msgs if type(batch.msgs) is range else tuple(batch.msgs)
        if batch.number < 0:
            batch.number = len(self.sent_batches)
            self.sent_batches.append((batch.partition, msgs))
        spec = self.spec
        self.batches_sent += 1
        self.retries_sent += batch.attempts > 1
        wire = Batch(
            -1,
            msgs,
            batch.size,
            batch.created_ms,
            spec.id,
            self.producer_id,
            batch.base_seq,
            0,
            batch.number,
        )
        tp = (spec.topic, batch.partition)
        if self.timeline.itemises("send"):
            self.timeline.record(
                "send",
                spec.id,
                part=f"{spec.topic}-{batch.partition}",
                first=msgs[0] - self.msg_base,
                count=len(msgs),
                attempt=batch.attempts,
                batch=batch.number,
                broker=leader,
            )
        injected = self._broker_error() if self._faults else None
        self.records_sent += len(msgs)
        if spec.acks == 0:  # nothing comes back: sent counts as done
            self.cluster.send_produce(leader, tp, wire, 0, _ignore, injected)
            self._complete(batch, None)
            return
        request = Request(batch, leader, self.engine.now)
        self.connections[leader].append(request)
        respond = (
            partial(self._respond_with_faults, request)
            if self._faults
            else partial(self._arrived, request)
        )
        self.cluster.send_produce(leader, tp, wire, spec.acks, respond, injected)
        if leader not in self._timers:
            self._timers.add(leader)
            self.engine.after(spec.request_timeout_ms, self._check_timeout, leader)

    def _respond_with_faults(self, request: Request, error: str | None, base: int) -> None:
        delay = self._response_fault()
        if delay == 0:
            self._arrived(request, error, base)
        elif delay is not None:
            self.engine.after(delay, self._arrived, request, error, base)

    def _check_timeout(self, broker: int) -> None:
        """One timer per connection, aimed at its oldest request (answers come in order,
        so only the oldest can be the first to time out)."""
        self._timers.discard(broker)
        conn = self.connections.get(broker)
        if not conn:
            return
        deadline = conn[0].sent + self.spec.request_timeout_ms
        if self.engine.now >= deadline:
            self._timed_out(conn[0])
            conn = self.connections.get(broker)
            if not conn:
                return
            deadline = conn[0].sent + self.spec.request_timeout_ms
        self._timers.add(broker)
        self.engine.at(max(deadline, self.engine.now), self._check_timeout, broker)

    def _broker_error(self) -> str | None:
        """Scenario fault ``produce_error``: the broker answers this request with an error."""
        for entry in self._faults:
            fault, left = entry.spec, entry.remaining
            if (
                fault.action == "produce_error"
                and left > 0
                and self.engine.now >= (fault.at_ms or 0)
            ):
                entry.remaining = left - 1
                return fault.error or "NOT_ENOUGH_REPLICAS"
        return None

    def _response_fault(self) -> int | None:
        """Scenario faults on responses: extra delay in ms, or None if the answer is lost."""
        for entry in self._faults:
            fault, left = entry.spec, entry.remaining
            if fault.action not in ("drop_produce_response", "delay_produce_response"):
                continue
            if left > 0 and self.engine.now >= (fault.at_ms or 0):
                entry.remaining = left - 1
                dropped = fault.action == "drop_produce_response"
                self.timeline.record(
                    "response_fault",
                    self.spec.id,
                    injected=True,
                    what="lost" if dropped else f"delayed {fault.delay_ms} ms",
                )
                return None if dropped else fault.delay_ms
        return 0

    # -- answers, in request order ------------------------------------------------------------

    def _arrived(self, request: Request, error: str | None, base: int) -> None:
        conn = self.connections.get(request.broker)
        if not conn or (conn[0] is not request and request not in conn):
            return  # the connection was closed meanwhile
        request.answer = (error, base)
        self.request_count += 1
        self.request_latency_total += self.engine.now - request.sent
        failed = False
        while conn and conn[0].answer is not _PENDING:
            done = conn.popleft()
            assert done.answer is not None
            failed |= done.answer[0] is not None
            self._handle(done.batch, *done.answer)
        self._drain()
        if failed or self._wake_at is None:  # a success adds no deadline of its own
            self._plan_next_wake()

    def _timed_out(self, request: Request) -> None:
        conn = self.connections.get(request.broker)
        if not conn or request not in conn or request.answer is not _PENDING:
            return
        failed = list(conn)
        conn.clear()
        for _n, req in enumerate(failed):  # oldest first; reenqueued in that order below
            error = "REQUEST_TIMED_OUT" if req is request else "NETWORK_EXCEPTION"
            self._handle(req.batch, error, -1, requeue_front=False)
        self._requeue_in_order([r.batch for r in failed if r.batch.retry_at >= 0])
        self._drain()
        self._plan_next_wake()

    def _handle(
        self,
        batch: PendingBatch,
        error: str | None,
        base: int,
        requeue_front: bool = True,
    ) -> None:
        if error is None:
            self._complete(batch, None, base)
            return
        expired = self.engine.now >= batch.created_ms + self.spec.delivery_timeout_ms
        if error not in RETRIABLE_PRODUCE_ERRORS:
            self._complete(batch, f"{error} (not retriable)")
            batch.retry_at = -1
            return
        self.metadata.refresh()  # errors and timeouts make the Java sender refresh metadata
        if batch.attempts > self.spec.retries or expired:
            reason = "delivery.timeout.ms expired" if expired else "retries exhausted"
            self._complete(batch, f"{error} ({reason})")
            batch.retry_at = -1
            return
        backoff = self._backoff(batch.attempts)
        batch.retry_at = self.engine.now + backoff
        self.timeline.record(
            "produce_error",
            self.spec.id,
            part=f"{self.spec.topic}-{batch.partition}",
            first=batch.msgs[0] - self.msg_base,
            count=len(batch.msgs),
            error=error,
            retry_in=backoff,
            batch=batch.number,
        )
        if requeue_front:
            self._requeue_in_order([batch])

    def _requeue_in_order(self, batches: list[PendingBatch]) -> None:
        """Java's reenqueue: failed batches go back to the front of their deque, keeping
        their relative order — or, when idempotent, into sequence order
        (RecordAccumulator.insertInSequenceOrder)."""
        for batch in reversed(batches):
            queue = self.queues.setdefault(batch.partition, deque())
            at = 0
            while (
                self.producer_id >= 0
                and at < len(queue)
                and (0 <= queue[at].base_seq < batch.base_seq)
            ):
                at += 1
            queue.insert(at, batch)

    def _backoff(self, attempts: int) -> int:
        """KIP-580: retry.backoff.ms doubling per attempt up to retry.backoff.max.ms, with
        20% jitter (drawn from this producer's seeded stream)."""
        base = self.spec.retry_backoff_ms
        cap = max(base, self.spec.retry_backoff_max_ms)
        if cap == base:
            return base
        exp: int = min(cap, base * 2 ** min(attempts - 1, 30))  # attempts >= 1: an int
        return max(1, round(exp * self._jitter.uniform(0.8, 1.2)))


def _ignore(error: str | None, base: int) -> None:
    return None
