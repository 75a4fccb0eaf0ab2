"""A batch's message ids as they leave the producer: a ``range`` while consecutive, else an
``array('q')`` (``producer/batch.py``). Keyed ids gather in a plain list while the batch is
open in the accumulator and are sealed when it is sent; a list that reached a log, an
acknowledgement or the ledger would cost an int object per id and lose the ledger's
sharing of the arrays (``kernel/ids.py``)."""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from typing import Any

import pytest

import simcore
from simcore.producer.batch import sealed


def test_sealed_ids_are_a_range_when_consecutive_else_an_array() -> None:
    assert sealed([7]) == range(7, 8)
    assert sealed([5, 6, 7]) == range(5, 8)
    scattered = sealed([5, 7, 8])
    assert type(scattered) is array and scattered.typecode == "q"
    assert list(scattered) == [5, 7, 8]


def _keyed(client: str, acks: str) -> dict[str, Any]:
    return {
        "name": "keyed ids",
        "seed": 5,
        "duration_ms": 6000,
        "brokers": 3,
        "topics": [{"name": "t", "partitions": 12, "replication_factor": 3}],
        "producers": [
            {
                "id": "p",
                "topic": "t",
                "messages": 4000,
                "rate_per_s": 2000,
                "key": "user-{i}",
                "client": client,
                "config": {"acks": acks},
            }
        ],
        "consumers": [
            {"id": "c", "group": "g", "topics": ["t"], "config": {"auto.offset.reset": "earliest"}}
        ],
        # a leader dies mid-run: retries resend batches that were sealed before
        "faults": [
            {"action": "kill_broker", "target": "broker-1", "at_ms": 1500, "restart_after_ms": 1500}
        ],
    }


def _compact(ids: Sequence[int]) -> bool:
    if type(ids) is range:
        return ids.step == 1 and len(ids) > 0
    return type(ids) is array and ids.typecode == "q" and len(ids) > 1


@pytest.mark.parametrize(
    ("client", "acks"), [("java", "all"), ("librdkafka", "all"), ("java", "0")]
)
def test_keyed_batches_leave_the_producer_as_ranges_or_arrays(client: str, acks: str) -> None:
    result = simcore.simulate(simcore.parse_scenario(_keyed(client, acks)), check_invariants=True)
    sent = result.sim.producers[0].sender.sent_ids
    logged = [
        batch.msgs
        for part in result.sim.cluster.partitions.values()
        for replica in part.replicas.values()
        for batch in replica.batches
        if not batch.control
    ]
    assert len(sent) > 100 and logged
    assert any(type(ids) is array for ids in sent)  # keys scatter ids: some are arrays
    assert all(_compact(ids) for ids in sent), "a sent batch's ids are not a range or array"
    assert all(_compact(ids) for ids in logged), "a logged batch's ids are not a range or array"
    assert all(list(ids) == sorted(ids) for ids in sent)
