"""Incident templates (issue 12): a short form that writes a replication incident as a
scenario, and the warnings any run gets when its story is not told yet.

The form: brokers, replication factor, `min.insync.replicas`, `acks`, unclean election,
idempotence, the consumer's commit mode and `auto.offset.reset`, and the fault — the
leader dies, a follower is slow and then the leader dies, or the leader is cut off from
the cluster (a network partition). The scenario's duration covers the failover (the
controller fences a silent broker after `broker.session.timeout.ms`, 9 s, and elects a
new leader), the old leader's return, and the consumer catching up.

The warnings (`run_warnings`) are for any run: it ends before a fault's effects have
played out (no fencing or election yet, a rebalance still running), or its headline's
loss comes from a default — records a group skipped because `auto.offset.reset=latest`
started it at the end of the log — rather than from the fault.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.views.decorators.http import require_http_methods

from simcore import Scenario, ScenarioError, parse_scenario

FAULTS = {
    "leader_dies": "the leader dies",
    "slow_follower_then_leader_dies": "the followers are slow, then the leader dies",
    "partition": "the leader is cut off from the cluster (network partition)",
}
ACKS = ("all", "1", "0")
COMMITS = {
    "auto": "auto-commit (enable.auto.commit=true)",
    "sync-per-batch": "commitSync after each poll's records",
    "sync-per-record": "commitSync after each record",
    "async": "commitAsync after each poll's records",
}
RESETS = ("latest", "earliest", "none")
IDEMPOTENCE = ("default", "true", "false")

FAULT_AT_MS = 5_000  # the fault strikes once the consumer reads (initial rebalance: ~3 s)
DOWN_MS = 10_000  # how long the dead or cut-off leader stays away
SLOW_DELAY_MS = 2_000  # the slow followers' extra fetch time
RATE_PER_S = 20
BROKER_SESSION_MS = 9_000  # broker.session.timeout.ms (Kafka's default)
RECOVERY_MS = 15_000  # after the old leader is back: catch-up, commits, a last rebalance


@dataclass(frozen=True)
class Choices:
    brokers: int = 3
    replication_factor: int = 3
    min_insync_replicas: int = 1
    acks: str = "all"
    unclean: bool = False
    idempotence: str = "default"
    commit: str = "auto"
    reset: str = "latest"
    fault: str = "leader_dies"


def _int(form: Any, field: str, default: int, low: int, high: int) -> int:
    from playground.numbers import parse_int

    raw = form.get(field)
    if raw in (None, ""):
        return default
    return parse_int(str(raw), field, minimum=low, maximum=high)


def _choice(form: Any, field: str, allowed: tuple[str, ...], default: str) -> str:
    raw = form.get(field)
    if raw in (None, ""):
        return default
    if raw not in allowed:
        shown = str(raw)[:40]
        raise ScenarioError(
            field, f"must be one of {', '.join(allowed)}, got {shown!r}", allowed=", ".join(allowed)
        )
    return str(raw)


def choices(form: Any) -> Choices:
    """The form's choices, checked field by field (ScenarioError names the field)."""
    brokers = _int(form, "brokers", 3, 1, 9)
    rf = _int(form, "replication_factor", min(3, brokers), 1, brokers)
    min_isr = _int(form, "min_insync_replicas", 1, 1, rf)
    return Choices(
        brokers=brokers,
        replication_factor=rf,
        min_insync_replicas=min_isr,
        acks=_choice(form, "acks", ACKS, "all"),
        unclean=_choice(form, "unclean", ("false", "true"), "false") == "true",
        idempotence=_choice(form, "idempotence", IDEMPOTENCE, "default"),
        commit=_choice(form, "commit", tuple(COMMITS), "auto"),
        reset=_choice(form, "reset", RESETS, "latest"),
        fault=_choice(form, "fault", tuple(FAULTS), "leader_dies"),
    )


def duration_ms() -> int:
    """Fault, fencing and election, the leader away and back, recovery."""
    return FAULT_AT_MS + max(BROKER_SESSION_MS, DOWN_MS) + RECOVERY_MS + 5_000


