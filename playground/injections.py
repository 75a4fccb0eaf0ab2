"""The "at this step" buttons: a fault or a change inserted into the scenario at `at_ms`.

Each button posts `action`, `target`, `at_ms` and its own numbers; `inject()` returns the
scenario with the change written in, validated again by simcore. Everything a button
writes is marked `injected: true` (a fault, an added consumer, a processing or rate change),
so the new run's event log tags it. The page then replays the new scenario and compares it
with the old one: a deterministic run is the same up to `at_ms`, so the difference is the
change's doing. A problem with the form raises ScenarioError naming the form field; a
value simcore rejects raises its own ScenarioError, naming the scenario path
(`faults[3].delay_ms`, `consumers[0].processing_changes[1].at_ms`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from playground.numbers import MAX_DIGITS, parse_int
from playground.scenarios import source_of
from simcore import Scenario, ScenarioError, parse_scenario
from simcore.scenario.parse import MAX_PROCESSING_MS

CRASH_RESTART_AFTER_MS = 1000
SLOWDOWN_FACTOR = 5
SLOWDOWN_MIN_PROCESSING_MS = 50  # ×5 of 0 ms is still 0: a slow consumer takes some time
BURST_FACTOR = 5
BURST_MS = 5000

Source = dict[str, Any]


@dataclass(frozen=True)
class Action:
    kind: str  # what `target` names: consumer, broker or producer
    params: tuple[str, ...]  # optional numeric form fields, in ms
    apply: Callable[[Source, str, int, dict[str, int | None]], None]
    says: str  # the change in words, for the new run's title: {target}, {at}


def _fault(action: str, target: str, at: int, **fields: int | None) -> dict[str, Any]:
    extra = {k: v for k, v in fields.items() if v is not None}
    return {"at_ms": at, "action": action, "target": target, **extra, "injected": True}


def _crash(source: Source, target: str, at: int, p: dict[str, int | None]) -> None:
    restart = p.get("restart_after_ms")
    restart = CRASH_RESTART_AFTER_MS if restart is None else restart
    source.setdefault("faults", []).append(_fault("crash", target, at, restart_after_ms=restart))


def _stop(source: Source, target: str, at: int, p: dict[str, int | None]) -> None:
    source.setdefault("faults", []).append(_fault("stop", target, at))


def _add_consumer(source: Source, target: str, at: int, p: dict[str, int | None]) -> None:
    source["consumers"].append(_copy_of(source, target, _next_id(source, target), at))


def _slow_consumer(source: Source, target: str, at: int, p: dict[str, int | None]) -> None:
    """From `at_ms` on, each record takes 5× the consumer's processing time at that moment
    (at least 50 ms, at most simcore's maximum). The consumer keeps running: no rebalance.
    A change the scenario already had at that same moment is replaced; later ones stay."""
    consumer = next(c for c in source["consumers"] if c["id"] == target)
    changes = consumer.get("processing_changes", [])
    slower = max(_processing_at(consumer, at) * SLOWDOWN_FACTOR, SLOWDOWN_MIN_PROCESSING_MS)
    change = {"at_ms": at, "processing_ms": min(slower, MAX_PROCESSING_MS), "injected": True}
    kept = [c for c in changes if c["at_ms"] != at]
    consumer["processing_changes"] = sorted([*kept, change], key=lambda c: c["at_ms"])


def _processing_at(consumer: Source, at: int) -> int:
    """The consumer's processing time per record at `at` (its schedule of changes included)."""
    processing = int(consumer.get("processing_ms", 0))
    for change in sorted(consumer.get("processing_changes", []), key=lambda c: c["at_ms"]):
        if change["at_ms"] <= at:
            processing = int(change["processing_ms"])
    return processing


def _kill_broker(source: Source, target: str, at: int, p: dict[str, int | None]) -> None:
    source.setdefault("faults", []).append(
        _fault("kill_broker", target, at, restart_after_ms=p.get("restart_after_ms"))
    )


def _isolate_broker(source: Source, target: str, at: int, p: dict[str, int | None]) -> None:
    source.setdefault("faults", []).append(
        _fault("isolate_broker", target, at, duration_ms=p.get("duration_ms"))
    )


def _slow_follower(source: Source, target: str, at: int, p: dict[str, int | None]) -> None:
    delay = p.get("delay_ms")
    if delay is None:
        raise ScenarioError("delay_ms", "is required: how much later each follower fetch ends")
    source.setdefault("faults", []).append(
        _fault("slow_follower", target, at, delay_ms=delay, duration_ms=p.get("duration_ms"))
    )


def _burst(source: Source, target: str, at: int, p: dict[str, int | None]) -> None:
    """×5 the producer's rate from `at_ms` for 5 s, then its own schedule again. Every entry
    the burst writes (its start, the scenario's own changes inside it ×5, the way back) is
    marked injected."""
    producer = next(x for x in source["producers"] if x["id"] == target)
    changes = sorted(producer.get("rate_changes", []), key=lambda c: c["at_ms"])
    end = min(at + BURST_MS, int(source.get("duration_ms", 30_000)))
    kept = [c for c in changes if not at <= c["at_ms"] < end]
    inside = [
        {"at_ms": c["at_ms"], "rate_per_s": c["rate_per_s"] * BURST_FACTOR, "injected": True}
        for c in changes
        if at <= c["at_ms"] < end
    ]
    burst = [_injected_rate(at, _rate_at(producer, changes, at) * BURST_FACTOR)]
    back = [_injected_rate(end, _rate_at(producer, changes, end))] if end > at else []
    producer["rate_changes"] = sorted(kept + burst + inside + back, key=lambda c: c["at_ms"])


def _injected_rate(at: int, rate: Any) -> dict[str, Any]:
    return {"at_ms": at, "rate_per_s": rate, "injected": True}


def _rate_at(producer: Source, changes: list[dict[str, Any]], at: int) -> Any:
    rate = producer["rate_per_s"]
    for change in changes:
        if change["at_ms"] <= at:
            rate = change["rate_per_s"]
    return rate


ACTIONS: Mapping[str, Action] = {
    "crash": Action("consumer", ("restart_after_ms",), _crash, "{target} crashes at {at} ms"),
    "stop": Action("consumer", (), _stop, "{target} closes at {at} ms"),
    "add_consumer": Action(
        "consumer", (), _add_consumer, "a consumer like {target} joins at {at} ms"
    ),
    "slow_consumer": Action("consumer", (), _slow_consumer, "{target} slows down ×5 at {at} ms"),
    "kill_broker": Action(
        "broker", ("restart_after_ms",), _kill_broker, "{target} dies at {at} ms"
    ),
    "isolate_broker": Action(
        "broker", ("duration_ms",), _isolate_broker, "{target} is cut off at {at} ms"
    ),
    "slow_follower": Action(
        "broker",
        ("delay_ms", "duration_ms"),
        _slow_follower,
        "{target}'s followers slow at {at} ms",
    ),
    "burst_producer": Action("producer", (), _burst, "{target} bursts ×5 at {at} ms"),
}


def targets(scenario: Scenario, kind: str) -> list[str]:
    if kind == "consumer":
        return [c.id for c in scenario.consumers]
    if kind == "producer":
        return [p.id for p in scenario.producers]
    return [f"broker-{n}" for n in range(scenario.brokers)]


def inject(scenario: Scenario, form: Mapping[str, str]) -> Scenario:
    """The scenario with the form's action written in at `at_ms`."""
    name = form.get("action", "")
    action = ACTIONS.get(name)
    if action is None:
        raise ScenarioError("action", f"unknown action {name!r}", allowed=", ".join(ACTIONS))
    at = _required_ms(form, "at_ms")
    target = form.get("target", "")
    allowed = targets(scenario, action.kind)
    if target not in allowed:
        raise ScenarioError(
            "target",
            f"no {action.kind} {target!r} in this scenario",
            allowed=", ".join(allowed) or "none",
        )
    if name in ("add_consumer", "slow_consumer"):
        _refuse_retry_listener(scenario, target)
    params = {field: _optional_ms(form, field) for field in action.params}
    source = source_of(scenario)
    action.apply(source, target, at, params)
    source["name"] = titled(str(source.get("name", "")), action.says.format(target=target, at=at))
    return parse_scenario(source)


def _refuse_retry_listener(scenario: Scenario, target: str) -> None:
    """A retry topic's listener is generated from its main consumer's processing block:
    copying or slowing it alone is not something the scenario file can say."""
    spec = next(c for c in scenario.consumers if c.id == target)
    if spec.retry_listener:
        main = [c.id for c in scenario.consumers if not c.retry_listener]
        message = (
            f"{target!r} is a retry topic's listener, generated from a consumer's processing"
            " block; change that consumer instead"
        )
        raise ScenarioError("target", message, allowed=", ".join(main))


TITLE_MAX = 200  # simcore's limit on a scenario's name


def titled(name: str, change: str) -> str:
    """The new run's title: its parent's, and what the button changed — a compare page and
    the new page then tell the runs apart ("… — c1 crashes at 4010 ms"; a second change
    adds "; …"). The parent's part is shortened if the whole would be too long."""
    joiner = "; " if " — " in name else " — "
    room = TITLE_MAX - len(joiner) - len(change)
    if len(name) > room:
        name = name[: max(0, room - 1)].rstrip() + "…"
    return f"{name}{joiner}{change}"


def _required_ms(form: Mapping[str, str], field: str) -> int:
    """A whole number; simcore checks its bounds, naming the scenario path it went to."""
    widest = 10**MAX_DIGITS - 1
    return parse_int(form.get(field), field, minimum=-widest, maximum=widest)


def _optional_ms(form: Mapping[str, str], field: str) -> int | None:
    """Blank means "not set": no restart, no end to the isolation."""
    return _required_ms(form, field) if (form.get(field) or "").strip() else None


def _copy_of(source: Source, target: str, new_id: str, start_ms: int) -> Source:
    """A new consumer like `target` is at `start_ms` (group, topics, client, config, its
    processing time then and its changes still to come), starting at `start_ms` and marked
    injected: its start is tagged in the event log."""
    original = next(c for c in source["consumers"] if c["id"] == target)
    copy = {**original, "id": new_id, "start_ms": start_ms}
    copy.pop("config", None)
    config = dict(original.get("config") or {})
    config.pop("group.instance.id", None)  # two live members may not share a static id
    if config:
        copy["config"] = config
    changes = original.get("processing_changes")
    if changes:  # the copy starts at today's pace; earlier changes are the original's past
        copy["processing_ms"] = _processing_at(original, start_ms)
        later = [dict(c) for c in changes if c["at_ms"] > start_ms]
        if later:
            copy["processing_changes"] = later
        else:
            copy.pop("processing_changes")
    copy.pop("injected", None)
    copy["injected"] = True  # last, so the comparison's JSON reads id, group, …, injected
    return copy


def _taken(source: Source) -> set[str]:
    return {x["id"] for x in source.get("producers", []) + source["consumers"]}


def _next_id(source: Source, base: str) -> str:
    """c1 → c2, or the next free number; an id without a number gets "-2", "-3", …"""
    taken = _taken(source)
    match = re.fullmatch(r"(.*?)(\d+)", base)
    stem, number = (match.group(1), int(match.group(2))) if match else (f"{base}-", 1)
    number += 1
    while f"{stem}{number}" in taken:
        number += 1
    return f"{stem}{number}"
