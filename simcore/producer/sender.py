"""The producer's sender: connections, in-flight requests, responses and retries.

Modelled on the Java client's Sender and NetworkClient ([J] producer/internals/
Sender.java, clients/NetworkClient.java): at most
``max.in.flight.requests.per.connection`` requests per broker connection; answers
are handled in request order; when a request times out the connection is closed and
every request still in flight on it fails. A failed batch goes back to the *front* of
its partition's queue (``reenqueue``) — or, for an idempotent producer, into sequence
order — and waits out its retry backoff there, which is how retries reorder without
idempotence. A dead leader refuses the connection: nothing is sent, metadata is
refreshed and the batch waits. ``delivery.timeout.ms`` bounds the whole life of a batch.

The client's request timeout: Java's is ``request.timeout.ms``; librdkafka's is
``socket.timeout.ms`` or the first message's remaining ``message.timeout.ms``, whichever
is sooner ([R] src/rdkafka_request.c ``rd_kafka_ProduceRequest``) — its
``request.timeout.ms`` is only the broker's acks=all timeout, sent in the request (as
Java's is too; ``Cluster._await_isr``). The idempotent producer's sequence numbers and
epoch bumps live in ``simcore.producer.idempotence``.
"""

from __future__ import annotations

from array import array
from collections import deque
from functools import partial
from typing import TYPE_CHECKING, Final

from simcore.broker.cluster import REQUEST_TIMED_OUT, RETRIABLE_PRODUCE_ERRORS
from simcore.broker.log import Batch
from simcore.kernel.client_metrics import Sensor
from simcore.kernel.types import TopicPartition
from simcore.producer.batch import PendingBatch, sealed
from simcore.producer.idempotence import (
    FATAL,
    RETRY,
    Idempotence,
    JavaIdempotence,
    LibrdkafkaIdempotence,
)
from simcore.scenario.spec import (
    DelayedProduceResponse,
    DroppedProduceResponse,
    FaultSpec,
    ProduceError,
    ProducerFault,
    ProducerSpec,
)

if TYPE_CHECKING:
    from simcore.broker.cluster import Cluster, Metadata, Partition
    from simcore.kernel.engine import Engine
    from simcore.kernel.timeline import Timeline
    from simcore.producer.producer import Producer

RECONNECT_BACKOFF_MS: Final = 50  # reconnect.backoff.ms
_PENDING: Final = None


class Request:
    """One ProduceRequest on a connection: its batches (one per partition; always one for
    librdkafka), and their answers once the response is in."""

    __slots__ = ("answers", "batches", "broker", "deadline", "sent")

    def __init__(self, batches: list[PendingBatch], broker: int, sent: int, deadline: int) -> None:
        self.batches = batches
        self.broker = broker
        self.answers: list[tuple[str | None, int]] | None = _PENDING
        self.sent = sent
        self.deadline = deadline  # when the client gives up on it


class ProduceFault:
    """A scenario fault on this producer's requests, and how many more it affects."""

    __slots__ = ("remaining", "spec")

    def __init__(self, spec: ProducerFault) -> None:
        self.spec = spec
        self.remaining = spec.count


