"""Brokers and partitions as clients see them: produce, fetch, metadata.

The partition's replicas, leader and ISR live here; how they change lives in
``replication`` (followers, ISR, HW) and ``controller`` (liveness, elections).
Every request travels one network hop each way; a request to a dead broker fails
as a disconnect (NETWORK_EXCEPTION) and a broker that does not lead the partition
answers NOT_LEADER_OR_FOLLOWER, after which clients refresh their metadata.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Final

from simcore.broker.controller import NETWORK_EXCEPTION, Controller
from simcore.broker.fetch_requests import ConsumerFetch, ConsumerFetches
from simcore.broker.log import MARKER_NAMES, Batch, ReplicaLog
from simcore.broker.network import Network
from simcore.broker.replication import (
    NOT_LEADER_OR_FOLLOWER,
    LeaderState,
    ProducerEntry,
    Replication,
)
from simcore.broker.retention import Retention
from simcore.kernel.types import TopicPartition
from simcore.scenario.spec import Scenario, TopicSpec

if TYPE_CHECKING:
    from simcore.broker.transactions import TransactionCoordinator
    from simcore.kernel.engine import Engine
    from simcore.kernel.timeline import Timeline

NOT_ENOUGH_REPLICAS: Final = "NOT_ENOUGH_REPLICAS"
OUT_OF_ORDER_SEQUENCE: Final = "OUT_OF_ORDER_SEQUENCE_NUMBER"
UNKNOWN_PRODUCER_ID: Final = "UNKNOWN_PRODUCER_ID"
INVALID_PRODUCER_EPOCH: Final = "INVALID_PRODUCER_EPOCH"
REQUEST_TIMED_OUT: Final = "REQUEST_TIMED_OUT"
# Retriable in both clients ([J] RetriableException subclasses). The idempotent producer's
# own errors (OUT_OF_ORDER_SEQUENCE_NUMBER, UNKNOWN_PRODUCER_ID, INVALID_PRODUCER_EPOCH) are
# not: each client decides about them itself (simcore.producer.idempotence). A set, as a
# ``Final`` tuple is a C struct to mypyc that each use boxes into a new tuple.
RETRIABLE_PRODUCE_ERRORS: Final = frozenset(
    (
        NOT_ENOUGH_REPLICAS,
        "NOT_ENOUGH_REPLICAS_AFTER_APPEND",
        NOT_LEADER_OR_FOLLOWER,
        NETWORK_EXCEPTION,
        REQUEST_TIMED_OUT,
        "LEADER_NOT_AVAILABLE",
    )
)

ProduceCallback = Callable[[str | None, int], None]
ProduceResponseCallback = Callable[[list[tuple[str | None, int]]], None]


class ProduceResponse:
    """The answers of one ProduceRequest's batches, sent back once all are in."""

    __slots__ = ("answers", "broker", "cluster", "left", "on_response")

    def __init__(
        self, cluster: Cluster, broker: int, on_response: ProduceResponseCallback, count: int
    ) -> None:
        self.cluster = cluster
        self.broker = broker
        self.on_response = on_response
        self.answers: list[tuple[str | None, int] | None] = [None] * count
        self.left = count

    def answer(self, index: int, error: str | None, base: int) -> None:
        if self.answers[index] is not None:
            return
        self.answers[index] = (error, base)
        self.left -= 1
        if not self.left:
            done = [a for a in self.answers if a is not None]
            self.cluster._produce_response(self.broker, self.on_response, done)


