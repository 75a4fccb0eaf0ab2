"""The processing ledger (issue 15): per application, what its error handling did and
what its sink saw — each input applied once, twice or more, or never — counted over the
inputs in the final logs of the application's main topics."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from simcore.consumer.processing import App, Sink

if TYPE_CHECKING:
    from simcore.run.simulation import Simulation


def processing_ledger(sim: Simulation) -> dict[str, Any] | None:
    """None when no consumer has a ``processing:`` block (the summary is then as before)."""
    world = sim.processing
    if world is None:
        return None
    out: dict[str, Any] = {}
    for name in sorted(world.apps):
        app = world.apps[name]
        inputs = inputs_of(sim, app)
        out[name] = _handling(app) | {"inputs": _outcomes(app, inputs)}
        if app.sink is not None:
            out[name]["sink"] = _sink(app.sink, inputs)
    return out


def inputs_of(sim: Simulation, app: App) -> list[int]:
    """The input message ids: in the final logs of the main listener's topics."""
    topics = {
        t
        for c in sim.consumers
        if c.spec.processing is not None
        and c.spec.processing.app == app.name
        and c.spec.processing.stage == 0
        for t in c.spec.topics
    }
    return [
        msg
        for part in sim.cluster.partition_list
        if part.topic in topics
        for batch in part.log.batches
        for msg in batch.msgs
    ]


def _handling(app: App) -> dict[str, Any]:
    spec = app.spec
    return {
        "on_failure": spec.on_failure,
        "max_attempts": spec.max_attempts if spec.on_failure != "retry_topics" else None,
        "retry_delays_ms": list(spec.retry_delays),
        "attempts": sum(app.attempts.values()),
        "failed_attempts": app.failed_attempts,
        "retries_in_place": app.retried,
        "forwarded_to_retry_topics": dict(sorted(app.forwarded.items())),
        "dead_lettered": len(app.dead_lettered),
        "skipped": len(app.skipped),
    }


def _outcomes(app: App, inputs: list[int]) -> dict[str, int]:
    """Each input's end: succeeded (at least one attempt did), dead-lettered, skipped
    (logged and dropped), or pending (unread, waiting in a retry topic, or stuck)."""
    dead, skipped = set(app.dead_lettered), set(app.skipped)
    counts = {"total": len(inputs), "succeeded": 0, "dead_lettered": 0, "skipped": 0, "pending": 0}
    for msg in inputs:
        if app.succeeded.get(msg):
            counts["succeeded"] += 1
        elif msg in dead:
            counts["dead_lettered"] += 1
        elif msg in skipped:
            counts["skipped"] += 1
        else:
            counts["pending"] += 1
    return counts


def _sink(sink: Sink, inputs: list[int]) -> dict[str, Any]:
    times = [sink.applied.get(msg, 0) for msg in inputs]
    return {
        "kind": sink.kind,
        "writes": sink.writes,
        "rows": sink.rows,
        "applied_once": times.count(1),
        "applied_twice_or_more": sum(1 for t in times if t >= 2),
        "never_applied": times.count(0),
        "dedup_hits": sink.dedup_hits,
        "key_order_violations": key_order_violations(sink),
    }


def key_order_violations(sink: Sink) -> int:
    """Inputs that reached the sink after a later input of the same key (a higher offset
    of the same partition): the reordering retry topics cause. Null keys are not ordered."""
    latest: dict[tuple[str, str, int], int] = {}
    count = 0
    for key, (topic, partition, offset) in sink.order:
        if key is None:
            continue
        slot = (key, topic, partition)
        if offset < latest.get(slot, -1):
            count += 1
        latest[slot] = max(offset, latest.get(slot, -1))
    return count