def _faults(c: Choices) -> list[dict[str, Any]]:
    leader = "broker-0"  # partition 0's first replica leads at the start
    faults: list[dict[str, Any]] = []
    if c.fault == "slow_follower_then_leader_dies":
        faults += [
            {
                "action": "slow_follower",
                "target": f"broker-{b}",
                "at_ms": 0,
                "delay_ms": SLOW_DELAY_MS,
                "duration_ms": FAULT_AT_MS + 1000,
            }
            for b in range(1, c.replication_factor)
        ]
    if c.fault == "partition":
        faults.append(
            {
                "action": "isolate_broker",
                "target": leader,
                "at_ms": FAULT_AT_MS,
                "duration_ms": DOWN_MS,
            }
        )
    else:
        faults.append(
            {
                "action": "kill_broker",
                "target": leader,
                "at_ms": FAULT_AT_MS,
                "restart_after_ms": DOWN_MS,
            }
        )
    return faults


def scenario(c: Choices) -> Scenario:
    """The incident as a scenario (its own validation names anything inconsistent, e.g.
    idempotence with acks=1 on the Java client)."""
    producer_config: dict[str, Any] = {"acks": c.acks}
    if c.idempotence != "default":
        producer_config["enable.idempotence"] = c.idempotence == "true"
    # latest is Kafka's default: left unset, as the naive reproduction leaves it
    consumer_config: dict[str, Any] = {} if c.reset == "latest" else {"auto.offset.reset": c.reset}
    if c.commit != "auto":
        consumer_config["enable.auto.commit"] = False
    topic_config: dict[str, Any] = {"min.insync.replicas": c.min_insync_replicas}
    if c.unclean:
        topic_config["unclean.leader.election.enable"] = True
    messages = RATE_PER_S * (FAULT_AT_MS + DOWN_MS + 5_000) // 1000
    source = {
        "name": f"Incident: {FAULTS[c.fault]} (acks={c.acks}, RF {c.replication_factor},"
        f" min.insync.replicas {c.min_insync_replicas})",
        "description": _description(c),
        "seed": 1,
        "duration_ms": duration_ms(),
        "brokers": c.brokers,
        "topics": [
            {
                "name": "orders",
                "partitions": 1,
                "replication_factor": c.replication_factor,
                "config": topic_config,
            }
        ],
        "producers": [
            {
                "id": "p1",
                "topic": "orders",
                "messages": messages,
                "rate_per_s": RATE_PER_S,
                "key": "order-{i}",
                "value": "Order #{i}",
                "config": producer_config,
            }
        ],
        "consumers": [
            {
                "id": "c1",
                "group": "billing",
                "topics": ["orders"],
                "processing_ms": 5,
                "commit": c.commit,
                "config": consumer_config,
            }
        ],
        "faults": _faults(c),
    }
    return parse_scenario(source)


def _description(c: Choices) -> str:
    return (
        f"Written by the incident form: {FAULTS[c.fault]} at {FAULT_AT_MS} ms"
        f" ({DOWN_MS // 1000} s away), {c.brokers} brokers, replication factor"
        f" {c.replication_factor}, min.insync.replicas {c.min_insync_replicas}, acks={c.acks},"
        f" unclean election {'on' if c.unclean else 'off'}, idempotence {c.idempotence},"
        f" commit {c.commit}, auto.offset.reset={c.reset}. The run lasts"
        f" {duration_ms() // 1000} s: the controller fences the silent leader after"
        f" broker.session.timeout.ms ({BROKER_SESSION_MS // 1000} s) and elects a new one;"
        " the old leader returns and the consumer catches up."
    )


# --- warnings for any run ---------------------------------------------------------------------


def _events(run: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for frame in run.get("frames", []) for e in frame.get("events", [])]