class BatchAnswer:
    """How one batch of a ProduceRequest (or one transaction marker) is answered, once: at
    once (an error, acks=1), or — acks=all — as Kafka's DelayedProduce, when the HW passes
    it, when the ISR or the leadership changes, or with REQUEST_TIMED_OUT when the
    request's own timeout runs out first.

    Its place in a request's ``ProduceResponse`` (``response``, ``index``), or a callback
    (``respond``): one object per batch, answered by a direct call (``fire``), where a
    ``functools.partial`` of a bound method wrapped in a waiter cost two more objects and
    three calls through the interpreter per batch."""

    __slots__ = ("after_append", "deadline", "done", "index", "producer", "respond",
                 "response", "timeout")  # fmt: skip

    def __init__(
        self, response: ProduceResponse | None, index: int, respond: ProduceCallback | None
    ) -> None:
        self.response = response
        self.index = index
        self.respond = respond
        self.done = False
        # an injected NOT_ENOUGH_REPLICAS_AFTER_APPEND: the answer although the batch was
        # appended (the duplicate hazard)
        self.after_append: str | None = None
        self.timeout = 0  # acks=all: the request's timeout, and when it runs out
        self.deadline = 0
        self.producer = ""

    def fire(self, error: str | None, base: int) -> None:
        if self.done:
            return
        self.done = True
        if self.after_append is not None:
            error, base = self.after_append, -1
        response = self.response
        if response is not None:
            response.answer(self.index, error, base)
            return
        respond = self.respond
        assert respond is not None
        respond(error, base)

    def __call__(self, error: str | None, base: int) -> None:
        self.fire(error, base)


class Partition:
    """One partition: its replicas and the controller's view of leader and ISR."""

    def __init__(self, spec: TopicSpec, index: int, brokers: list[int]) -> None:
        self.topic = spec.name
        self.index = index
        self.tp = TopicPartition(spec.name, index)  # the key every client uses, made once
        self.spec = spec
        self.name = f"{spec.name}-{index}"
        self.replica_order = brokers
        self.min_isr = min(spec.min_insync_replicas, len(brokers))  # capped at the RF
        self.replicas = {b: ReplicaLog(b) for b in brokers}
        self.leader: int | None = brokers[0]
        self.leader_epoch = 0
        self.isr = list(brokers)
        self.unclean_elections = 0
        # (time, HW) each time the leader's HW moves, kept only when consumers may read
        # from followers (KIP-392): how stale a follower's view is, in ms
        self.hw_times: list[tuple[int, int]] = []

    @property
    def log(self) -> ReplicaLog:
        """The log of the current leader. While the partition is offline: the log of the
        replica a clean election picks when it returns — the first member of the last ISR
        in replica order (KRaft keeps the last leader in the ISR when it dies) — not the
        preferred replica, which may have been out of sync (and lacks acknowledged
        records) for a long time."""
        if self.leader is not None:
            return self.replicas[self.leader]
        for broker in self.replica_order:
            if broker in self.isr:
                return self.replicas[broker]
        return self.replicas[self.replica_order[0]]

    def leading_replicas(self) -> list[ReplicaLog]:
        return [self.replicas[b] for b in self.replica_order if self.replicas[b].lead is not None]


