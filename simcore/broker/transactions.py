"""The transaction coordinator (KIP-98), on the leader of a ``__transaction_state``
partition.

Each ``transactional.id`` maps to partition ``abs(hashCode) % 50`` of the internal topic
``__transaction_state`` ([J] core TransactionStateManager.partitionFor, Java's
``String.hashCode``; transaction.state.log.num.partitions 50, replication factor 3 capped at
the cluster's size, min ISR 2 capped likewise). Only the partitions the scenario's
transactional ids map to are created; the controller elects their leaders like any other
partition's, so when the leader dies the coordinator moves with the next election, and
clients that asked the old one get NOT_COORDINATOR (or no answer) and look it up again.

The coordinator's state per transactional id ([J] core TransactionMetadata,
TransactionState): producer id, producer epoch, the partitions of the open transaction,
and the state — ``Empty``, ``Ongoing``, ``PrepareCommit`` / ``PrepareAbort`` (the decision
is taken: it will be carried out whatever happens), ``CompleteCommit`` / ``CompleteAbort``
(every partition has its marker). The requests it answers ([J] core TransactionCoordinator
.handleInitProducerId, handleAddPartitionsToTransaction, handleEndTransaction):

- InitProducerId: a new id gets a producer id and epoch 0; a known one gets its epoch
  bumped — which fences the previous instance. If that instance left a transaction
  Ongoing, the coordinator first aborts it with a bumped epoch (the abort markers carry it,
  so the partitions refuse the old epoch from then on) and answers
  CONCURRENT_TRANSACTIONS; the client retries and gets the epoch after that one.
- AddPartitionsToTxn: the transaction becomes Ongoing (its timer starts) and holds the
  partitions. This is the pre-KIP-890 protocol ("transaction version 1", what Kafka 3.x
  clients and librdkafka speak): the *client* adds each partition before it sends data to
  it. KIP-890 part 2 (Kafka 4.0 clients with 4.0 brokers) lets the partition leader add it
  instead and bumps the epoch at every commit; it is not modelled.
- EndTxn: Ongoing -> PrepareCommit / PrepareAbort, answered at once; then the markers are
  written to every partition of the transaction (WriteTxnMarkers, acks=all, retried until
  each leader has it: [J] core TransactionMarkerChannelManager) and the state becomes
  Complete*. While markers are being written, requests for the id are answered
  CONCURRENT_TRANSACTIONS and retried by the client.
- A request with an older epoch is answered PRODUCER_FENCED ([J] Errors.PRODUCER_FENCED,
  KIP-588); one with a foreign producer id INVALID_PRODUCER_ID_MAPPING.
- transaction.timeout.ms: every 10 s (transaction.abort.timed.out.transaction.cleanup
  .interval.ms) the coordinator aborts transactions open longer than their timeout, with a
  bumped epoch, fencing the producer ([J] TransactionCoordinator
  .abortTimedOutTransactions, TransactionMetadata.prepareFenceProducerEpoch).

Simplifications: the state is kept as if already replicated — a real coordinator appends
each transition to its ``__transaction_state`` partition (acks=all) before it answers, and a
new leader loads that partition (COORDINATOR_LOAD_IN_PROGRESS meanwhile); here the write
takes no time of its own and a new coordinator has the state at once, then completes the
transactions left in Prepare* as Kafka's does on load.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from simcore.broker.cluster import Partition
from simcore.broker.controller import NETWORK_EXCEPTION
from simcore.broker.log import ABORT, COMMIT, MARKER_MSGS, Batch
from simcore.scenario.spec import TopicSpec

if TYPE_CHECKING:
    from simcore.broker.cluster import Cluster

TXN_STATE_TOPIC = "__transaction_state"
OFFSETS_TOPIC = "__consumer_offsets"
OFFSETS_PARTITIONS = 50  # offsets.topic.num.partitions
TXN_STATE_PARTITIONS = 50  # transaction.state.log.num.partitions
TXN_STATE_RF = 3  # transaction.state.log.replication.factor
TXN_STATE_MIN_ISR = 2  # transaction.state.log.min.isr
ABORT_CHECK_INTERVAL_MS = 10_000  # transaction.abort.timed.out.transaction.cleanup.interval.ms
MARKER_RETRY_MS = 100  # the marker channel's retry after a failed WriteTxnMarkers
# a control batch: the v2 batch header (61 bytes) and one control record (key: version and
# type, value: version and coordinator epoch; [J] common/record/EndTransactionMarker)
MARKER_BYTES = 78

EMPTY = "Empty"
ONGOING = "Ongoing"
PREPARE_COMMIT = "PrepareCommit"
PREPARE_ABORT = "PrepareAbort"
COMPLETE_COMMIT = "CompleteCommit"
COMPLETE_ABORT = "CompleteAbort"

NOT_COORDINATOR = "NOT_COORDINATOR"
COORDINATOR_NOT_AVAILABLE = "COORDINATOR_NOT_AVAILABLE"
CONCURRENT_TRANSACTIONS = "CONCURRENT_TRANSACTIONS"
PRODUCER_FENCED = "PRODUCER_FENCED"
INVALID_PRODUCER_ID_MAPPING = "INVALID_PRODUCER_ID_MAPPING"
INVALID_TXN_STATE = "INVALID_TXN_STATE"

FIRST_PRODUCER_ID = 2000  # transactional producers' ids (idempotent ones use 1000 + index)

Reply = Callable[..., None]  # (error, *values) at the client


def java_string_hash(text: str) -> int:
    """Java's ``String.hashCode`` (UTF-16 code units, 32-bit wrap-around), signed."""
    data = text.encode("utf-16-be")
    h = 0
    for k in range(0, len(data), 2):
        h = (31 * h + (data[k] << 8 | data[k + 1])) & 0xFFFFFFFF
    return h - (1 << 32) if h >= 1 << 31 else h


