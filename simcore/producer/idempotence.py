"""The idempotent producer's client side: producer epoch, sequence numbers, and what each
client family does when the broker's sequence state and its own disagree.

The broker keeps, per producer id and partition, the producer epoch and the last five
batches' sequence numbers (``Cluster._check_sequence``). The state can be lost under the
client: an unclean election elects a replica that lacks acknowledged batches, so the new
leader expects an earlier sequence and answers OUT_OF_ORDER_SEQUENCE_NUMBER; a broker
that lost the producer's state (before Kafka 2.5) answers UNKNOWN_PRODUCER_ID. Retrying
the same sequence can never succeed. The two families recover differently:

- **Java** (KIP-360; [J] producer/internals/TransactionManager.java ``canRetry``,
  ``handleFailedBatch``, ``maybeResolveSequences``, ``bumpIdempotentEpochAndResetIdIfNeeded``,
  ``startSequencesAtBeginning``; RecordAccumulator.java
  ``shouldStopDrainBatchesForPartition``): an OUT_OF_ORDER_SEQUENCE_NUMBER for the batch
  right after the last acknowledged one (or any UNKNOWN_PRODUCER_ID) requests an epoch
  bump and is retried. On its next loop the sender bumps the epoch and numbers that
  partition's unacknowledged batches from 0 again; the broker takes sequence 0 of a new
  epoch. Other partitions move to the new epoch once their in-flight batches are done. A
  batch given up with a sequence (failed, or expired in the queue) also leads to a bump.
  Never fatal.
- **librdkafka** ([R] INTRODUCTION.md "Idempotent Producer", src/rdkafka_request.c
  ``rd_kafka_handle_idempotent_Produce_error``, ``rd_kafka_handle_Produce_error``,
  src/rdkafka_idempotence.c ``rd_kafka_idemp_drain_epoch_bump0``,
  ``rd_kafka_idemp_drain_done``, src/rdkafka_broker.c ``rd_kafka_toppar_producer_serve``):
  an OUT_OF_ORDER_SEQUENCE_NUMBER on the head-of-line request (the next sequence to be
  acknowledged) is a **fatal error**: the producer stops, its queued messages fail, and
  the application must create a new one. On a later request it is the consequence of an
  earlier failure: it waits until no request of the producer is in flight, bumps the epoch
  and renumbers from the first queued message. UNKNOWN_PRODUCER_ID is recovered the same
  way only for a first try right after the last answered request, otherwise fatal. Any
  retriable error first drains the partition's in-flight requests; a permanent error, or a
  message timing out in the queue, leads to a drained epoch bump.

Not modelled: transactions; librdkafka's implicit acknowledgement of an earlier batch when
a later one succeeds (here the retry is deduplicated instead); Java's one-at-a-time
resending of retried batches.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from simcore.broker.cluster import (
    INVALID_PRODUCER_EPOCH,
    OUT_OF_ORDER_SEQUENCE,
    RETRIABLE_PRODUCE_ERRORS,
    UNKNOWN_PRODUCER_ID,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from simcore.kernel.engine import Engine
    from simcore.kernel.timeline import Timeline
    from simcore.producer.batch import PendingBatch
    from simcore.scenario.spec import ProducerSpec

RETRY: Final = "retry"
FAIL: Final = "fail"
FATAL: Final = "fatal"


class Idempotence:
    """What both families keep; the sender calls the hooks below."""

    def __init__(
        self,
        engine: Engine,
        timeline: Timeline,
        spec: ProducerSpec,
        queues: dict[int, list[PendingBatch]],
        on_wire: dict[int, int],
        run_loop: Callable[[], None],
        num_partitions: int,
    ) -> None:
        self.engine = engine
        self.timeline = timeline
        self.spec = spec
        self.queues = queues  # the accumulator's queues (the sender shares them)
        self.on_wire = on_wire  # the sender's requests awaiting an answer, per partition
        self.run_loop = run_loop  # one more pass of the sender's loop
        self.epoch = 0  # the producer epoch (the producer id never changes here)
        # per partition, indexed by partition (lists, not dicts: a lookup each, per batch):
        # the epoch its sequences follow (-1: no sequence yet), and its next sequence
        self.num_partitions = num_partitions
        self.part_epoch = [-1] * num_partitions
        self.next_seq = [0] * num_partitions
        self.fatal: str | None = None
        self._start()

    def _start(self) -> None:
        """Each family's own state, set up at construction."""
        return None

    def before_drain(self) -> bool:
        """At the top of each sender loop; False: send nothing now."""
        return True

    def gate(self, part: int, batch: PendingBatch) -> bool:
        """May ``batch``, the head of ``part``'s queue, be sent now?"""
        return True

    def assign(self, batch: PendingBatch) -> None:
        """The batch is being sent: give it its sequence (kept for its retries)."""
        if batch.base_seq < 0:
            part = batch.partition
            epoch = self.part_epoch[part]
            if epoch < 0:
                epoch = self.part_epoch[part] = self.epoch
            batch.base_seq = self.next_seq[part]
            batch.epoch = epoch
            self.next_seq[part] = batch.base_seq + len(batch.msgs)

    def on_success(self, batch: PendingBatch) -> None:
        return None

    def on_error(self, batch: PendingBatch, error: str) -> str | None:
        """RETRY, FAIL or FATAL, or None for the client's ordinary rule."""
        return None

    def on_given_up(self, batch: PendingBatch, error: str, adjust: bool) -> None:
        """The batch failed after it was sent (``adjust``: it had retries left)."""
        return None

    def on_expired_in_flight(self, batch: PendingBatch, error: str, adjust: bool) -> None:
        """delivery.timeout.ms ran out while its request was out (noticed at the answer)."""
        self.on_given_up(batch, error, adjust)

    def on_expired_in_queue(self, batch: PendingBatch) -> None:
        return None

    def _record_bump(self, parts: list[int], why: str) -> None:
        topic = self.spec.topic
        self.timeline.record(
            "epoch_bump",
            self.spec.id,
            epoch=self.epoch,
            parts=[f"{topic}-{p}" for p in parts],
            why=why,
        )