class Metadata:
    """A client's view of partition leaders, refreshed from the cluster on errors."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.leaders = {tp: part.leader for tp, part in cluster.partitions.items()}
        self._refreshing = False

    def leader(self, tp: TopicPartition) -> int | None:
        return self.leaders[tp]

    def refresh(self) -> None:
        if not self._refreshing:
            self._refreshing = True
            self.cluster.engine.after(2 * self.cluster.latency, self._refreshed)

    def _refreshed(self) -> None:
        self._refreshing = False
        self.leaders = {tp: part.leader for tp, part in self.cluster.partitions.items()}


class Cluster:
    def __init__(self, engine: Engine, scenario: Scenario, timeline: Timeline) -> None:
        self.engine = engine
        self.timeline = timeline
        self.latency = scenario.network_latency_ms
        self.broker_spec = scenario.broker
        self.network = Network(scenario.brokers, scenario.network_latency_ms)
        self.alive = self.network.alive  # the same list (hot paths read it often)
        self.partitions: dict[tuple[str, int], Partition] = {}
        for t_index, topic in enumerate(scenario.topics):
            for p in range(topic.partitions):
                first = (t_index + p) % scenario.brokers
                brokers = [(first + k) % scenario.brokers for k in range(topic.replication_factor)]
                part = Partition(topic, p, brokers)
                self.partitions[part.tp] = part
        self.partition_list = list(self.partitions.values())
        self.partition_counts = {t.name: t.partitions for t in scenario.topics}
        self.racks = scenario.broker_racks  # broker.rack per broker, or () without racks
        self.rack_aware = scenario.broker.rack_aware_reads is not None and bool(self.racks)
        self.fetches = ConsumerFetches(self)  # consumer FetchRequests (fetch_requests.py)
        self.replication = Replication(self)
        self.controller = Controller(self)
        self.retention = Retention(self)
        self.transactions: TransactionCoordinator | None = None  # set by the run if used

    def start(self) -> None:
        self.controller.start()
        self.retention.start()
        if any(len(p.replica_order) > 1 for p in self.partition_list):
            self.engine.after(
                self.broker_spec.replica_lag_time_max_ms // 2, self.replication.check_isr
            )

    # -- produce -------------------------------------------------------------------------

    def send_produce(
        self,
        broker: int,
        batches: list[tuple[Partition, Batch]],
        acks: int,
        on_response: ProduceResponseCallback,
        injected: str | None = None,
        timeout_ms: int = 30_000,
    ) -> None:
        """Client side: a ProduceRequest with one batch per partition goes out now;
        ``on_response(answers)`` runs at the client with one (error, base offset) per batch,
        once every partition is answered (the broker sends one response: [J] core
        ReplicaManager.appendRecords, DelayedProduce over all the request's partitions).
        ``injected`` is a scenario fault: the broker answers every batch of the request
        with that error (after appending, for NOT_ENOUGH_REPLICAS_AFTER_APPEND).
        ``timeout_ms`` is the ProduceRequest's timeout, which the broker enforces on
        acks=all (Java sends request.timeout.ms, [J] Sender.sendProduceRequest; librdkafka
        its topic-level request.timeout.ms, [R] src/rdkafka_msgset_writer.c)."""
        if len(batches) == 1:  # librdkafka's requests, and most of Java's at low rates
            part, batch = batches[0]
            answer = BatchAnswer(None, 0, partial(self._produce_response_one, broker, on_response))
            self.engine.after(
                self.latency, self._produce, broker, part, batch, acks, answer, injected, timeout_ms
            )
            return
        self.engine.after(
            self.latency,
            self._produce_request,
            broker,
            batches,
            acks,
            on_response,
            injected,
            timeout_ms,
        )

    def _produce_request(
        self,
        broker: int,
        batches: list[tuple[Partition, Batch]],
        acks: int,
        on_response: ProduceResponseCallback,
        injected: str | None,
        timeout_ms: int,
    ) -> None:
        response = ProduceResponse(self, broker, on_response, len(batches))
        appended: list[Partition] = []
        for index, (part, batch) in enumerate(batches):
            answer = BatchAnswer(response, index, None)
            self._produce(broker, part, batch, acks, answer, injected, timeout_ms, appended)
        # parked follower fetches are completed once the whole request is appended, and
        # see all of it ([J] core ReplicaManager.appendRecords: appendToLocalLog, then
        # addCompletePurgatoryAction, run by KafkaApis after the request: tryCompleteActions)
        for part in appended:
            self.replication.wake_followers(part, part.replicas[broker])

    def _produce_response_one(
        self, broker: int, on_response: ProduceResponseCallback, error: str | None, base: int
    ) -> None:
        self._produce_response(broker, on_response, [(error, base)])

    def _produce_response(
        self,
        broker: int,
        on_response: ProduceResponseCallback,
        answers: list[tuple[str | None, int]],
    ) -> None:
        """The broker answers: the response reaches the client one hop later."""
        if not self.network.alive[broker]:
            answers = [(NETWORK_EXCEPTION, -1)] * len(answers)  # the connection dropped
        self.engine.after(self.latency, on_response, answers)

    def _leading(
        self, part: Partition, broker: int, respond: ProduceCallback
    ) -> tuple[ReplicaLog, LeaderState] | None:
        """``broker``'s replica of ``part`` and its leader state if it is alive and leads
        it; else the request is answered NETWORK_EXCEPTION or NOT_LEADER_OR_FOLLOWER, and
        None is returned."""
        replica = part.replicas.get(broker)
        if not self.alive[broker]:
            respond(NETWORK_EXCEPTION, -1)
            return None
        if replica is None or replica.lead is None:
            respond(NOT_LEADER_OR_FOLLOWER, -1)
            return None
        return replica, replica.lead

    def _produce(
        self,
        broker: int,
        part: Partition,
        batch: Batch,
        acks: int,
        answer: BatchAnswer,
        injected: str | None = None,
        timeout_ms: int = 30_000,
        appended: list[Partition] | None = None,
    ) -> None:
        leading = self._leading(part, broker, answer)
        if leading is None:
            return
        replica, lead = leading
        if injected is not None:
            self.timeline.record(
                "produce_rejected",
                f"broker-{broker}",
                part=part.name,
                producer=batch.producer,
                error=injected,
                injected=True,
            )
            if injected != "NOT_ENOUGH_REPLICAS_AFTER_APPEND":
                answer.fire(injected, -1)
                return
            answer.after_append = injected
        if acks == -1 and len(lead.isr) < part.min_isr:
            answer.fire(NOT_ENOUGH_REPLICAS, -1)
            return
        entry: ProducerEntry | None = None  # the producer's state here (idempotence)
        if batch.producer_id >= 0:
            entry = lead.producers.get(batch.producer_id)
            verdict = self._check_sequence(part, replica, batch, entry)
            if verdict is not None:
                error, base = verdict
                if error is None and acks == -1 and base + batch.count > replica.hw:
                    # a duplicate is answered like the original: once the HW passes it
                    self._await_isr(part, replica, answer, timeout_ms, batch.producer)
                    waiters = lead.ack_waiters
                    at = len(waiters)
                    while at > 0 and waiters[at - 1][0] > base + batch.count:
                        at -= 1
                    waiters.insert(at, (base + batch.count, answer, base))
                    self.replication.update_hw(part, replica)
                    return
                answer.fire(error, base)
                return
        batch.epoch = lead.epoch
        placed = replica.append(batch)
        if batch.producer_id >= 0:
            self._remember_sequence(lead, placed, entry)
        if self.timeline.itemises("append"):
            self.timeline.record(
                "append",
                f"broker-{broker}",
                part=part.name,
                base=placed.base,
                count=placed.count,
                producer=batch.producer,
                batch=placed.number,
            )
        if appended is not None:
            appended.append(part)  # followers woken once the request is appended
        elif lead.parked:
            self.replication.wake_followers(part, replica)
        if acks == -1:
            self._await_isr(part, replica, answer, timeout_ms, batch.producer)
            lead.ack_waiters.append((placed.end, answer, placed.base))
        elif acks == 1:
            answer.fire(None, placed.base)
        self.replication.update_hw(part, replica)

    def _await_isr(
        self,
        part: Partition,
        replica: ReplicaLog,
        answer: BatchAnswer,
        timeout_ms: int,
        producer: str,
    ) -> None:
        """An acks=all write waits for the ISR at most its request's timeout: Kafka's
        DelayedProduce answers REQUEST_TIMED_OUT when it expires, and the records stay
        appended ([S] core ReplicaManager.appendRecords, DelayedProduce.onExpiration).
        One timer per leader, aimed at the earliest deadline."""
        lead = replica.lead
        assert lead is not None
        answer.timeout = timeout_ms
        answer.deadline = self.engine.now + timeout_ms
        answer.producer = producer
        waits = lead.produce_waits
        if len(waits) >= 8 and waits[0].done:  # most are answered within ms: dropped in
            # bulk, not one by one (a list emptied and refilled for each batch reallocates)
            lead.produce_waits = waits = [w for w in waits if not w.done]
        waits.append(answer)
        timer = lead.produce_timer
        if timer is None or answer.deadline < lead.produce_due:
            if timer is not None:
                timer.cancel()
            lead.produce_due = answer.deadline
            lead.produce_timer = self.engine.timer(timeout_ms, self._expire_produce, part, replica)

    def _expire_produce(self, part: Partition, replica: ReplicaLog) -> None:
        lead = replica.lead
        assert lead is not None  # a lost leadership cancels its timer (controller.py)
        lead.produce_timer = None
        now = self.engine.now
        pending: list[BatchAnswer] = []
        for wait in lead.produce_waits:
            if wait.done:
                continue
            if wait.deadline > now:
                pending.append(wait)
                continue
            self.timeline.record(
                "produce_timed_out",
                f"broker-{replica.broker}",
                part=part.name,
                producer=wait.producer,
                waited=wait.timeout,
            )
            wait.fire(REQUEST_TIMED_OUT, -1)
        lead.produce_waits = pending
        if pending:
            first = min(w.deadline for w in pending)
            lead.produce_due = first
            lead.produce_timer = self.engine.timer(first - now, self._expire_produce, part, replica)

    def _check_sequence(
        self, part: Partition, replica: ReplicaLog, batch: Batch, entry: ProducerEntry | None
    ) -> tuple[str | None, int] | None:
        """Broker-side idempotence (KIP-98, KIP-360; [S] storage ProducerStateEntry,
        ProducerAppendInfo, UnifiedLog.analyzeAndValidateProducerState): a batch among the
        producer's last 5 of the same epoch is a duplicate, answered with the original
        offset; an older epoch is refused (INVALID_PRODUCER_EPOCH); a newer epoch must start
        at sequence 0, and so must the epoch a transaction marker began, until a batch is
        appended in it; otherwise the sequence must follow the last one. A producer the
        broker has no state for (``entry`` None) is accepted at any sequence (since Kafka
        2.5: brokers no longer answer UNKNOWN_PRODUCER_ID to a produce). ``entry``: the
        producer's state at the leader, as the caller found it."""
        if entry is None:
            return None
        epoch = entry.epoch
        last = entry.last
        if batch.producer_epoch == epoch:
            if last is None:
                # none appended in this epoch yet (a marker began it): the last sequence is
                # NO_SEQUENCE (-1), so only sequence 0 follows it (checkSequence, inSequence)
                return None if batch.base_seq == 0 else (OUT_OF_ORDER_SEQUENCE, -1)
            if batch.base_seq == last.base_seq + len(last.msgs):
                return None  # the next batch (the usual case): above every one remembered
            for kept in entry.kept():
                if kept.base_seq == batch.base_seq:
                    self.timeline.record(
                        "dedup",
                        f"broker-{replica.broker}",
                        part=part.name,
                        producer=batch.producer,
                        seq=batch.base_seq,
                        base=kept.base,
                    )
                    return (None, kept.base)
            return (OUT_OF_ORDER_SEQUENCE, -1)
        if batch.producer_epoch < epoch:
            return (INVALID_PRODUCER_EPOCH, -1)
        return None if batch.base_seq == 0 else (OUT_OF_ORDER_SEQUENCE, -1)

    @staticmethod
    def _remember_sequence(lead: LeaderState, batch: Batch, entry: ProducerEntry | None) -> None:
        """A new producer epoch starts a fresh record of batches (ProducerStateEntry
        .maybeUpdateProducerEpoch): the appended batches themselves (their sequences and
        offsets are never changed once in the log). ``entry``: the producer's state here,
        as the caller found it (None: none yet)."""
        if entry is None or entry.epoch != batch.producer_epoch:
            entry = lead.producers[batch.producer_id] = ProducerEntry(batch.producer_epoch)
        entry.add(batch)

    def rebuild_producer_state(self, replica: ReplicaLog) -> None:
        """A new leader rebuilds idempotence state from its own log (last 5 batches)."""
        lead = replica.lead
        assert lead is not None
        for batch in replica.batches[-200:]:
            if batch.control:
                self._marker_epoch(lead, batch)
            elif batch.producer_id >= 0:
                self._remember_sequence(lead, batch, lead.producers.get(batch.producer_id))

    @staticmethod
    def _marker_epoch(lead: LeaderState, marker: Batch) -> None:
        """A marker carries the coordinator's producer epoch; a newer one becomes the
        producer's epoch at this partition, with no batches remembered yet, so the older
        instance's writes are refused from now on ([S] ProducerAppendInfo
        .appendEndTxnMarker, ProducerStateEntry.maybeUpdateProducerEpoch)."""
        pid = marker.producer_id
        entry = lead.producers.get(pid)
        if entry is None or entry.epoch < marker.producer_epoch:
            lead.producers[pid] = ProducerEntry(marker.producer_epoch)

    def write_marker(
        self, broker: int, tp: TopicPartition, marker: Batch, respond: ProduceCallback
    ) -> None:
        """At ``broker``: WriteTxnMarkers for one partition ([J] core KafkaApis
        .handleWriteTxnMarkersRequest): the leader appends the control batch and answers
        once the ISR has it (acks=all, as the coordinator's markers are written)."""
        part = self.partitions[tp]
        leading = self._leading(part, broker, respond)
        if leading is None:
            return
        replica, lead = leading
        if len(lead.isr) < part.min_isr:
            respond(NOT_ENOUGH_REPLICAS, -1)
            return
        self._marker_epoch(lead, marker)
        marker.epoch = lead.epoch
        placed = replica.append(marker)
        self.timeline.record(
            "txn_marker",
            f"broker-{broker}",
            part=part.name,
            offset=placed.base,
            marker=MARKER_NAMES[placed.control],
            producer=placed.producer,
        )
        if lead.parked:
            self.replication.wake_followers(part, replica)
        lead.ack_waiters.append((placed.end, BatchAnswer(None, 0, respond), placed.base))
        self.replication.update_hw(part, replica)
        self.wake_fetchers(part, replica)  # the LSO may have moved

    # -- consumer fetch ---------------------------------------------------------------------

    def send_fetch(self, request: ConsumerFetch) -> None:
        """A consumer's FetchRequest to one broker for all the partitions it fetches there
        (its leader, or the read replica the leader named: KIP-392); the broker's side is
        ``fetch_requests.ConsumerFetches``."""
        self.fetches.send(request)

    def _preferred_read_replica(
        self, part: Partition, leader_log: ReplicaLog, offset: int, rack: str
    ) -> int:
        """RackAwareReplicaSelector ([J] clients/.../replica/RackAwareReplicaSelector.java),
        over the replicas ReplicaManager.findPreferredReadReplica offers it: the leader, and
        the in-sync followers that are alive and hold ``offset`` (as far as the leader
        knows their log ends). The leader if it is in the client's rack, else the most
        caught-up replica there (the higher log end; the lower broker id on a tie), else
        the leader."""
        lead = leader_log.lead
        assert lead is not None
        me = leader_log.broker
        if self.racks[me] == rack:
            return me
        best, best_leo = me, -1
        for broker in sorted(lead.isr):
            if broker == me or self.racks[broker] != rack or not self.alive[broker]:
                continue
            state = lead.followers.get(broker)
            leo = state.leo if state is not None else 0
            if part.replicas[broker].log_start <= offset <= leo and leo > best_leo:
                best, best_leo = broker, leo
        return best

    def wake_replica_fetchers(self, tp: TopicPartition, replica: ReplicaLog) -> None:
        """The follower's HW moved: complete the consumer fetches parked there that can
        read enough now."""
        self.fetches.wake_at_follower(tp, replica)

    def committed_at(self, tp: TopicPartition, offset: int) -> int | None:
        """When the leader's HW first passed ``offset`` (kept with rack-aware reads only)."""
        times = self.partitions[tp].hw_times
        k = bisect_right(times, offset, key=lambda e: e[1])
        return times[k][0] if k < len(times) else None

    def wake_fetchers(self, part: Partition, replica: ReplicaLog) -> None:
        """The leader's HW (or LSO) moved: complete the consumer fetches parked on this
        partition that can read enough now."""
        lead = replica.lead
        if lead is None or not lead.fetch_waiters:
            return
        lead.fetch_waiters = self.fetches.wake(part, replica, lead.fetch_waiters)