def offsets_partition(group: str) -> int:
    """The group's ``__consumer_offsets`` partition (offsets.topic.num.partitions 50;
    [J] GroupMetadataManager.partitionFor)."""
    h = java_string_hash(group)
    return (0 if h == -(1 << 31) else abs(h)) % OFFSETS_PARTITIONS


def partition_for(transactional_id: str) -> int:
    """[J] TransactionStateManager.partitionFor: Utils.abs(hashCode) % partitions
    (Utils.abs maps Integer.MIN_VALUE to 0)."""
    h = java_string_hash(transactional_id)
    return (0 if h == -(1 << 31) else abs(h)) % TXN_STATE_PARTITIONS


@dataclass
class TxnMetadata:
    """One transactional id at the coordinator."""

    transactional_id: str
    producer_id: int
    epoch: int = 0
    state: str = EMPTY
    partitions: list[tuple[str, int]] = field(default_factory=list)
    started_ms: int = -1  # when the open transaction became Ongoing
    timeout_ms: int = 60_000
    pending_markers: int = 0
    committed: int = 0  # transactions completed with COMMIT markers
    aborted: int = 0  # ... with ABORT markers (timeouts and fencing included)
    timed_out: int = 0
    owner: str = ""  # the producer (spec id) that last initialised the id
    sequence: int = 0  # transitions so far: a marker run answers only its own


