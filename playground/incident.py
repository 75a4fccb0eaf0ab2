"""Incident templates (issue 12): a short form that writes a replication incident as a
scenario (the warnings any run gets when its story is not told yet are `page_facts`').

The form: brokers, the topic's partitions, replication factor, `min.insync.replicas`,
the producer's records per second, `acks`, unclean election, idempotence, the group's
consumers, their processing time per record, commit mode and `auto.offset.reset`,
and the fault — the leader dies, a follower is slow and then the leader dies, or the leader
is cut off from the cluster (a network partition). The scenario's duration covers the failover (the
controller fences a silent broker after `broker.session.timeout.ms`, 9 s, and elects a
new leader), the old leader's return, and the consumer catching up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.views.decorators.http import require_http_methods

from playground.page_facts import BROKER_SESSION_MS
from simcore import Scenario, ScenarioError, parse_scenario
from simcore.scenario.parse import MAX_CONSUMERS as SCENARIO_MAX_CONSUMERS

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
# The topic's partitions: the dead leader (broker-0) leads one in `brokers` of them (replicas
# are placed round-robin), the others keep serving. Up to simcore's 64: a wide topic's page
# opens on at most 8 partitions, those the fault touched first (focus.py, issue 16).
MAX_PARTITIONS = 64
# A real topic's shape (issue 16): up to 20,000 keyed records/s, what the production topic
# built-in plays. Measured through the web's job with its caps: 6 brokers, 60 partitions,
# RF 3, 6 consumers, 20,000 records/s (400 k records), the leader dying: 3.2 s, 249 MB.
MAX_RATE_PER_S = 20_000
MAX_CONSUMERS = SCENARIO_MAX_CONSUMERS  # a group's members: simcore's cap on a scenario's
MAX_PROCESSING_MS = 1_000
IDEMPOTENCE = ("default", "true", "false")

FAULT_AT_MS = 5_000  # the fault strikes once the consumer reads (initial rebalance: ~3 s)
DOWN_MS = 10_000  # how long the dead or cut-off leader stays away
SLOW_DELAY_MS = 2_000  # the slow followers' extra fetch time
RATE_PER_S = 20  # the default: a trickle, so that every record can be followed
PROCESSING_MS = 5  # the default: each record takes the consumer 5 ms
RECOVERY_MS = 15_000  # after the old leader is back: catch-up, commits, a last rebalance


@dataclass(frozen=True)
class Choices:
    brokers: int = 3
    partitions: int = 1
    replication_factor: int = 3
    min_insync_replicas: int = 1
    rate_per_s: int = RATE_PER_S
    consumers: int = 1
    processing_ms: int = PROCESSING_MS
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
    partitions = _int(form, "partitions", 1, 1, MAX_PARTITIONS)
    rf = _int(form, "replication_factor", min(3, brokers), 1, brokers)
    min_isr = _int(form, "min_insync_replicas", 1, 1, rf)
    return Choices(
        brokers=brokers,
        partitions=partitions,
        replication_factor=rf,
        min_insync_replicas=min_isr,
        rate_per_s=_int(form, "rate_per_s", RATE_PER_S, 1, MAX_RATE_PER_S),
        consumers=_int(form, "consumers", 1, 1, MAX_CONSUMERS),
        processing_ms=_int(form, "processing_ms", PROCESSING_MS, 0, MAX_PROCESSING_MS),
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
    # partition 0's first replica leads at the start, as it does partitions brokers, 2 × brokers…
    leader = "broker-0"
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
    messages = c.rate_per_s * (FAULT_AT_MS + DOWN_MS + 5_000) // 1000
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
                "partitions": c.partitions,
                "replication_factor": c.replication_factor,
                "config": topic_config,
            }
        ],
        "producers": [
            {
                "id": "p1",
                "topic": "orders",
                "messages": messages,
                "rate_per_s": c.rate_per_s,
                "key": "order-{i}",
                "value": "Order #{i}",
                "config": producer_config,
            }
        ],
        "consumers": [
            {
                "id": f"c{n}",
                "group": "billing",
                "topics": ["orders"],
                "processing_ms": c.processing_ms,
                "commit": c.commit,
                "config": consumer_config,
            }
            for n in range(1, c.consumers + 1)
        ],
        "faults": _faults(c),
    }
    return parse_scenario(source)


def _description(c: Choices) -> str:
    return (
        f"Written by the incident form: {FAULTS[c.fault]} at {FAULT_AT_MS} ms"
        f" ({DOWN_MS // 1000} s away), {c.brokers} brokers, {c.partitions} partition"
        f"{'' if c.partitions == 1 else 's'}, replication factor"
        f" {c.replication_factor}, min.insync.replicas {c.min_insync_replicas},"
        f" {c.rate_per_s:,} keyed records/s, acks={c.acks},"
        f" unclean election {'on' if c.unclean else 'off'}, idempotence {c.idempotence},"
        f" {c.consumers} consumer{'' if c.consumers == 1 else 's'} at {c.processing_ms} ms a"
        f" record, commit {c.commit}, auto.offset.reset={c.reset}. The run lasts"
        f" {duration_ms() // 1000} s: the controller fences the silent leader after"
        f" broker.session.timeout.ms ({BROKER_SESSION_MS // 1000} s) and elects a new one;"
        " the old leader returns and the consumer catches up."
    )


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
        "max_partitions": MAX_PARTITIONS,
        "max_rate": MAX_RATE_PER_S,
        "max_consumers": MAX_CONSUMERS,
        "max_processing_ms": MAX_PROCESSING_MS,
    }
    if request.method != "POST":
        return render(request, "playground/incident.html", context)
    try:
        built = scenario(choices(request.POST))
    except ScenarioError as err:
        context["error"] = scenario_error_payload(err)
        return render(request, "playground/incident.html", context, status=422)
    return redirect(request, reverse("scenario", args=[scenarios.save(built)]))