def _fault_warnings(events: list[dict[str, Any]], end_ms: int) -> list[str]:
    warnings = []
    for e in events:
        if e.get("kind") not in ("broker_down", "broker_isolated"):
            continue
        broker = e.get("actor", "")
        later = [x for x in events if x["t"] >= e["t"]]
        fenced = any(
            x.get("kind") == "broker_fenced" and f"broker-{x.get('broker')}" == broker
            for x in later
        )
        back = any(
            x.get("kind") in ("broker_up", "broker_reconnected") and x.get("actor") == broker
            for x in later
        )
        elected = any(x.get("kind") in ("leader_elected", "partition_offline") for x in later)
        if not fenced and not back:
            warnings.append(
                f"The run ends at {end_ms} ms, {end_ms - e['t']} ms after {broker} went away at"
                f" {e['t']} ms: before the controller fences it (broker.session.timeout.ms,"
                f" {BROKER_SESSION_MS} ms by default), so no new leader is elected yet."
                " Lengthen duration_ms to see the failover."
            )
        elif fenced and not elected:
            warnings.append(
                f"The run ends at {end_ms} ms, after {broker} was fenced but before a new"
                " leader is elected: lengthen duration_ms to see the failover."
            )
    open_rebalances: dict[str, int] = {}
    for e in events:
        if e.get("kind") == "rebalance_start":
            open_rebalances.setdefault(str(e.get("group")), e["t"])
        elif e.get("kind") == "rebalance_end":
            open_rebalances.pop(str(e.get("group")), None)
    for group, started in open_rebalances.items():
        warnings.append(
            f"The run ends at {end_ms} ms while group {group}'s rebalance (started at"
            f" {started} ms) is still running: lengthen duration_ms to see the consumers recover."
        )
    return warnings


def _default_loss_warnings(scenario: Scenario, run: dict[str, Any]) -> list[str]:
    ledger = run.get("summary", {}).get("ledger", {})
    lost_acked = sum(t.get("lost_acked", 0) for t in ledger.get("topics", {}).values())
    warnings = []
    for group, counts in ledger.get("groups", {}).items():
        skipped = counts.get("skipped", 0)
        if not skipped:
            continue
        members = [c for c in scenario.consumers if c.group == group]
        latest = [c for c in members if c.auto_offset_reset == "latest"]
        if not latest:
            continue
        written = any("auto.offset.reset" in (_written_config(scenario, c.id)) for c in latest)
        origin = "set in this scenario" if written else "Kafka's default, not set in this scenario"
        because = (
            ""
            if lost_acked
            else " No acknowledged record was lost: the fault itself cost nothing here."
        )
        warnings.append(
            f"{skipped} of the records counted as lost were skipped by group {group} because of"
            f" auto.offset.reset=latest ({origin}): with no committed offset the consumer"
            f" started at the end of the log, after them — not because of the fault.{because}"
            " Set auto.offset.reset: earliest to see what the fault costs."
        )
    return warnings


def _written_config(scenario: Scenario, consumer_id: str) -> dict[str, Any]:
    for entry in scenario.source.get("consumers", []):
        if isinstance(entry, dict) and entry.get("id") == consumer_id:
            config = entry.get("config") or {}
            return config if isinstance(config, dict) else {}
    return {}


def run_warnings(scenario: Scenario, run: dict[str, Any]) -> list[str]:
    """What a reader of this run should know before trusting its headline."""
    if run.get("error") and not run.get("partial"):
        return []
    frames = run.get("frames") or []
    end_ms = int(frames[-1]["t"]) if frames else 0
    end_ms = max(end_ms, scenario.duration_ms)
    return _fault_warnings(_events(run), end_ms) + _default_loss_warnings(scenario, run)


@require_http_methods(["GET", "HEAD", "POST"])
def form_view(request: Any) -> Any:
    """GET: the form; POST: the scenario, saved, and its page."""
    from django.shortcuts import render
    from django.urls import reverse

    from playground import scenarios
    from playground.errors import scenario_error_payload
    from playground.lookup import redirect

    context: dict[str, Any] = {
        "faults": FAULTS.items(),
        "acks_choices": ACKS,
        "commits": COMMITS.items(),
        "resets": RESETS,
        "idempotence_choices": IDEMPOTENCE,
        "form": request.POST if request.method == "POST" else {},
        "defaults": Choices(),
        "duration_s": duration_ms() // 1000,
    }
    if request.method != "POST":
        return render(request, "playground/incident.html", context)
    try:
        built = scenario(choices(request.POST))
    except ScenarioError as err:
        context["error"] = scenario_error_payload(err)
        return render(request, "playground/incident.html", context, status=422)
    return redirect(request, reverse("scenario", args=[scenarios.save(built)]))