class JavaIdempotence(Idempotence):
    def _start(self) -> None:
        n = self.num_partitions
        self.last_acked = [-1] * n  # per partition: its last acknowledged sequence
        # sent and not yet completed, retries waiting in the queue included
        # (TransactionManager's in-flight batches by sequence), per partition
        self.unacked: list[list[PendingBatch]] = [[] for _ in range(n)]
        self.rewrite: dict[int, str] = {}  # partitions to renumber at the bump -> why
        self.unresolved: dict[int, int] = {}  # partition -> the sequence after an expired one
        self._armed = False  # a bump is planned for the sender's next loop

    def before_drain(self) -> bool:
        """Sender.runOnce: maybeResolveSequences, then bumpIdempotentEpochAndResetIdIfNeeded."""
        for part in sorted(self.unresolved):
            if not self.unacked[part]:
                if self.next_seq[part] - self.last_acked[part] != 1:
                    self.rewrite.setdefault(part, "an expired batch left its sequence unresolved")
                del self.unresolved[part]
        if self.rewrite:
            # on the sender's next loop: answers arriving together are handled in one
            # poll, so they lead to one bump; nothing is sent before it
            if not self._armed:
                self._armed = True
                self.engine.after(0, self._bump_then_loop)
            return False
        return True

    def _bump_then_loop(self) -> None:
        self._armed = False
        if self.rewrite:
            self.epoch += 1
            parts = sorted(self.rewrite)
            why = self.rewrite[parts[0]]
            self.rewrite = {}
            for part in parts:
                self._start_at_beginning(part)
            self._record_bump(parts, why)
        self.run_loop()

    def gate(self, part: int, batch: PendingBatch) -> bool:
        """RecordAccumulator.shouldStopDrainBatchesForPartition, for a batch without a
        sequence: wait while the partition's in-flight batches belong to an older epoch
        (then start its sequences over: maybeUpdateProducerIdAndEpoch), or while an expired
        batch's sequence is unresolved."""
        if batch.base_seq >= 0:
            return True
        epoch = self.part_epoch[part]
        if epoch >= 0 and epoch != self.epoch:
            if self.unacked[part]:
                return False
            self._start_at_beginning(part)
        return not self.unresolved or part not in self.unresolved

    def assign(self, batch: PendingBatch) -> None:
        if batch.base_seq < 0:
            Idempotence.assign(self, batch)  # (super(): the same, looked up per batch)
            self.unacked[batch.partition].append(batch)

    def on_success(self, batch: PendingBatch) -> None:
        part = batch.partition
        last = batch.base_seq + len(batch.msgs) - 1
        if last > self.last_acked[part]:
            self.last_acked[part] = last
        self._forget(batch)

    def on_error(self, batch: PendingBatch, error: str) -> str | None:
        """TransactionManager.canRetry for the idempotent (non-transactional) producer."""
        part = batch.partition
        if error == OUT_OF_ORDER_SEQUENCE:
            unresolved = self.unresolved.get(part)
            if unresolved is None and (
                batch.seq_reset or batch.base_seq != self.last_acked[part] + 1
            ):
                return RETRY  # not the next batch: an earlier one failed; wait and see
            if unresolved is None or batch.base_seq == unresolved:
                self.rewrite.setdefault(part, error)  # a real gap: bump the epoch
            return RETRY
        if error == UNKNOWN_PRODUCER_ID:
            if not batch.seq_reset:
                self.rewrite.setdefault(part, error)
            return RETRY
        if error == INVALID_PRODUCER_EPOCH:
            return FAIL
        return None

    def on_given_up(self, batch: PendingBatch, error: str, adjust: bool) -> None:
        """Sender.failBatch -> handleFailedBatch: an out-of-order batch, or one failed with
        retries left, leaves a gap: bump the epoch."""
        self._forget(batch)
        name = error.split(" ", 1)[0]
        if batch.base_seq >= 0 and (adjust or name == OUT_OF_ORDER_SEQUENCE):
            why = name if name == OUT_OF_ORDER_SEQUENCE else f"a batch failed with {name}"
            self.rewrite.setdefault(batch.partition, why)

    def on_expired_in_flight(self, batch: PendingBatch, error: str, adjust: bool) -> None:
        """Sender.getExpiredInflightBatches fails it without adjusting sequences."""
        self.on_expired_in_queue(batch)

    def on_expired_in_queue(self, batch: PendingBatch) -> None:
        """A retry that expired: its sequence may or may not be on the broker
        (markSequenceUnresolved); resolved once nothing is in flight."""
        self._forget(batch)
        if batch.base_seq >= 0 and batch.attempts > 1:
            end = batch.base_seq + len(batch.msgs)
            self.unresolved[batch.partition] = max(self.unresolved.get(batch.partition, 0), end)

    def _forget(self, batch: PendingBatch) -> None:
        batches = self.unacked[batch.partition]
        if not batches:
            return
        if batches[0] is batch:  # acknowledged in sequence order: the usual case, at once
            del batches[0]
        elif batch in batches:
            batches.remove(batch)

    def _start_at_beginning(self, part: int) -> None:
        """TxnPartitionMap.startSequencesAtBeginning: the unacknowledged batches, in
        sequence order, from 0 in the current epoch."""
        seq = 0
        for batch in sorted(self.unacked[part], key=lambda b: b.base_seq):
            batch.base_seq, batch.epoch, batch.seq_reset = seq, self.epoch, True
            seq += len(batch.msgs)
        self.next_seq[part] = seq
        self.last_acked[part] = -1
        self.part_epoch[part] = self.epoch


