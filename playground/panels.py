"""What the scenario page's panels show, built from a run: the outcome, the cluster, the
producers, the groups and the metrics at the end of the run (the player redraws them step by
step in the browser), and the whole page's context.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from playground import caching, fastpages, outcome, pagecache, runner, scenarios, variants
from playground.focus import FOCUS_OVER
from playground.markup import render_markdown
from simcore import Scenario


def run_context(scenario: Scenario) -> dict[str, Any]:
    """The run as its page shows it: without its frames (`runner.page_run`)."""
    run = runner.page_run(scenario)
    context: dict[str, Any] = {"run": run, "run_error": run["error"]}
    if run["error"] is None or run.get("partial"):  # a capped run: shown up to its stop
        last = run["last_frame"]
        context["headline"] = outcome.headline(run)
        context["run_warnings"] = run["warnings"]
        context["tables"] = outcome.tables(run)
        context["last_events"] = run["last_events"]
        # Without JavaScript nobody sets "here"; the middle of the run is a fair default.
        context["default_crash_ms"] = last["t"] // 2 if last else 0
        context["groups"] = outcome.group_figures(run)
        context["producers"] = outcome.producer_figures(run)
        context["follower_reads"] = outcome.follower_fetching(run)
        context["security"] = outcome.security_view(scenario, run)
        # a wide topic: the offsets chart above the strips (_player.html), above the fold
        context["chart_first"] = bool(last) and len(last["partitions"]) > FOCUS_OVER
    return context


def panels_context(scenario: Scenario, run: runner.RunData) -> dict[str, Any]:
    """What the cluster, producer, group and metrics panels show at the end of the run
    (the player redraws them step by step)."""
    last = run["last_frame"]
    lost_parts = [m["partition"] for m in run["lost"]]
    parts = [f"{p['topic']}-{p['partition']}" for p in (last["partitions"] if last else [])]
    return {
        "last_frame": last,
        "broker_rows": [
            {"id": b["id"], "name": f"broker-{b['id']}", "state": broker_state(b)}
            for b in (last["brokers"] if last else [])
        ],
        # the replica timeline opens on the first partition that lost an acknowledged record
        "replica_default": parts.index(lost_parts[0]) if lost_parts else 0,
        "producer_rows": producer_rows(scenario, run, last),
        "members": members(last),
        "consumer_buttons": CONSUMER_BUTTONS,
        "metrics_end": [
            {**key, "value": value}
            for key, value in zip(run["metric_keys"], last["metrics"] if last else [], strict=False)
        ],
        "variant_choices": variants.choices(scenario),
        "processing_apps": processing_apps(scenario, run),
    }


def processing_apps(scenario: Scenario, run: runner.RunData) -> list[dict[str, Any]]:
    """Per application whose processing can fail (issue 15), at the end of the run: its
    error handling's counts, its sink's ledger, and its topics — the main ones, the retry
    topics and the dead-letter topic — with their records and each group's lag."""
    summary = run.get("summary") or {}
    apps = summary.get("processing") or {}
    topics = summary.get("ledger", {}).get("topics", {})
    out = []
    for name, figures in apps.items():
        readers = [c for c in scenario.consumers if c.processing and c.processing.app == name]
        names = [t for c in readers for t in c.topics]
        names += [t for t in topics if t not in names and _error_topic(t, names)]
        rows = [
            {
                "topic": topic,
                "in_log": topics.get(topic, {}).get("in_log", 0),
                "lag": [
                    {
                        "group": r["GROUP"],
                        "partition": r["PARTITION"],
                        "committed": r["CURRENT-OFFSET"],
                        "log_end": r["LOG-END-OFFSET"],
                        "lag": r["LAG"],
                    }
                    for r in summary.get("groups", [])
                    if r["TOPIC"] == topic
                ],
            }
            for topic in names
        ]
        out.append({"name": name, "figures": figures, "topics": rows})
    return out


def _error_topic(topic: str, sources: list[str]) -> bool:
    """A dead-letter or retry topic of one of ``sources`` (its name starts with one)."""
    return any(topic.startswith((f"{s}.", f"{s}-")) for s in sources)