class TransactionCoordinator:
    def __init__(self, cluster: Cluster, transactional_ids: list[str]) -> None:
        self.cluster = cluster
        self.engine = cluster.engine
        self.timeline = cluster.timeline
        self.txns: dict[str, TxnMetadata] = {}
        self.state_partitions: dict[int, Partition] = {}
        self._next_pid = FIRST_PRODUCER_ID
        # the group coordinator's TxnOffsetCommit completion (producer id, commit)
        self.offsets_markers: Callable[[int, bool], None] | None = None
        brokers = len(cluster.alive)
        rf = min(TXN_STATE_RF, brokers)
        spec = TopicSpec(TXN_STATE_TOPIC, TXN_STATE_PARTITIONS, rf, min(TXN_STATE_MIN_ISR, rf))
        for index in sorted({partition_for(t) for t in transactional_ids}):
            first = index % brokers
            replicas = [(first + k) % brokers for k in range(rf)]
            part = Partition(spec, index, replicas)
            self.state_partitions[index] = part
            cluster.partition_list.append(part)

    def start(self) -> None:
        if self.state_partitions:
            self.engine.after(ABORT_CHECK_INTERVAL_MS, self._abort_timed_out)

    # -- where the coordinator is --------------------------------------------------------------

    def coordinator_for(self, transactional_id: str) -> int | None:
        """The broker leading the id's ``__transaction_state`` partition (None: offline)."""
        return self.state_partitions[partition_for(transactional_id)].leader

    def _serves(self, broker: int, transactional_id: str) -> str | None:
        """None if ``broker`` is the id's coordinator now, else the error it answers."""
        part = self.state_partitions[partition_for(transactional_id)]
        replica = part.replicas.get(broker)
        if replica is None or replica.lead is None:
            return NOT_COORDINATOR
        return None

    def find_coordinator(self, broker: int, transactional_id: str, reply: Reply) -> None:
        """FindCoordinator(TRANSACTION) sent to ``broker`` (any live one): the answer is
        the state partition's leader, or COORDINATOR_NOT_AVAILABLE while it has none."""

        def at_broker() -> None:
            if not self.cluster.alive[broker]:
                self.engine.after(self.cluster.latency, reply, NETWORK_EXCEPTION, -1)
                return
            leader = self.coordinator_for(transactional_id)
            error = COORDINATOR_NOT_AVAILABLE if leader is None else None
            self.engine.after(self.cluster.latency, reply, error, -1 if leader is None else leader)

        self.engine.after(self.cluster.latency, at_broker)

    def request(
        self,
        broker: int,
        transactional_id: str,
        handler: Callable[..., tuple[object, ...]],
        args: tuple[object, ...],
        reply: Reply,
    ) -> None:
        """A request to the coordinator at ``broker``: one hop there, the handler runs if
        that broker is alive and coordinates the id, one hop back (lost if it died)."""

        def at_broker() -> None:
            if not self.cluster.alive[broker]:
                self.engine.after(self.cluster.latency, reply, NETWORK_EXCEPTION)
                return
            error = self._serves(broker, transactional_id)
            answer = (error,) if error is not None else handler(*args)
            self.engine.after(self.cluster.latency, self._deliver, broker, reply, answer)

        self.engine.after(self.cluster.latency, at_broker)

    def _deliver(self, broker: int, reply: Reply, answer: tuple[object, ...]) -> None:
        if not self.cluster.alive[broker]:
            reply(NETWORK_EXCEPTION)
            return
        reply(*answer)

    # -- the requests --------------------------------------------------------------------------

    def init_producer_id(
        self, transactional_id: str, timeout_ms: int, owner: str
    ) -> tuple[object, ...]:
        txn = self.txns.get(transactional_id)
        if txn is None:
            txn = TxnMetadata(transactional_id, self._next_pid, 0, EMPTY, timeout_ms=timeout_ms)
            self._next_pid += 1
            self.txns[transactional_id] = txn
            txn.owner = owner
            self._transition(txn, EMPTY, f"InitProducerId from {owner}")
            return (None, txn.producer_id, txn.epoch)
        if txn.state in (PREPARE_COMMIT, PREPARE_ABORT):
            return (CONCURRENT_TRANSACTIONS,)
        if txn.state == ONGOING:
            # the previous instance's transaction: abort it under a bumped epoch (fence)
            txn.epoch += 1
            self._end(txn, commit=False, why=f"InitProducerId from {owner} fences the epoch")
            return (CONCURRENT_TRANSACTIONS,)
        txn.epoch += 1
        txn.timeout_ms = timeout_ms
        txn.owner = owner
        self._transition(txn, EMPTY, f"InitProducerId from {owner}: epoch bumped")
        return (None, txn.producer_id, txn.epoch)

    def _check(self, txn: TxnMetadata | None, producer_id: int, epoch: int) -> str | None:
        if txn is None or txn.producer_id != producer_id:
            return INVALID_PRODUCER_ID_MAPPING
        if epoch != txn.epoch:
            return PRODUCER_FENCED
        return None

    def add_partitions(
        self, transactional_id: str, producer_id: int, epoch: int, tps: list[tuple[str, int]]
    ) -> tuple[object, ...]:
        txn = self.txns.get(transactional_id)
        error = self._check(txn, producer_id, epoch)
        if error is not None or txn is None:
            return (error,)
        if txn.state in (PREPARE_COMMIT, PREPARE_ABORT):
            return (CONCURRENT_TRANSACTIONS,)
        if txn.state != ONGOING:
            txn.partitions = []
            txn.started_ms = self.engine.now
        for tp in tps:
            if tp not in txn.partitions:
                txn.partitions.append(tp)
        if txn.state != ONGOING:
            self._transition(txn, ONGOING, "AddPartitionsToTxn")
        return (None,)

    def add_offsets(
        self, transactional_id: str, producer_id: int, epoch: int, group: str
    ) -> tuple[object, ...]:
        """AddOffsetsToTxn: the group's ``__consumer_offsets`` partition joins the
        transaction, so its marker will commit (or drop) the offsets sent with
        TxnOffsetCommit ([J] core TransactionCoordinator.handleAddPartitionsToTransaction,
        KafkaApis.handleAddOffsetsToTxnRequest)."""
        return self.add_partitions(
            transactional_id, producer_id, epoch, [(OFFSETS_TOPIC, offsets_partition(group))]
        )

    def end_txn(
        self, transactional_id: str, producer_id: int, epoch: int, commit: bool
    ) -> tuple[object, ...]:
        txn = self.txns.get(transactional_id)
        error = self._check(txn, producer_id, epoch)
        if error is not None or txn is None:
            return (error,)
        wanted = PREPARE_COMMIT if commit else PREPARE_ABORT
        done = COMPLETE_COMMIT if commit else COMPLETE_ABORT
        if txn.state == ONGOING:
            self._end(txn, commit, "EndTxn from the producer")
            return (None,)
        if txn.state == done:
            return (None,)  # a retry of what already happened
        if txn.state == wanted:
            return (CONCURRENT_TRANSACTIONS,)
        return (INVALID_TXN_STATE,)

    # -- ending a transaction: markers ---------------------------------------------------------

    def _end(self, txn: TxnMetadata, commit: bool, why: str) -> None:
        self._transition(txn, PREPARE_COMMIT if commit else PREPARE_ABORT, why)
        txn.pending_markers = len(txn.partitions)
        if not txn.partitions:
            self._complete(txn, commit)
            return
        for tp in txn.partitions:
            self._send_marker(txn, txn.sequence, tp, commit)

    def _send_marker(
        self, txn: TxnMetadata, sequence: int, tp: tuple[str, int], commit: bool
    ) -> None:
        if txn.sequence != sequence:
            return
        if tp[0] == OFFSETS_TOPIC:  # the group coordinator applies it (always available)
            self.engine.after(self.cluster.latency, self._offsets_marker, txn, sequence, commit)
            return
        leader = self.cluster.partitions[tp].leader
        coordinator = self.coordinator_for(txn.transactional_id)
        if leader is None or coordinator is None or not self.cluster.alive[coordinator]:
            self.engine.after(MARKER_RETRY_MS, self._send_marker, txn, sequence, tp, commit)
            return
        marker = Batch(
            -1,
            MARKER_MSGS,
            MARKER_BYTES,
            self.engine.now,
            txn.owner,
            txn.producer_id,
            -1,
            0,
            -1,
            txn.epoch,
            True,
            COMMIT if commit else ABORT,
        )

        def answered(error: str | None, _base: int) -> None:
            self.engine.after(
                self.cluster.latency, self._marker_done, txn, sequence, tp, commit, error
            )

        self.engine.after(
            self.cluster.latency, self.cluster.write_marker, leader, tp, marker, answered
        )

    def _marker_done(
        self, txn: TxnMetadata, sequence: int, tp: tuple[str, int], commit: bool, error: str | None
    ) -> None:
        if txn.sequence != sequence:
            return
        if error is not None:
            coordinator = self.coordinator_for(txn.transactional_id)
            self.timeline.record(
                "txn_marker_retry",
                "txn-coordinator" if coordinator is None else f"broker-{coordinator}",
                transactional_id=txn.transactional_id,
                part=f"{tp[0]}-{tp[1]}",
                error=error,
            )
            self.engine.after(MARKER_RETRY_MS, self._send_marker, txn, sequence, tp, commit)
            return
        txn.pending_markers -= 1
        if txn.pending_markers == 0:
            self._complete(txn, commit)

    def _offsets_marker(self, txn: TxnMetadata, sequence: int, commit: bool) -> None:
        if txn.sequence != sequence:
            return
        if self.offsets_markers is not None:
            self.offsets_markers(txn.producer_id, commit)
        group_tp = next(tp for tp in txn.partitions if tp[0] == OFFSETS_TOPIC)
        self.engine.after(
            self.cluster.latency, self._marker_done, txn, sequence, group_tp, commit, None
        )

    def _complete(self, txn: TxnMetadata, commit: bool) -> None:
        if commit:
            txn.committed += 1
        else:
            txn.aborted += 1
        self._transition(txn, COMPLETE_COMMIT if commit else COMPLETE_ABORT, "markers written")

    def _transition(self, txn: TxnMetadata, state: str, why: str) -> None:
        txn.state = state
        txn.sequence += 1
        coordinator = self.coordinator_for(txn.transactional_id)
        self.timeline.record(
            "txn_state",
            "txn-coordinator" if coordinator is None else f"broker-{coordinator}",
            transactional_id=txn.transactional_id,
            state=state,
            epoch=txn.epoch,
            parts=[f"{t}-{p}" for t, p in txn.partitions],
            why=why,
        )

    # -- transaction.timeout.ms ----------------------------------------------------------------

    def _abort_timed_out(self) -> None:
        now = self.engine.now
        for transactional_id in sorted(self.txns):
            txn = self.txns[transactional_id]
            coordinator = self.coordinator_for(transactional_id)
            if coordinator is None or not self.cluster.alive[coordinator]:
                continue
            if txn.state == ONGOING and now > txn.started_ms + txn.timeout_ms:
                txn.epoch += 1  # fence the producer that let it time out
                txn.timed_out += 1
                why = f"open longer than transaction.timeout.ms ({txn.timeout_ms} ms)"
                self._end(txn, commit=False, why=why)
        self.engine.after(ABORT_CHECK_INTERVAL_MS, self._abort_timed_out)

    # -- for reports ---------------------------------------------------------------------------

    def summary(self) -> dict[str, dict[str, Any]]:
        """Per transactional id: producer id, epoch, state, counts, coordinator."""
        return {
            t: {
                "producer_id": x.producer_id,
                "epoch": x.epoch,
                "state": x.state,
                "committed": x.committed,
                "aborted": x.aborted,
                "timed_out": x.timed_out,
                "coordinator": self.coordinator_for(t),
                "state_partition": f"{TXN_STATE_TOPIC}-{partition_for(t)}",
            }
            for t, x in sorted(self.txns.items())
        }