class LibrdkafkaIdempotence(Idempotence):
    def _start(self) -> None:
        self.next_ack: dict[int, int] = {}  # next_ack_seq: the next sequence to be acked
        self.next_err: dict[int, int] = {}  # next_err_seq: the next one to expect an error
        self.wait_drain: set[int] = set()  # partitions to drain before sending again
        self.bump_why: str | None = None  # DRAIN_BUMP: waiting for no request in flight

    def before_drain(self) -> bool:
        if self.fatal is not None:
            return False
        if self.bump_why is not None:
            if any(self.on_wire.values()):
                return False  # no ProduceRequest goes out while draining
            self._bump()
        return True

    def gate(self, part: int, batch: PendingBatch) -> bool:
        if part in self.wait_drain:
            if self.on_wire.get(part):
                return False
            self.wait_drain.discard(part)
        return True

    def on_success(self, batch: PendingBatch) -> None:
        """rd_kafka_handle_idempotent_Produce_success: advance next_ack_seq (and
        next_err_seq unless they diverged). Never backwards: a deduplicated retry of an
        earlier batch can succeed after a later one (librdkafka acks it implicitly)."""
        part, end = batch.partition, batch.base_seq + len(batch.msgs)
        ack = self.next_ack.get(part, 0)
        if self.next_err.get(part, 0) == ack:
            self.next_err[part] = max(ack, end)
        self.next_ack[part] = max(ack, end)

    def on_error(self, batch: PendingBatch, error: str) -> str | None:
        part, end = batch.partition, batch.base_seq + len(batch.msgs)
        if error == OUT_OF_ORDER_SEQUENCE:
            if batch.base_seq <= self.next_ack.get(part, 0):
                return FATAL  # head of line (or rewound): client and broker disagree
            self.next_err[part] = end
            self._drain_bump("skipped sequence numbers")
            return RETRY  # an earlier request failed: these were never written
        if error == UNKNOWN_PRODUCER_ID:
            if batch.attempts == 1 and self.next_err.get(part, 0) == batch.base_seq:
                self.next_err[part] = end
                self._drain_bump("unknown producer id")
                return RETRY  # all earlier messages accounted for: no risk
            return FATAL
        self.next_err[part] = end
        if error in RETRIABLE_PRODUCE_ERRORS:
            self.wait_drain.add(part)  # "drain before retrying"
            return None
        self._drain_bump("message sequence gap")  # a permanent error leaves a gap
        return FAIL

    def on_expired_in_queue(self, batch: PendingBatch) -> None:
        """Messages timing out in the queue leave a gap in the sequence: drain and bump."""
        self._drain_bump("message(s) timed out")

    def _drain_bump(self, why: str) -> None:
        if self.bump_why is None:
            self.bump_why = why

    def _bump(self) -> None:
        """rd_kafka_idemp_drain_done: nothing in flight, so the idempotent producer bumps
        its own epoch; each partition then resets its base msgid to its first queued
        message (rd_kafka_toppar_pid_change): sequences restart at 0."""
        self.epoch += 1
        why, self.bump_why = self.bump_why or "", None
        numbered = [p for p in range(self.num_partitions) if self.part_epoch[p] >= 0]
        parts = sorted(set(numbered) | set(self.queues))
        for part in parts:
            self.next_seq[part] = 0
            self.next_ack[part] = self.next_err[part] = 0
            self.part_epoch[part] = self.epoch
            for batch in self.queues.get(part, ()):
                batch.base_seq = -1
        self.wait_drain.clear()
        self._record_bump(parts, why)
