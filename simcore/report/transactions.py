"""A run's transactions for reports: per transactional.id the coordinator's view (producer
id, epoch, state, committed / aborted / timed-out transactions, where the coordinator is)
and each producer instance's (its transaction manager's state, transactions it
committed and aborted, the fatal error that stopped it); per partition of the data topics
with transactional writes: markers, aborted records and the last stable offset."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from simcore.run.simulation import Simulation


def transactions_summary(sim: Simulation) -> dict[str, Any] | None:
    coordinator = sim.cluster.transactions
    if coordinator is None:
        return None
    ids = coordinator.summary()
    for producer in sim.producers:
        txn = producer.txn
        if txn is None:
            continue
        entry = ids.setdefault(txn.transactional_id, {})
        entry.setdefault("producers", {})[producer.spec.id] = {
            "state": txn.state,
            "epoch": txn.epoch,
            "transactions": txn.number,
            "committed": txn.committed,
            "aborted": txn.aborted,
            "fatal": txn.fatal,
        }
    partitions: dict[str, Any] = {}
    for part in sim.cluster.partitions.values():
        log = part.log
        markers = [b for b in log.batches if b.control]
        if not markers and not log.open_txns:
            continue
        aborted = 0
        for pid, first, end in log.aborted:
            for batch in log.batches_from(first, end):
                if batch.producer_id == pid and not batch.control:
                    lo, hi = max(first, batch.base), min(end, batch.end)
                    aborted += max(0, hi - lo)
        partitions[part.name] = {
            "markers": len(markers),
            "aborted_records": aborted,
            "aborted_ranges": [[first, end] for _pid, first, end in log.aborted],
            "lso": log.lso,
            "hw": log.hw,
            "leo": log.leo,
        }
    return {"ids": ids, "partitions": partitions}
