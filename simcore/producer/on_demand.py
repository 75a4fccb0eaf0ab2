"""A producer whose records an application sends one by one — a pipeline's results —
instead of a rate schedule: record ``i`` is due when the application sent it.

Everything else is the ``Producer``'s (accumulator, batches, sender, idempotence, a
``transactional.id``'s TransactionManager). It remembers, for each result, the input
message it was made from (``sources``), for the end-to-end ledger. A process crash loses
the records not yet sent (they fail: the process died) and the connections (answers to
requests still out are never heard of); the restarted process is a new producer session.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from simcore.producer.batch import PendingBatch
from simcore.producer.producer import NEVER, Producer
from simcore.producer.transactions import TransactionManager

if TYPE_CHECKING:
    from simcore.broker.cluster import Cluster
    from simcore.kernel.engine import Engine
    from simcore.kernel.timeline import Timeline
    from simcore.scenario.spec import ProducerSpec

PROCESS_DIED = "the process died"
RESTARTED_PRODUCER_IDS = 3000  # a restarted idempotent session's ids start here


class OnDemandProducer(Producer):
    def __init__(
        self,
        engine: Engine,
        cluster: Cluster,
        timeline: Timeline,
        spec: ProducerSpec,
        msg_base: int,
        producer_index: int,
    ) -> None:
        super().__init__(engine, cluster, timeline, spec, msg_base, producer_index)
        self.index = producer_index
        self.send_times: list[int] = []
        self.sources = array("q")  # result i was made from input message sources[i]
        self.sessions = 1
        self._flush_waiter: Callable[[], None] | None = None
        self.lost_at_crash = 0
        if self.txn is not None:
            self.txn.driven = True  # its application ends its transactions

    # -- the application sends ----------------------------------------------------------------

    def send(self, sources: Sequence[int]) -> int:
        """The application sends one result per input message in ``sources``, now; how
        many the producer took (none once fenced; at most its capacity)."""
        room = self.spec.messages - len(self.send_times)
        if self.halted or room <= 0:
            return 0
        take = sources if len(sources) <= room else sources[:room]
        self.send_times.extend([self.engine.now] * len(take))
        self.sources.extend(take)
        if not self.holding:
            self._wake(self.engine.now)
        return len(take)

    def flush(self, then: Callable[[], None]) -> None:
        """producer.flush(): every record sent so far leaves now (linger no longer
        applies); ``then`` runs once each has its answer."""
        self.take_due()
        for queue in self.queues.values():
            for batch in queue:
                batch.closed = True
        self._flush_waiter = then
        self.sender.run_loop()
        self._check_flushed()

    def _check_flushed(self) -> None:
        waiter = self._flush_waiter
        idle = not self.queues and not self.sender.on_wire
        if waiter is not None and idle and (self.next_i >= len(self.send_times) or self.holding):
            self._flush_waiter = None
            waiter()

    def complete(self, batch: PendingBatch, error: str | None, base: int = -1) -> None:
        super().complete(batch, error, base)
        if self._flush_waiter is not None:
            self.engine.after(0, self._check_flushed)

    # -- the record clock: the application's sends --------------------------------------------

    def due(self, i: int) -> int:
        return self.send_times[i] if i < len(self.send_times) else NEVER

    def _count_by(self, time_ms: int) -> float:
        return bisect_left(self.send_times, time_ms)

    def _last_due(self, now: int) -> int:
        return max(len(self.send_times) - 1, self.next_i - 1)

    def _first_due_at(self, time_ms: int) -> int:
        return max(self.next_i, bisect_left(self.send_times, time_ms))

    # -- the process dies, and starts again --------------------------------------------------------

    def crash(self) -> None:
        """The records not yet sent are lost with the process; requests still out are
        never answered to it; nothing more is produced until ``restart``."""
        self.holding = True
        self._flush_waiter = None
        if self.txn is not None:
            self.txn.abandon()
        lost = 0
        for part in sorted(self.queues):
            for batch in self.queues[part]:
                lost += len(batch.msgs)
                self.complete(batch, PROCESS_DIED)
                batch.retry_at = -1
        self.queues.clear()
        if self.next_i < len(self.send_times):  # sent by the app, not yet in a batch
            ids = range(self.msg_base + self.next_i, self.msg_base + len(self.send_times))
            self.failed.add(ids)
            self.failed_count += len(ids)
            self.sent += len(ids)
            lost += len(ids)
            self.next_i = len(self.send_times)
        self.lost_at_crash += lost
        self.sessions += 1
        self.sender.new_session(-1)

    def restart(self) -> None:
        """A new process: a new producer session (a new producer id; a transactional one
        calls initTransactions() again with the same transactional.id)."""
        pid = RESTARTED_PRODUCER_IDS + 100 * self.sessions + self.index
        inner = self.sender.new_session(pid if self.spec.enable_idempotence else -1)
        if self.txn is not None and inner is not None:
            self.txn = TransactionManager(self, inner, self.txn.coordinator, driven=True)
            self.sender.idem = self.txn  # the caller sets its hooks, then start()s it
            return
        self.holding = False
        self._wake(self.engine.now)
