"""The transactional producer's client side: ``transactional.id``, initTransactions,
begin / send / commit / abort, fencing — and the application loop around them.

Modelled on the Java client's ``TransactionManager`` ([J] producer/internals/
TransactionManager.java; its states UNINITIALIZED, INITIALIZING, READY, IN_TRANSACTION,
COMMITTING_TRANSACTION, ABORTING_TRANSACTION, ABORTABLE_ERROR, FATAL_ERROR) and
librdkafka's (``src/rdkafka_txnmgr.c``), composed into the producer in place of its
``Idempotence`` (whose sequence numbers it keeps using: a transactional producer is
idempotent):

- ``initTransactions()``: FindCoordinator, then InitProducerId, retried on
  CONCURRENT_TRANSACTIONS (the coordinator is still aborting the previous instance's
  transaction) and re-looked-up on NOT_COORDINATOR / a lost connection. The producer id
  and epoch come from the coordinator. Nothing is produced before.
- Sending inside a transaction: a partition's batches wait in the accumulator until an
  AddPartitionsToTxn for it is answered (Java's ``isSendToPartitionAllowed`` in
  RecordAccumulator.drain; the first AddPartitions after a commit retries
  CONCURRENT_TRANSACTIONS after 20 ms, ``ADD_PARTITIONS_RETRY_BACKOFF_MS``). This is the
  pre-KIP-890 protocol (see ``simcore.broker.transactions``).
- ``commitTransaction()`` flushes (every queued batch is sent at once, linger or not) and
  waits for every answer, then sends EndTxn(COMMIT); ``abortTransaction()`` does the same
  with ABORT. The next transaction begins when EndTxn is answered.
- Errors as the clients sort them: a batch that failed in the transaction (delivery
  timeout, a non-retriable error) is an *abortable* error — the application must abort;
  INVALID_PRODUCER_EPOCH from a partition (another instance bumped the epoch) is abortable
  in Java since KIP-588 (``InvalidProducerEpochException``: the application aborts, and the
  abort's EndTxn is then answered PRODUCER_FENCED) and fatal in librdkafka (the producer
  is fenced); PRODUCER_FENCED from the coordinator is fatal (``ProducerFencedException``):
  the producer can only be closed, and nothing it still holds is sent.

The application loop (``TransactionPlan``): begin, send the records due for
``commit_every_ms``, commit — or abort the transactions listed in ``abort``; in
transaction ``stall`` it hangs ``stall_ms`` before ending it (records due meanwhile wait).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from simcore.broker.cluster import INVALID_PRODUCER_EPOCH
from simcore.broker.transactions import (
    CONCURRENT_TRANSACTIONS,
    PRODUCER_FENCED,
    TransactionCoordinator,
)
from simcore.producer.idempotence import FAIL, Idempotence
from simcore.scenario.spec import TransactionPlan

if TYPE_CHECKING:
    from simcore.producer.batch import PendingBatch
    from simcore.producer.producer import Producer

UNINITIALIZED = "UNINITIALIZED"
INITIALIZING = "INITIALIZING"
READY = "READY"
IN_TRANSACTION = "IN_TRANSACTION"
COMMITTING = "COMMITTING_TRANSACTION"
ABORTING = "ABORTING_TRANSACTION"
FATAL_ERROR = "FATAL_ERROR"
ADD_PARTITIONS_RETRY_BACKOFF_MS = 20  # [J] TransactionManager.ADD_PARTITIONS_RETRY_BACKOFF_MS


class TransactionManager(Idempotence):
    """Stands in for the producer's ``Idempotence`` (the sender's hooks), adding the
    transaction's gates; the sequence numbers stay the wrapped ``inner``'s."""

    def __init__(
        self,
        producer: Producer,
        inner: Idempotence,
        coordinator: TransactionCoordinator,
        driven: bool = False,
    ) -> None:
        spec = producer.spec
        assert spec.transactional_id is not None
        self.inner = inner
        self.producer = producer
        sender = producer.sender
        super().__init__(
            producer.engine,
            producer.timeline,
            spec,
            sender.queues,
            sender.on_wire,
            sender.run_loop,
            producer.num_partitions,
        )
        self.coordinator = coordinator
        self.transactional_id = spec.transactional_id
        self.plan = spec.transactions or TransactionPlan()
        self.state = UNINITIALIZED
        self.number = 0  # transactions begun
        self.added: dict[int, bool] = {}  # partitions in the open transaction (ordered)
        self._adding: list[int] | None = None  # an AddPartitionsToTxn in flight
        self._add_retries = 0
        self._ending = False  # EndTxn sent (or about to be)
        self._stalled = False
        self._abortable: str | None = None  # the abortable error of this transaction
        self._coordinator: int | None = None
        self._fatal: str | None = None
        self.committed = 0
        self.aborted = 0
        self.epoch = -1
        # driven by an application (a pipeline) through begin / send_offsets / end, rather
        # than by the TransactionPlan's timer
        self.driven = driven
        self._on_end: Callable[[str | None], None] | None = None
        self.on_ready: Callable[[], None] | None = None  # initTransactions() returned
        self.on_fatal: Callable[[str], None] | None = None

    # -- the sender's Idempotence hooks --------------------------------------------------------

    @property
    def fatal(self) -> str | None:
        return self._fatal or self.inner.fatal

    @fatal.setter
    def fatal(self, value: str | None) -> None:
        self.inner.fatal = value

    def before_drain(self) -> bool:
        if self.state in (COMMITTING, ABORTING) and not self._ending and self._flushed():
            self._ending = True
            self.producer.engine.after(0, self._send_end)
        if self.state not in (IN_TRANSACTION, COMMITTING, ABORTING):
            return False
        return self.inner.before_drain()

    def gate(self, part: int, batch: PendingBatch) -> bool:
        if part not in self.added:
            self._add_partitions()
            return False
        return self.inner.gate(part, batch)

    def assign(self, batch: PendingBatch) -> None:
        self.inner.assign(batch)

    def on_success(self, batch: PendingBatch) -> None:
        self.inner.on_success(batch)

    def on_error(self, batch: PendingBatch, error: str) -> str | None:
        if error == INVALID_PRODUCER_EPOCH:
            if self.producer.spec.client == "java":
                self._abortable_error("InvalidProducerEpochException")
            else:
                self.producer.engine.after(0, self._fail, "_FENCED (INVALID_PRODUCER_EPOCH)")
            return FAIL
        return self.inner.on_error(batch, error)

    def on_given_up(self, batch: PendingBatch, error: str, adjust: bool) -> None:
        self.inner.on_given_up(batch, error, adjust)
        self._abortable_error(error.split(" ", 1)[0])

    def on_expired_in_flight(self, batch: PendingBatch, error: str, adjust: bool) -> None:
        self.inner.on_expired_in_flight(batch, error, adjust)
        self._abortable_error("TimeoutException")

    def on_expired_in_queue(self, batch: PendingBatch) -> None:
        self.inner.on_expired_in_queue(batch)
        self._abortable_error("TimeoutException")

    # -- initTransactions ----------------------------------------------------------------------

    def start(self) -> None:
        self.producer.holding = True
        self.state = INITIALIZING
        self._call("initTransactions")
        self._find_coordinator(self._init_producer_id)

    def _find_coordinator(self, then: Callable[[], None]) -> None:
        alive = self.producer.cluster.alive
        bootstrap = next((b for b in range(len(alive)) if alive[b]), None)
        retry = self.producer.spec.retry_backoff_ms
        if bootstrap is None:
            self.producer.engine.after(retry, self._find_coordinator, then)
            return

        def found(error: str | None, broker: int) -> None:
            if self.state == FATAL_ERROR:
                return
            if error is not None:
                self.producer.engine.after(retry, self._find_coordinator, then)
                return
            self._coordinator = broker
            then()

        self.coordinator.find_coordinator(bootstrap, self.transactional_id, found)

    def _init_producer_id(self) -> None:
        assert self._coordinator is not None
        spec = self.producer.spec
        self.coordinator.request(
            self._coordinator,
            self.transactional_id,
            self.coordinator.init_producer_id,
            (self.transactional_id, spec.transaction_timeout_ms, spec.id),
            self._on_init,
        )

    def _on_init(self, error: str | None, producer_id: int = -1, epoch: int = -1) -> None:
        if self.state == FATAL_ERROR:
            return
        if error is not None:
            self._retry_or_fail("InitProducerId", error, self._init_producer_id)
            return
        self.producer.sender.producer_id = producer_id
        self.inner.epoch = epoch
        self.epoch = epoch
        self.state = READY
        self.producer.timeline.record(
            "txn_init",
            self.producer.spec.id,
            transactional_id=self.transactional_id,
            producer_id=producer_id,
            epoch=epoch,
            coordinator=self._coordinator,
        )
        self._begin()

    def _retry_or_fail(
        self, what: str, error: str, again: Callable[[], None], backoff: int = -1
    ) -> None:
        """The clients' rule for coordinator errors: CONCURRENT_TRANSACTIONS and
        COORDINATOR_LOAD_IN_PROGRESS retry; NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE and a
        lost connection look the coordinator up again; PRODUCER_FENCED (and the others) are
        fatal ([J] TransactionManager's handlers: InitProducerIdHandler,
        AddPartitionsToTxnHandler, EndTxnHandler)."""
        retry = self.producer.spec.retry_backoff_ms if backoff < 0 else backoff
        self.producer.timeline.record(
            "txn_error",
            self.producer.spec.id,
            transactional_id=self.transactional_id,
            request=what,
            error=error,
            fatal=error not in _RETRIABLE,
        )
        if error == CONCURRENT_TRANSACTIONS or error == "COORDINATOR_LOAD_IN_PROGRESS":
            self.producer.engine.after(retry, again)
        elif error in _RETRIABLE:
            self.producer.engine.after(retry, self._find_coordinator, again)
        elif error == PRODUCER_FENCED:
            self._fail("ProducerFencedException")
        else:
            self._fail(f"KafkaException ({error})")

    # -- the application loop ------------------------------------------------------------------

    def _begin(self) -> None:
        if self.driven:
            if self.on_ready is not None:
                self.on_ready()
            return
        producer = self.producer
        if producer.halted or producer.next_i >= producer.spec.messages:
            self.producer.holding = True
            return
        self.number += 1
        self.state = IN_TRANSACTION
        self.added = {}
        self._abortable = None
        self._ending = False
        self._stalled = False
        self._call("beginTransaction")
        producer.holding = False
        producer.engine.after(self.plan.commit_every_ms, self._end_point, self.number)
        self.run_loop()

    def _end_point(self, number: int, wanted: bool | None = None) -> None:
        """The application ends transaction ``number`` (unless it stalls first);
        ``wanted``: commit or abort, as a driving application asks."""
        if self.state != IN_TRANSACTION or number != self.number:
            return
        producer = self.producer
        stall = not self.driven and number == self.plan.stall
        if stall and not self._stalled and self._abortable is None:
            self._stalled = True
            producer.take_due()  # what was due before it hung
            producer.holding = True
            self._call("stalls", ms=self.plan.stall_ms)
            producer.engine.after(self.plan.stall_ms, self._end_point, number)
            return
        planned = number not in self.plan.abort if wanted is None else wanted
        commit = planned and self._abortable is None
        if not self._stalled:
            producer.take_due()  # the records the application sent before the call
        producer.holding = True
        self.state = COMMITTING if commit else ABORTING
        self._call("commitTransaction" if commit else "abortTransaction")
        if commit:
            for queue in producer.queues.values():  # flush(): linger no longer applies
                for batch in queue:
                    batch.closed = True
        else:
            self._drop_queued("TransactionAbortedException", every=False)
        self.run_loop()

    # -- driven by an application (simcore.run.pipeline) -----------------------------------

    def begin_transaction(self) -> bool:
        """beginTransaction(): only from READY (False otherwise)."""
        if self.state != READY:
            return False
        self.number += 1
        self.state = IN_TRANSACTION
        self.added = {}
        self._abortable = None
        self._ending = False
        self._call("beginTransaction")
        self.producer.holding = False
        return True

    def send_offsets_to_transaction(
        self,
        group: str,
        txn_offset_commit: Callable[[int], str | None],
        done: Callable[[str | None], None],
    ) -> None:
        """sendOffsetsToTransaction(offsets, groupMetadata): AddOffsetsToTxn at the
        transaction coordinator, then TxnOffsetCommit at the group coordinator
        (``txn_offset_commit(producer_id)`` checks the group metadata and holds the
        offsets for the transaction's end); ``done(error)``: an error is abortable
        ([J] TransactionManager.sendOffsetsToTransaction, AddOffsetsToTxnHandler,
        TxnOffsetCommitHandler)."""
        if self.state != IN_TRANSACTION:
            done(f"IllegalStateException ({self.state})")
            return
        self._call("sendOffsetsToTransaction", group=group)

        def committed() -> None:
            if self.state != IN_TRANSACTION:
                return
            error = txn_offset_commit(self.producer.sender.producer_id)
            if error is not None:
                self._abortable_error(error, request="TxnOffsetCommit")
            done(error)

        def added(error: str | None = None) -> None:
            if self.state != IN_TRANSACTION:
                return
            if error is not None:
                self._retry_or_fail("AddOffsetsToTxn", error, send)
                return
            self.producer.engine.after(2 * self.producer.cluster.latency, committed)

        def send() -> None:
            if self.state != IN_TRANSACTION:
                return
            assert self._coordinator is not None
            self.coordinator.request(
                self._coordinator,
                self.transactional_id,
                self.coordinator.add_offsets,
                (self.transactional_id, self.producer.sender.producer_id, self.epoch, group),
                added,
            )

        send()

    def end_transaction(self, commit: bool, done: Callable[[str | None], None]) -> None:
        """commitTransaction() / abortTransaction(); ``done(None)`` once committed,
        ``done("aborted")`` once aborted (a commit turns into an abort after an abortable
        error)."""
        if self.state != IN_TRANSACTION:
            done(f"IllegalStateException ({self.state})")
            return
        self._on_end = done
        self._end_point(self.number, commit)

    def abandon(self) -> None:
        """The process died: nothing of this instance runs any more."""
        self.state = FATAL_ERROR
        self._fatal = "the process died"
        self.on_fatal = None
        self._on_end = None
        self.on_ready = None

    def _flushed(self) -> bool:
        return not self.queues and not self.on_wire

    def _send_end(self) -> None:
        if self.state not in (COMMITTING, ABORTING):
            return
        commit = self.state == COMMITTING
        if commit and self._abortable is not None:
            # commitTransaction() throws the abortable error: the application aborts
            self.state = ABORTING
            self._call("abortTransaction", after=self._abortable)
            commit = False
        if not self.added:  # nothing was sent: the client ends it without a request
            self._ended(None, commit)
            return
        assert self._coordinator is not None
        self.coordinator.request(
            self._coordinator,
            self.transactional_id,
            self.coordinator.end_txn,
            (self.transactional_id, self.producer.sender.producer_id, self.epoch, commit),
            lambda error=None: self._ended(error, commit),
        )

    def _ended(self, error: str | None, commit: bool) -> None:
        if self.state == FATAL_ERROR:
            return
        if error is not None:
            self._retry_or_fail("EndTxn", error, self._send_end)
            return
        if commit:
            self.committed += 1
        else:
            self.aborted += 1
        self.state = READY
        if self.driven:
            done, self._on_end = self._on_end, None
            if done is not None:
                done(None if commit else "aborted")
            return
        self._begin()

    def _abortable_error(self, error: str, request: str = "Produce") -> None:
        if self.state in (IN_TRANSACTION, COMMITTING) and self._abortable is None:
            self._abortable = error
            self.producer.timeline.record(
                "txn_error",
                self.producer.spec.id,
                transactional_id=self.transactional_id,
                request=request,
                error=error,
                fatal=False,
            )
            if self.state == IN_TRANSACTION and not self.driven:  # the app aborts at once
                self.producer.engine.after(0, self._end_point, self.number)

    # -- AddPartitionsToTxn --------------------------------------------------------------------

    def _add_partitions(self) -> None:
        if self._adding is not None or self.state not in (IN_TRANSACTION, COMMITTING, ABORTING):
            return
        parts = [p for p in sorted(self.producer.queues) if p not in self.added]
        if not parts:
            return
        self._adding = parts
        self._send_add()

    def _send_add(self) -> None:
        parts = self._adding
        if parts is None or self.state == FATAL_ERROR:
            return
        assert self._coordinator is not None
        topic = self.producer.spec.topic
        self.coordinator.request(
            self._coordinator,
            self.transactional_id,
            self.coordinator.add_partitions,
            (
                self.transactional_id,
                self.producer.sender.producer_id,
                self.epoch,
                [(topic, p) for p in parts],
            ),
            self._on_added,
        )

    def _on_added(self, error: str | None = None) -> None:
        if self.state == FATAL_ERROR or self._adding is None:
            return
        if error is not None:
            first = not self.added and error == CONCURRENT_TRANSACTIONS
            backoff = ADD_PARTITIONS_RETRY_BACKOFF_MS if first else -1
            self._retry_or_fail("AddPartitionsToTxn", error, self._send_add, backoff)
            return
        for part in self._adding:
            self.added[part] = True
        self._adding = None
        self.run_loop()

    # -- fatal ---------------------------------------------------------------------------------

    def _fail(self, error: str) -> None:
        """A fatal error: the producer can only be closed. What it still holds fails and
        nothing more is produced."""
        if self.state == FATAL_ERROR:
            return
        self.state = FATAL_ERROR
        self._fatal = error
        producer = self.producer
        producer.holding = True
        producer.halted = True  # the application closes it: nothing more is produced
        self._call("fatal", error=error)
        self._drop_queued(f"{error} (the producer is fenced or failed)", every=True)
        if self.on_fatal is not None:
            self.on_fatal(error)

    def _drop_queued(self, error: str, every: bool) -> None:
        """Fail the batches still in the accumulator: all of them (a fatal error), or —
        abortTransaction() — those never sent ([J] RecordAccumulator.abortUndrainedBatches,
        TransactionAbortedException); a batch waiting to be retried has a sequence number
        and is sent again (it is in flight for the broker)."""
        producer = self.producer
        for part in sorted(producer.queues):
            queue = producer.queues[part]
            keep = [b for b in queue if not every and b.base_seq >= 0]
            for batch in queue:
                if every or batch.base_seq < 0:
                    producer.complete(batch, error)
                    batch.retry_at = -1
            queue.clear()
            queue.extend(keep)
        for part in [p for p, q in producer.queues.items() if not q]:
            del producer.queues[part]

    def _call(self, call: str, **fields: object) -> None:
        self.producer.timeline.record(
            "txn_call",
            self.producer.spec.id,
            transactional_id=self.transactional_id,
            call=call,
            number=self.number,
            **fields,
        )


_RETRIABLE = (
    CONCURRENT_TRANSACTIONS,
    "COORDINATOR_LOAD_IN_PROGRESS",
    "NOT_COORDINATOR",
    "COORDINATOR_NOT_AVAILABLE",
    "NETWORK_EXCEPTION",
)