PALETTE_SIZE = 10  # partition colours: .part-0 … .part-9, as in static/js/lib/charts.js (colour)
CONSUMER_BUTTONS = (  # (action, label, what it does), beside "crash the consumer here"
    ("stop", "remove", "a graceful close(): it commits and leaves the group"),
    ("slow_consumer", "slow down ×5", "from now on each record takes 5× as long (≥ 50 ms)"),
    ("add_consumer", "add a consumer", "another consumer like this one joins the group now"),
)
PRODUCER_CELLS = (  # (column, where the value is: the frame's producers or produce counts)
    ("in_flight", "frame"),
    ("queued_batches", "frame"),
    ("sends", "counts"),
    ("retries", "counts"),
    ("acks", "counts"),
    ("dedup", "counts"),
    ("acked", "frame"),
    ("failed", "frame"),
)


def producer_rows(
    scenario: Scenario, run: runner.RunData, last: dict[str, Any] | None
) -> list[dict[str, Any]]:
    """The producer panel at the end of the run (static/js/producers.js updates it per step)."""
    rows = []
    for spec in scenario.producers:
        frame: dict[str, Any] = next(
            (p for p in (last or {}).get("producers", []) if p["id"] == spec.id), {}
        )
        counts = (last or {}).get("produce", {}).get(spec.id, {})
        acks = spec.acks_text
        rows.append(
            {
                "id": spec.id,
                "settings": f"acks={acks} · idempotence "
                f"{'on' if spec.enable_idempotence else 'off'} · in flight ≤ {spec.max_in_flight}"
                f" · {spec.rate_per_s:g}/s",
                "cells": [
                    (col, (frame if where == "frame" else counts).get(col, "–"))
                    for col, where in PRODUCER_CELLS
                ],
                "errors": counts.get("errors", {}),
            }
        )
    return rows


def members(last: dict[str, Any] | None) -> dict[str, list[dict[str, Any]]]:
    """Per group, its consumers and the partitions each owns, at the end (the group view)."""
    if last is None:
        return {}
    index = {f"{p['topic']}-{p['partition']}": k for k, p in enumerate(last["partitions"])}
    out: dict[str, list[dict[str, Any]]] = {}
    for consumer in last["consumers"]:
        owned = [
            f"{r['topic']}-{r['partition']}"
            for r in last["groups"]
            if r["consumer"] == consumer["id"]
        ]
        out.setdefault(consumer["group"], []).append(
            {**consumer, "partitions": [(name, index[name] % PALETTE_SIZE) for name in owned]}
        )
    return out


def broker_state(broker: dict[str, Any]) -> str:
    if not broker["alive"]:
        return "dead"
    return "fenced" if broker["fenced"] else "isolated" if broker["isolated"] else "alive"


def page_context(slug: str, scenario: Scenario, **extra: Any) -> dict[str, Any]:
    context: dict[str, Any] = {
        "slug": slug,
        "scenario": scenario,
        "description": render_markdown(scenario.description),
        "yaml_text": scenarios.to_yaml(scenario),
        "consumers": scenarios.quick_fields(scenario),
        "quick_errors": {},
        "embed_url": reverse("embed", args=[slug]),
        "parent": scenarios.parent_of(slug),
        **run_context(scenario),
    }
    if not context["run_error"] or context["run"].get("partial"):
        context.update(panels_context(scenario, context["run"]))
    context.update(extra)
    return context


def kept_seconds(scenario: Scenario) -> float | None:
    """How long a page of this run may be kept: as long as the run (None: not kept)."""
    found = runner.outcome(scenario)
    return float(found.ttl) if found.keep else None


def cached_page(
    request: HttpRequest,
    scenario: Scenario,
    template: str,
    key: tuple[str, ...],
    build: Callable[[], tuple[dict[str, Any], float | None]],
    *,
    cache_control: str,
    weak: bool = False,
) -> HttpResponse:
    """A run's page (the scenario's, or its embed): rendered once per key and template
    version (`pagecache`), sent with an ETag and `cache_control` once the run has finished
    (`caching.immutable`), or 304."""
    tag = caching.etag(template, pagecache.template_version(), *key, weak=weak)
    response = caching.immutable(
        request,
        tag,
        lambda: pagecache.render_page(request, template, key, build),
        cache_control=cache_control,
        complete=lambda: runner.finished(scenario),
    )
    if response.status_code == 200 and response.has_header("ETag"):
        fastpages.note(pagecache.page_key(template, key), tag)  # the next GET: no thread
    return response
