"""Small scenario builders for the core tests (plain dicts through the public parser)."""

from __future__ import annotations

import copy
from typing import Any

import simcore

BASE: dict[str, Any] = {
    "name": "test",
    "seed": 1,
    "duration_ms": 30000,
    "brokers": 1,
    # a lone consumer should not wait for the group's initial delay, and a crashed one's
    # session should end quickly (6000 is the broker's group.min.session.timeout.ms)
    "broker_config": {"group.initial.rebalance.delay.ms": 0},
    "topics": [{"name": "orders", "partitions": 1, "replication_factor": 1}],
    "producers": [{"id": "p1", "topic": "orders", "messages": 3, "rate_per_s": 1000}],
    "consumers": [
        {
            "id": "c1",
            "group": "g",
            "topics": ["orders"],
            "config": {
                "auto.offset.reset": "earliest",
                "session.timeout.ms": 6000,
                "heartbeat.interval.ms": 2000,
            },
        },
    ],
    "faults": [],
}


def out_of_order(pairs: list[tuple[str, Any]]) -> int:
    """``ledger.log_counts``'s out-of-order count of a log given as ``(producer, ids)``
    pairs in log order."""
    from simcore.broker.log import Batch
    from simcore.report.ledger import log_counts

    return log_counts([Batch(-1, ids, 0, 0, producer) for producer, ids in pairs])[1]


def scenario(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    for key, value in changes.items():
        data[key] = value
    return data


def consumer(**fields: Any) -> dict[str, Any]:
    out = copy.deepcopy(BASE["consumers"][0])
    config = fields.pop("config", {})
    out.update(fields)
    out["config"] = {**out["config"], **config}
    return out


def run(data: dict[str, Any]) -> simcore.Result:
    return simcore.simulate(simcore.parse_scenario(data), check_invariants=True)


def kinds(result: simcore.Result, actor: str | None = None) -> list[str]:
    return [e[1] for e in result.events if actor is None or e[2] == actor]


def outcomes(result: simcore.Result) -> dict[str, str]:
    return {m["id"]: m["outcome"] for m in result.messages() or []}


def requested(request: Any) -> dict[tuple[str, int], int]:
    """A consumer FetchRequest's partitions and their fetch offsets, in request order (the
    request holds them as two lists: ``parts`` and ``offsets``)."""
    return dict(zip((part.tp for part in request.parts), request.offsets, strict=True))
