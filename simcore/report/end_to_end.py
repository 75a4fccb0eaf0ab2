"""The end-to-end ledger of consume-transform-produce pipelines: for each input record in
the input topic's log, how many results a read_committed reader of the output topic sees
— exactly once, never, or more than once (duplicates).

A result is visible when its batch is in the output log and not part of an aborted
transaction (a read_committed reader skips those; a pipeline without transactions writes
no transactions, so all its results are visible). Each result knows its input
(``OnDemandProducer.sources``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from simcore.run.simulation import Simulation

SHOWN_IDS = 50  # per outcome, the first input ids listed


def end_to_end(sim: Simulation) -> dict[str, Any] | None:
    if not sim.pipelines:
        return None
    out: dict[str, Any] = {}
    for pipeline in sim.pipelines:
        consumer, output = pipeline.consumer, pipeline.output
        results: Counter[int] = Counter()
        aborted_results = 0
        base, sources = output.msg_base, output.sources
        for part in sim.cluster.partitions.values():
            if part.topic != output.spec.topic:
                continue
            log = part.log
            for batch in log.batches:
                if batch.control or batch.producer != output.spec.id:
                    continue
                if _aborted(log.aborted, batch.producer_id, batch.base):
                    aborted_results += batch.count
                    continue
                results.update(sources[m - base] for m in batch.msgs)
        ids: list[int] = []
        for part in sim.cluster.partitions.values():
            if part.topic not in consumer.spec.topics:
                continue
            for batch in part.log.batches:
                if batch.control or _aborted(part.log.aborted, batch.producer_id, batch.base):
                    continue
                ids.extend(batch.msgs)
        ids.sort()
        names = _namer(sim)
        once = [m for m in ids if results[m] == 1]
        never = [m for m in ids if results[m] == 0]
        twice = [m for m in ids if results[m] > 1]
        out[consumer.id] = {
            "output": output.spec.topic,
            "mode": "exactly-once" if pipeline.exactly_once else "at-least-once",
            "transactional_id": pipeline.spec.transactional_id,
            "inputs": len(ids),
            "exactly_once": len(once),
            "never": len(never),
            "more_than_once": len(twice),
            "duplicate_results": sum(results[m] - 1 for m in twice),
            "aborted_results": aborted_results,
            "never_ids": [names(m) for m in never[:SHOWN_IDS]],
            "duplicate_ids": [names(m) for m in twice[:SHOWN_IDS]],
            "commits": pipeline.commits,
            "aborts": pipeline.aborts,
        }
    return out


def _aborted(index: list[tuple[int, int, int]], producer_id: int, base: int) -> bool:
    return any(pid == producer_id and first <= base < end for pid, first, end in index)


def _namer(sim: Simulation) -> Callable[[int], str]:
    """A message id's name as the ledger writes it: producer#index."""
    bases = sorted((p.msg_base, p.spec.id) for p in sim.producers)

    def name(msg: int) -> str:
        owner, start = bases[0][1], bases[0][0]
        for b, pid in bases:
            if b <= msg:
                owner, start = pid, b
        return f"{owner}#{msg - start}"

    return name