class Sender:
    """Drains the accumulator's ready batches into requests, and handles their answers."""

    def __init__(
        self,
        engine: Engine,
        cluster: Cluster,
        timeline: Timeline,
        spec: ProducerSpec,
        metadata: Metadata,
        accumulator: Producer,
        producer_id: int,
        msg_base: int,
        faults: list[FaultSpec],
    ) -> None:
        self.engine = engine
        self.cluster = cluster
        self.timeline = timeline
        self.spec = spec
        self.metadata = metadata
        # the producer itself, typed as its compiled class: its methods are direct calls
        # (through a Protocol each was a Python-level method call, one per batch)
        self.acc = accumulator
        self.queues = accumulator.queues  # the accumulator's queues, one per partition
        self.producer_id = producer_id  # -1: not idempotent
        self.msg_base = msg_base
        self._jitter = engine.rng(f"retry-jitter/{spec.id}")
        # each batch sent, numbered by its first send: its ids, and its partition (two
        # columns rather than a tuple per batch: keyed runs send hundreds of thousands)
        self.sent_ids: list[range | array[int]] = []
        self.sent_parts: list[int] = []
        # the cluster's partitions, for the batches of a request (the broker reads each
        # batch's partition as it is, without a lookup by its (topic, partition) tuple)
        self._parts = [
            cluster.partitions[TopicPartition(spec.topic, part)]
            for part in range(accumulator.num_partitions)
        ]
        self.connections: dict[int, deque[Request]] = {}
        # each partition's leader in the metadata last looked at (Java's drain reads it
        # for every partition of every pass)
        self._leaders_seen: dict[tuple[str, int], int | None] | None = None
        # the partitions each leader leads (ascending leaders and partitions), and those
        # without a leader, in that metadata
        self._by_leader: list[tuple[int, list[int]]] = []
        self._leaderless: list[int] = []
        self._leader_of: list[int] = []  # each partition's leader in it (-1: none)
        self._timers: dict[int, int] = {}  # broker -> when its request-timeout check runs
        # producer metrics counters (producer-metrics: record-send-rate, request-latency-avg)
        self.records_sent = 0
        # the producer panel's counts: produce requests (one batch each), retries among them
        self.batches_sent = 0
        self.retries_sent = 0
        self.request_count = 0
        self.request_latency_total = 0
        self.send_sensor = Sensor()  # record-send-rate (client_metrics.py)
        self.request_latency_sensor = Sensor()  # request-latency-avg
        self._faults = [
            ProduceFault(f)
            for f in faults
            if isinstance(f, (DroppedProduceResponse, DelayedProduceResponse, ProduceError))
        ]
        self._leader_wait = False
        self.on_wire: dict[int, int] = {}  # partition -> requests awaiting an answer
        self.idem: Idempotence | None = None
        if spec.enable_idempotence:
            family = JavaIdempotence if spec.client == "java" else LibrdkafkaIdempotence
            self.idem = family(
                engine,
                timeline,
                spec,
                self.queues,
                self.on_wire,
                self.run_loop,
                accumulator.num_partitions,
            )

    @property
    def sent_batches(self) -> list[tuple[int, range | array[int]]]:
        """(partition, ids) of each batch sent, by batch number."""
        return list(zip(self.sent_parts, self.sent_ids, strict=True))

    @property
    def in_flight(self) -> dict[int, int]:
        return {b: len(c) for b, c in self.connections.items()}

    # -- draining ready batches ------------------------------------------------------------

    def drain(self) -> None:
        idem = self.idem
        if idem is not None and not idem.before_drain():
            return
        if not self.queues:
            return
        if self.spec.client == "java" and len(self.queues) > 1:
            while self._drain_java():
                pass
            return
        self._drain_per_partition()  # with one partition queued, Java's drain is this too

    def _drain_java(self) -> bool:
        """One pass of the Java sender ([J] Sender.sendProducerData): the brokers with a
        ready batch (RecordAccumulator.ready) and room on their connection each get one
        ProduceRequest holding the first batch of every partition they lead — ready or
        still lingering — not in retry backoff, up to ``max.request.size`` (the first
        always goes; RecordAccumulator.drainBatchesForOneNode). Returns whether a broker
        that got a request has batches left and room for another (the sender loops again
        at once)."""
        queues = self.queues
        idem = self.idem
        alive = self.cluster.network.alive
        if self._leaders_seen is not self.metadata.leaders:  # refreshed: a new dict
            self._leaders_seen = leaders = self.metadata.leaders
            topic = self.spec.topic
            by_leader: dict[int | None, list[int]] = {}
            for part in range(self.acc.num_partitions):
                by_leader.setdefault(leaders[(topic, part)], []).append(part)
            self._leaderless = by_leader.get(None, [])
            self._by_leader = sorted((b, parts) for b, parts in by_leader.items() if b is not None)
            self._leader_of = [-1] * self.acc.num_partitions
            for b, parts in self._by_leader:
                for part in parts:
                    self._leader_of[part] = b
        for part in self._leaderless:
            if part in queues:
                self._await_leader()  # LEADER_NOT_AVAILABLE
                break
        serving = self._by_leader
        if not all(alive):
            serving = [(leader, parts) for leader, parts in serving if alive[leader]]
            if not self._leader_wait:
                for leader, parts in self._by_leader:
                    if not alive[leader] and any(part in queues for part in parts):
                        self._await_leader()  # the connection is refused
                        break
        connections = self.connections
        max_in_flight = self.spec.max_in_flight
        linger = self.spec.linger_ms
        limit = self.spec.max_request_size
        now = self.engine.now
        # the brokers with a ready batch: one pass over the queued partitions (only
        # non-empty queues are listed)
        ready = [False] * len(alive)
        leader_of = self._leader_of
        for queued in queues.values():  # (values, not items: no key tuple per partition)
            head = queued[0]  # Producer.ready, inlined: this runs for every partition
            leader = leader_of[head.partition]
            if leader < 0 or ready[leader]:
                continue
            if (
                now >= head.retry_at
                if head.attempts
                else (head.closed or len(queued) > 1 or now >= head.created_ms + linger)
            ):
                ready[leader] = True
        again = False
        # each broker in turn (ascending id): it gets a request if the first batch of one
        # of its partitions is ready and its connection has room
        for leader, parts in serving:
            if not ready[leader]:
                continue
            conn = connections.get(leader)
            if conn is not None and len(conn) >= max_in_flight:
                continue  # no room
            if conn is None:
                conn = connections[leader] = deque()
            batches: list[PendingBatch] = []
            size = 0
            for part in parts:
                queue = queues.get(part)
                if queue is None:
                    continue
                head = queue[0]
                if head.attempts > 0 and now < head.retry_at:
                    continue  # in retry backoff
                if batches and size + head.size > limit:
                    break
                if idem is not None and not idem.gate(part, head):
                    break
                batches.append(queue.pop(0))
                size += head.size
                if not queue:
                    del queues[part]
            if batches:
                self._send(batches, leader)
                # another pass only if this broker has batches left and room for them
                if not again and len(conn) < max_in_flight:
                    for part in parts:
                        if part in queues:
                            again = True
                            break
        return again

    def _drain_per_partition(self) -> None:
        """librdkafka sends one ProduceRequest per partition, each with one batch
        ([R] rdkafka_broker.c rd_kafka_toppar_producer_serve; multi-partition requests
        are still an open request, librdkafka issue #1700)."""
        idem = self.idem
        queues = self.queues
        alive = self.cluster.network.alive
        leaders = self.metadata.leaders
        topic = self.spec.topic
        max_in_flight = self.spec.max_in_flight
        ready = self.acc.ready
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
                if idem is not None and not idem.gate(part, queue[0]):
                    break
                self._send([queue.pop(0)], leader)
            if not queue:
                del queues[part]  # only partitions with queued batches stay listed

    def _await_leader(self) -> None:
        if not self._leader_wait:
            self._leader_wait = True
            self.metadata.refresh()
            self.engine.after(
                max(RECONNECT_BACKOFF_MS, 2 * self.cluster.latency + 1), self._leader_check
            )

    def new_session(self, producer_id: int) -> Idempotence | None:
        """The producer's process died and a new one starts: its connections are gone
        (answers to requests still out are never heard of), and an idempotent producer
        starts with a new producer id, epoch and sequences."""
        self.connections.clear()
        self.on_wire.clear()
        self._timers.clear()
        self.producer_id = producer_id
        if self.idem is not None:
            family = JavaIdempotence if self.spec.client == "java" else LibrdkafkaIdempotence
            self.idem = family(
                self.engine,
                self.timeline,
                self.spec,
                self.queues,
                self.on_wire,
                self.run_loop,
                self.acc.num_partitions,
            )
        return self.idem

    def run_loop(self) -> None:
        """One more pass of the sender's loop (Sender.runOnce)."""
        self.drain()
        self.acc.plan_next_wake()

    def _leader_check(self) -> None:
        self._leader_wait = False
        self._expire_waiting()
        self.drain()
        self.acc.plan_next_wake()

    def _expire_waiting(self) -> None:
        """delivery.timeout.ms also bounds batches that could not be sent."""
        for part in sorted(self.queues):
            queue = self.queues[part]
            limit = self.spec.delivery_timeout_ms
            while queue and self.engine.now >= queue[0].created_ms + limit:
                batch = queue.pop(0)
                self.acc.complete(
                    batch,
                    "TimeoutException: delivery.timeout.ms expired before the batch could be sent",
                )
                if self.idem is not None:
                    self.idem.on_expired_in_queue(batch)
            if not queue:
                del self.queues[part]

    # -- sending ------------------------------------------------------------------------------

    def _send(self, batches: list[PendingBatch], leader: int) -> None:
        spec = self.spec
        topic, producer_id, transactional = spec.topic, self.producer_id, spec.transactional_id
        producer, parts = spec.id, self._parts  # (a spec is not compiled: a lookup by name)
        idem = self.idem
        timeline = self.timeline  # (its method called directly: a native call)
        sent_ids, sent_parts = self.sent_ids, self.sent_parts
        transactional_batch = transactional is not None
        wires: list[tuple[Partition, Batch]] = []
        records = retries = 0
        for batch in batches:
            batch.closed = True
            if idem is not None:
                idem.assign(batch)
            batch.attempts += 1
            msgs = batch.msgs
            if isinstance(msgs, list):  # keyed ids, gathered in the accumulator
                msgs = batch.msgs = sealed(msgs)
            if batch.number < 0:
                batch.number = len(sent_ids)
                sent_ids.append(msgs)
                sent_parts.append(batch.partition)
            wire = Batch(
                -1,
                msgs,
                batch.size,
                batch.created_ms,
                producer,
                producer_id,
                batch.base_seq,
                0,
                batch.number,
                batch.epoch,
                transactional_batch,
            )
            wires.append((parts[batch.partition], wire))
            if timeline.itemises("send"):
                self.timeline.record(
                    "send",
                    spec.id,
                    part=f"{topic}-{batch.partition}",
                    first=msgs[0] - self.msg_base,
                    count=len(msgs),
                    attempt=batch.attempts,
                    batch=batch.number,
                    broker=leader,
                )
            records += len(msgs)
            retries += batch.attempts > 1
        self.retries_sent += retries
        self.batches_sent += len(batches)
        self.records_sent += records
        # record-send-rate: a Rate sums the records in its samples, so one record per
        # request (all its batches leave at this ms) reads the same as one per batch
        self.send_sensor.record(self.engine.now, records)
        injected = self._broker_error() if self._faults else None
        timeout = spec.request_timeout_ms  # the ProduceRequest's (broker-side) timeout
        if spec.acks == 0:  # nothing comes back: sent counts as done
            self.cluster.send_produce(leader, wires, 0, _ignore, injected, timeout)
            for batch in batches:
                self.acc.complete(batch, None)
            return
        now = self.engine.now
        request = Request(batches, leader, now, now + self._client_timeout(batches[0]))
        conn = self.connections[leader]
        conn.append(request)
        on_wire = self.on_wire
        for batch in batches:
            on_wire[batch.partition] = on_wire.get(batch.partition, 0) + 1
        respond = (
            partial(self._respond_with_faults, request)
            if self._faults
            else partial(self._arrived, request)
        )
        self.cluster.send_produce(leader, wires, spec.acks, respond, injected, timeout)
        timer = self._timers.get(leader)
        if timer is None or request.deadline < timer:  # librdkafka: a shorter message timeout
            self._timers[leader] = request.deadline
            self.engine.at(request.deadline, self._check_timeout, leader, request.deadline)

    def _client_timeout(self, batch: PendingBatch) -> int:
        """Java: request.timeout.ms. librdkafka: socket.timeout.ms, or the first message's
        remaining message.timeout.ms if sooner (100 ms if it has already run out)."""
        spec = self.spec
        if spec.client == "java":
            return spec.request_timeout_ms
        left = batch.created_ms + spec.delivery_timeout_ms - self.engine.now
        return min(spec.socket_timeout_ms, left) if left > 0 else 100

    def _respond_with_faults(self, request: Request, answers: list[tuple[str | None, int]]) -> None:
        delay = self._response_fault()
        if delay == 0:
            self._arrived(request, answers)
        elif delay is not None:
            self.engine.after(delay, self._arrived, request, answers)

    def _check_timeout(self, broker: int, scheduled: int) -> None:
        """One timer per connection, aimed at its earliest deadline (Java: the oldest
        request's; in librdkafka a request's deadline also follows its first message's
        timeout, so a later request can be due first)."""
        if self._timers.get(broker) != scheduled:
            return  # superseded by an earlier check
        del self._timers[broker]
        conn = self.connections.get(broker)
        if not conn:
            return
        pending = [r for r in conn if r.answers is _PENDING]  # (the head always is)
        first = min(pending, key=lambda r: r.deadline)  # the earliest, oldest on a tie
        if first.deadline <= self.engine.now:
            self._timed_out(first)  # closes the connection (new sends plan their own check)
            return
        self._timers[broker] = first.deadline
        self.engine.at(first.deadline, self._check_timeout, broker, first.deadline)

    def _broker_error(self) -> str | None:
        """Scenario fault ``produce_error``: the broker answers this request with an error."""
        for entry in self._faults:
            fault, left = entry.spec, entry.remaining
            if (
                isinstance(fault, ProduceError)
                and left > 0
                and self.engine.now >= (fault.at_ms or 0)
            ):
                entry.remaining = left - 1
                return fault.error
        return None

    def _response_fault(self) -> int | None:
        """Scenario faults on responses: extra delay in ms, or None if the answer is lost."""
        for entry in self._faults:
            fault, left = entry.spec, entry.remaining
            if isinstance(fault, ProduceError):
                continue
            if left > 0 and self.engine.now >= (fault.at_ms or 0):
                entry.remaining = left - 1
                if isinstance(fault, DroppedProduceResponse):
                    self.timeline.record("response_fault", self.spec.id, injected=True, what="lost")
                    return None
                what = f"delayed {fault.delay_ms} ms"
                self.timeline.record("response_fault", self.spec.id, injected=True, what=what)
                return fault.delay_ms
        return 0

    # -- answers, in request order ------------------------------------------------------------

    def _arrived(self, request: Request, answers: list[tuple[str | None, int]]) -> None:
        conn = self.connections.get(request.broker)
        if not conn or (conn[0] is not request and request not in conn):
            return  # the connection was closed meanwhile
        request.answers = answers
        self.request_count += 1
        self.request_latency_total += self.engine.now - request.sent
        self.request_latency_sensor.record(self.engine.now, self.engine.now - request.sent)
        failed = False
        while conn and conn[0].answers is not _PENDING:
            done = conn.popleft()
            assert done.answers is not None
            for batch, (error, base) in zip(done.batches, done.answers, strict=True):
                failed |= error is not None
                self._handle(batch, error, base)
        self.drain()
        if failed or self.acc.wake_at is None:  # a success adds no deadline of its own
            self.acc.plan_next_wake()

    def _timed_out(self, request: Request) -> None:
        conn = self.connections.get(request.broker)
        if not conn or request not in conn or request.answers is not _PENDING:
            return
        failed = list(conn)
        conn.clear()
        for req in failed:  # oldest first; reenqueued in that order below
            error = REQUEST_TIMED_OUT if req is request else "NETWORK_EXCEPTION"
            for batch in req.batches:
                self._handle(batch, error, -1, requeue_front=False)
        self._requeue_in_order([b for r in failed for b in r.batches if b.retry_at >= 0])
        self.drain()
        self.acc.plan_next_wake()

    def _handle(
        self,
        batch: PendingBatch,
        error: str | None,
        base: int,
        requeue_front: bool = True,
    ) -> None:
        """An answer (or a timeout) for a request that was on the wire."""
        part = batch.partition
        left = self.on_wire[part] - 1
        if left:
            self.on_wire[part] = left
        else:
            del self.on_wire[part]
        idem = self.idem
        if error is None:
            if idem is not None:
                idem.on_success(batch)
            self.acc.complete(batch, None, base)
            return
        if idem is not None and idem.fatal is not None:
            self.acc.complete(batch, f"{error} (no retries after the fatal {idem.fatal})")
            batch.retry_at = -1
            return
        verdict = idem.on_error(batch, error) if idem is not None else None
        if verdict == FATAL:
            self.acc.complete(batch, f"{error} (fatal error)")
            batch.retry_at = -1
            self._fatal(batch, error)
            return
        expired = self.engine.now >= batch.created_ms + self.spec.delivery_timeout_ms
        retries_left = batch.attempts <= self.spec.retries
        if verdict is None:
            verdict = RETRY if error in RETRIABLE_PRODUCE_ERRORS else None
        if verdict != RETRY:
            self.acc.complete(batch, f"{error} (not retriable)")
            batch.retry_at = -1
            if idem is not None:
                idem.on_given_up(batch, error, retries_left)
            return
        self.metadata.refresh()  # errors and timeouts make the Java sender refresh metadata
        if not retries_left or expired:
            reason = "delivery.timeout.ms expired" if expired else "retries exhausted"
            self.acc.complete(batch, f"{error} ({reason})")
            batch.retry_at = -1
            if idem is not None and expired:
                idem.on_expired_in_flight(batch, error, retries_left)
            elif idem is not None:
                idem.on_given_up(batch, error, retries_left)
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

    def _fatal(self, batch: PendingBatch, error: str) -> None:
        """librdkafka's fatal error (rd_kafka_idemp_set_fatal_error ->
        rd_kafka_set_fatal_error0): the producer stops for good. Queued messages are purged
        (ERR__PURGE_QUEUE), produce() refuses new ones (ERR__FATAL: the application must
        create a new producer, so later records are not produced here), and requests in
        flight still get their answers, without retries."""
        idem = self.idem
        assert idem is not None
        idem.fatal = error
        self.acc.halt()  # the records due so far were produced; no more will be
        self.timeline.record(
            "fatal_error",
            self.spec.id,
            part=f"{self.spec.topic}-{batch.partition}",
            error=error,
            first=batch.msgs[0] - self.msg_base,
            count=len(batch.msgs),
        )
        for part in sorted(self.queues):
            for queued in self.queues[part]:
                self.acc.complete(queued, f"_PURGE_QUEUE (purged after the fatal {error})")
                queued.retry_at = -1
        self.queues.clear()

    def _requeue_in_order(self, batches: list[PendingBatch]) -> None:
        """Java's reenqueue: failed batches go back to the front of their queue, keeping
        their relative order — or, when idempotent, into sequence order
        (RecordAccumulator.insertInSequenceOrder)."""
        for batch in reversed(batches):
            queue = self.queues.setdefault(batch.partition, [])
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


def _ignore(answers: list[tuple[str | None, int]]) -> None:
    return None
