"""Invariants of transactions, checked after every event in test mode (with
``InvariantChecker``) when a run has transactional producers:

- a read_committed consumer never reads past the last stable offset: its position stays
  at or below the highest LSO its partition's leaders have shown;
- a read_committed consumer never processes a record of an aborted transaction;
- a fenced producer never writes again: once its transaction manager is in FATAL_ERROR
  it sends no batch (requests already on the wire are answered as they are).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from simcore.broker.log import Batch

if TYPE_CHECKING:
    from simcore.producer.transactions import TransactionManager
    from simcore.run.simulation import Simulation


class TransactionInvariants:
    def __init__(self, sim: Simulation, expect: Callable[[bool, str], None]) -> None:
        self.sim = sim
        self.expect = expect
        self.lso_seen: dict[tuple[str, int], int] = {}
        self.aborted_ids: set[int] = set()
        self._aborted_seen: dict[tuple[str, int], int] = {}
        self._processed_seen: dict[str, tuple[int, int]] = {}
        # each fenced (or dead) producer instance: its producer's batches sent by then
        self._fenced_sent: dict[TransactionManager, int] = {}

    def check(self) -> None:
        self._note_logs()
        for consumer in self.sim.consumers:
            if consumer.committed_only:
                self._check_consumer(consumer)
        self._check_fenced()

    def _note_logs(self) -> None:
        for tp, part in self.sim.cluster.partitions.items():
            for replica in part.replicas.values():
                if replica.lead is not None:
                    self.lso_seen[tp] = max(self.lso_seen.get(tp, 0), replica.lso)
            log = part.log
            seen = self._aborted_seen.get(tp, 0)
            if len(log.aborted) > seen:
                for pid, first, marker in log.aborted[seen:]:
                    for batch in log.batches_from(first, marker):
                        if batch.producer_id == pid and not batch.control:
                            self.aborted_ids.update(_ids(batch, first, marker))
                self._aborted_seen[tp] = len(log.aborted)

    def _check_consumer(self, consumer) -> None:  # type: ignore[no-untyped-def]
        for tp, position in consumer.positions.items():
            top = self.lso_seen.get(tp, 0)
            self.expect(
                position <= top,
                f"{consumer.id} {tp[0]}-{tp[1]}: read_committed position {position} is above "
                f"the last stable offset {top}",
            )
        seen = self._processed_seen.get(consumer.id, (0, 0))
        bad = [m for m in consumer.processed.since(seen) if m in self.aborted_ids]
        self.expect(
            not bad,
            f"{consumer.id}: read_committed consumer processed aborted records {bad[:5]}",
        )
        self._processed_seen[consumer.id] = consumer.processed.mark()

    def _check_fenced(self) -> None:
        for producer in self.sim.producers:
            txn = producer.txn
            if txn is None or txn.state != "FATAL_ERROR":
                continue
            sent = self._fenced_sent.setdefault(txn, producer.sender.batches_sent)
            self.expect(
                producer.sender.batches_sent == sent,
                f"{producer.spec.id}: fenced ({txn.fatal}), yet it sent another batch",
            )


def _ids(batch: Batch, first: int, marker: int) -> list[int]:
    lo = max(first, batch.base) - batch.base
    hi = min(marker, batch.end) - batch.base
    return list(batch.msgs[lo:hi])
