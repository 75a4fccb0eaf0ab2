"""Consume-transform-produce: a consumer whose processing writes one result per input
record to an output topic, and commits its input offsets every ``commit_every_ms``.

- **Exactly-once** (``transactional_id``): the results go out inside a transaction; at
  each commit point the application calls ``sendOffsetsToTransaction(positions,
  consumer.groupMetadata())`` and ``commitTransaction()``, then begins the next one. If
  the transaction aborts (an abortable error, or the group metadata is refused: KIP-447
  fencing by generation), it seeks back to the last committed offsets and redoes the
  work. A restarted process calls ``initTransactions()`` with the same id (which aborts
  the dead one's open transaction) and its consumer reads stable offsets only (KIP-447:
  UNSTABLE_OFFSET_COMMIT while a transaction holds some). This is the loop of the Java
  EOS example and of Kafka Streams' ``exactly_once_v2`` ([J] KIP-447's
  ``KafkaProducer.sendOffsetsToTransaction`` javadoc; examples/
  ExactlyOnceMessageProcessor).
- **At-least-once** (no ``transactional_id``): at each commit point ``producer.flush()``
  (every result acknowledged), then ``consumer.commitSync(positions)``. A crash between
  the results and the commit makes the restarted process redo those inputs: their results
  are written twice.

Crash points (the consumer's ``crash`` faults): ``after_poll``, ``before_process``,
``after_process`` (the result was sent to the producer), ``before_commit`` (flushed for
at-least-once; before sendOffsetsToTransaction for exactly-once) and ``after_commit``.
A crash kills the producer with the consumer: its unsent results are lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from simcore.kernel.types import TopicPartition
from simcore.producer.transactions import IN_TRANSACTION
from simcore.scenario.spec import ConsumerSpec, PipelineSpec, ProducerSpec, Scenario

if TYPE_CHECKING:
    from simcore.consumer.consumer import Consumer
    from simcore.groups.coordinator import Coordinator
    from simcore.kernel.engine import TimerGroup
    from simcore.producer.on_demand import OnDemandProducer


def results_spec(
    scenario: Scenario, consumer: ConsumerSpec, pipeline: PipelineSpec
) -> ProducerSpec:
    """The pipeline's results producer: Java producer defaults (acks=all, idempotent), the
    pipeline's transactional.id, and room for three results per input record (inputs
    redone after crashes make more)."""
    inputs = sum(p.messages for p in scenario.producers if p.topic in consumer.topics)
    return ProducerSpec(
        id=f"{consumer.id}-results",
        topic=pipeline.output,
        messages=3 * inputs + 1000,
        rate_per_s=1.0,  # unused: the application sends each result
        value="result {i}",
        transactional_id=pipeline.transactional_id,
    )


class Pipeline:
    def __init__(
        self,
        consumer: Consumer,
        output: OnDemandProducer,
        spec: PipelineSpec,
        groups: Coordinator,
    ) -> None:
        self.consumer = consumer
        self.output = output
        self.spec = spec
        self.groups = groups
        self.engine = consumer.engine
        self.exactly_once = spec.transactional_id is not None
        self.next_commit = consumer.spec.start_ms + spec.commit_every_ms
        self.committing = False
        self._timer_at = -1
        self.commits = 0
        self.aborts = 0
        consumer.app = self
        self._attach()

    def _attach(self) -> None:
        txn = self.output.txn
        if txn is not None:
            txn.on_ready = self._begin
            txn.on_fatal = self._fenced

    # -- the consumer's hooks ----------------------------------------------------------------

    def on_processed(self, tp: TopicPartition, first: int, msgs: Sequence[int]) -> None:
        self.output.send(msgs)

    def after_batch(self) -> None:
        if self.committing:
            return
        txn = self.output.txn
        ready = txn is None or txn.state == IN_TRANSACTION
        if ready and self.engine.now >= self.next_commit and self._moved():
            self._commit()
            return
        self._poll_again()

    def on_crash(self) -> None:
        self.committing = False
        self.output.crash()

    def on_restart(self) -> None:
        self.output.restart()
        self._attach()
        if self.output.txn is not None:
            self.output.txn.start()
        self.next_commit = self.engine.now + self.spec.commit_every_ms

    # -- the loop ----------------------------------------------------------------------------

    def _poll_again(self) -> None:
        consumer = self.consumer
        if consumer.processing_ms or not consumer.arrivals:
            consumer.poll()
        else:  # as Consumer._after_batch: the next poll as its own event
            consumer.later(0, consumer.poll)
        if self._timer_at != self.next_commit:  # an idle loop commits on time too
            self._timer_at = self.next_commit
            consumer.later(max(0, self.next_commit - self.engine.now), self._on_time)

    def _on_time(self) -> None:
        """The application's poll(100 ms) returned empty and the commit is due."""
        self._timer_at = -1
        if self.committing or self.consumer.state != "polling":
            return
        txn = self.output.txn
        if (txn is None or txn.state == IN_TRANSACTION) and self._moved():
            self._commit()
        elif self.engine.now >= self.next_commit:
            self.next_commit = self.engine.now + self.spec.commit_every_ms
            self._timer_at = self.next_commit
            self.consumer.later(self.spec.commit_every_ms, self._on_time)

    def _moved(self) -> bool:
        """Have the positions moved past the committed offsets?"""
        consumer = self.consumer
        return any(
            self.groups.committed_offset(consumer.group, tp) != offset
            for tp, offset in sorted(consumer.positions.items())
        )

    def _begin(self) -> None:
        txn = self.output.txn
        if txn is not None and txn.begin_transaction():
            self.output.take_due()
            self.output.sender.run_loop()

    def _fenced(self, error: str) -> None:
        """ProducerFencedException (or another fatal error): the application closes."""
        self.committing = False
        if self.consumer.state not in ("down", "failed", "stopped"):
            self.consumer.fail(f"{error}: the pipeline's producer is fenced")

    def _commit(self) -> None:
        consumer = self.consumer
        offsets = consumer.positions
        self.committing = True
        consumer.state = "committing"  # the application is out of poll() until it is done
        life = consumer.life  # a crash since the commit began drops what follows
        if self.exactly_once:
            self._commit_transaction(offsets, life)
            return

        def flushed() -> None:
            if self._crash_point("before_commit", offsets):
                return
            consumer.committer.commit_sync(offsets, then=self._committed)

        self.output.flush(life.guard(flushed))

    def _committed(self) -> None:
        self.committing = False
        self.commits += 1
        self.next_commit = self.engine.now + self.spec.commit_every_ms
        self._poll_again()

    def _crash_point(self, point: str, offsets: dict[TopicPartition, int]) -> bool:
        consumer = self.consumer
        for tp, offset in sorted(offsets.items()):
            if consumer.crash_at_point(point, tp, 0, offset):
                return True
        return False

    def _commit_transaction(self, offsets: dict[TopicPartition, int], life: TimerGroup) -> None:
        consumer = self.consumer
        txn = self.output.txn
        assert txn is not None
        if self._crash_point("before_commit", offsets):
            return
        member, generation = consumer.membership.member, consumer.membership.generation

        def txn_offset_commit(producer_id: int) -> str | None:
            return self.groups.txn_offset_commit(
                consumer.group, producer_id, offsets, member, generation
            )

        def ended(result: str | None) -> None:
            if result is None:
                if self._crash_point("after_commit", offsets):
                    return
                self._begin()
                self._committed()
                return
            self.aborts += 1
            self._rewind()
            self._begin()
            self._committed()

        def offsets_sent(error: str | None) -> None:
            if txn is not self.output.txn:
                return
            txn.end_transaction(error is None, life.guard(ended))

        txn.send_offsets_to_transaction(consumer.group, txn_offset_commit, life.guard(offsets_sent))

    def _rewind(self) -> None:
        """After an abort: back to the last committed offsets (the KIP-447 example's
        resetToLastCommittedPositions), so the aborted inputs are processed again."""
        consumer = self.consumer
        positions = consumer.positions
        for tp in sorted(positions):
            committed = self.groups.committed_offset(consumer.group, tp)
            if committed is not None and committed != positions[tp]:
                consumer.seek(tp, committed, "abortTransaction: back to the committed offset")
