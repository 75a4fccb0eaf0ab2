"""Pages, HTMX partials and the JSON API.

Each view renders the full page, or only its partial when `request.htmx` is set. Bad input
never reaches a 500: a ScenarioError is shown beside the field it names (pages) or returned
as `{"error": {...}}` (API).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST, require_safe
from django_htmx.http import HttpResponseClientRedirect

from playground import (
    caching,
    incident,
    injections,
    outcome,
    pagecache,
    prometheus,
    runner,
    scenarios,
    variants,
)
from playground.errors import (
    error_page,
    error_response,
    reason,
    scenario_error_payload,
    scenario_error_response,
)
from playground.markup import first_paragraph, render_inline, render_markdown
from playground.numbers import parse_int, shown
from simcore import Scenario, ScenarioError, parse_scenario
from simcore.scenario.parse import MAX_DURATION_MS

MAX_BODY_BYTES = scenarios.MAX_TEXT_BYTES


def _scenario_or_404(slug: str) -> Scenario:
    try:
        scenario = scenarios.find(slug)
    except ScenarioError as err:  # stored long ago, rejected by today's simcore
        raise Http404(f"This scenario no longer validates: {err}") from None
    if scenario is None:
        raise Http404(f"No scenario with the link {slug!r}")
    return scenario


def _redirect(request: HttpRequest, url: str) -> HttpResponse:
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return HttpResponseRedirect(url, status=303)  # type: ignore[call-arg]


def _permalink(slug: str, compare: str | None = None) -> str:
    url = reverse("scenario", args=[slug])
    return f"{url}?compare={compare}" if compare else url


# --- pages ------------------------------------------------------------------------------


@require_safe
def gallery(request: HttpRequest) -> HttpResponse:
    items = [
        {"slug": slug, "name": sc.name, "summary": render_inline(first_paragraph(sc.description))}
        for slug, sc in scenarios.gallery()
    ]
    return render(request, "playground/gallery.html", {"items": items})


def _run_context(scenario: Scenario) -> dict[str, Any]:
    run = runner.run(scenario)
    context: dict[str, Any] = {"run": run, "run_error": run["error"]}
    if run["error"] is None or run.get("partial"):  # a capped run: shown up to its stop
        context["headline"] = outcome.headline(run)
        context["run_warnings"] = incident.run_warnings(scenario, run)
        context["tables"] = outcome.tables(run)
        context["last_events"] = _last_events(run, 200)
        # Without JavaScript nobody sets "here"; the middle of the run is a fair default.
        context["default_crash_ms"] = run["frames"][-1]["t"] // 2 if run["frames"] else 0
        context["groups"] = outcome.group_figures(run)
        context["producers"] = outcome.producer_figures(run)
    return context


def _panels_context(scenario: Scenario, run: runner.RunData) -> dict[str, Any]:
    """What the cluster, producer, group and metrics panels show at the end of the run
    (the player redraws them step by step)."""
    last = run["frames"][-1] if run["frames"] else None
    lost_parts = [m["partition"] for m in run["lost"]]
    parts = [f"{p['topic']}-{p['partition']}" for p in (last["partitions"] if last else [])]
    return {
        "last_frame": last,
        "broker_rows": [
            {"id": b["id"], "name": f"broker-{b['id']}", "state": _broker_state(b)}
            for b in (last["brokers"] if last else [])
        ],
        # the replica timeline opens on the first partition that lost an acknowledged record
        "replica_default": parts.index(lost_parts[0]) if lost_parts else 0,
        "producer_rows": _producer_rows(scenario, run, last),
        "members": _members(last),
        "consumer_buttons": CONSUMER_BUTTONS,
        "metrics_end": [
            {**key, "value": value}
            for key, value in zip(run["metric_keys"], last["metrics"] if last else [], strict=False)
        ],
        "variant_choices": variants.choices(scenario),
    }


PALETTE_SIZE = 10  # partition colours: .part-0 … .part-9, as in static/js/player.js
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


def _producer_rows(
    scenario: Scenario, run: runner.RunData, last: dict[str, Any] | None
) -> list[dict[str, Any]]:
    """The producer panel at the end of the run (player.js updates the cells per step)."""
    rows = []
    for spec in scenario.producers:
        frame = next((p for p in (last or {}).get("producers", []) if p["id"] == spec.id), {})
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


def _members(last: dict[str, Any] | None) -> dict[str, list[dict[str, Any]]]:
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


def _broker_state(broker: dict[str, Any]) -> str:
    if not broker["alive"]:
        return "dead"
    return "fenced" if broker["fenced"] else "isolated" if broker["isolated"] else "alive"


def _last_events(run: runner.RunData, limit: int) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for frame in reversed(run["frames"]):
        events[:0] = frame["events"]
        if len(events) >= limit:
            break
    return events[-limit:]


def _page_context(slug: str, scenario: Scenario, **extra: Any) -> dict[str, Any]:
    context: dict[str, Any] = {
        "slug": slug,
        "scenario": scenario,
        "description": render_markdown(scenario.description),
        "yaml_text": scenarios.to_yaml(scenario),
        "consumers": scenarios.quick_fields(scenario),
        "quick_errors": {},
        "embed_url": reverse("embed", args=[slug]),
        "parent": scenarios.parent_of(slug),
        **_run_context(scenario),
    }
    if not context["run_error"] or context["run"].get("partial"):
        context.update(_panels_context(scenario, context["run"]))
    context.update(extra)
    return context


def _optional_number(request: HttpRequest, field: str, *, maximum: int) -> int | None:
    raw = request.GET.get(field)
    return None if raw is None else parse_int(raw, field, maximum=maximum)


def _compare_context(request: HttpRequest, slug: str) -> dict[str, Any]:
    old_slug = request.GET.get("compare", "")
    if not old_slug or old_slug == slug:
        return {}
    old = _scenario_or_404(old_slug)
    old_context = _run_context(old)
    return {"compare": {"slug": old_slug, "scenario": old, **old_context}}


def _changes(context: dict[str, Any]) -> dict[str, Any]:
    """The differences between `compare` (before) and this run, once both have finished."""
    old = context.get("compare")
    if not old or context["run_error"] or old["run_error"]:
        return {}
    return {
        "changes": outcome.differences(old["run"], context["run"]),
        "config_changes": variants.source_differences(old["scenario"], context["scenario"]),
    }


@require_safe
def scenario_page(request: HttpRequest, slug: str) -> HttpResponse:
    scenario = _scenario_or_404(slug)
    try:  # ?at=<ms>: where the player opens
        start_ms = _optional_number(request, "at", maximum=MAX_DURATION_MS)
    except ScenarioError as err:
        return error_page(request, scenario_error_payload(err))
    oembed_href = _oembed_href(request, slug)  # discovery: an absolute URL, on this host
    if request.GET.get("compare"):
        context = _page_context(
            slug,
            scenario,
            start_ms=start_ms,
            oembed_href=oembed_href,
            **_compare_context(request, slug),
        )
        context.update(_changes(context))
        return render(request, "playground/scenario.html", context)

    parent = scenarios.parent_of(slug)  # in the key: a test database may change it

    def build() -> tuple[dict[str, Any], float | None]:
        context = _page_context(
            slug, scenario, start_ms=start_ms, parent=parent, oembed_href=oembed_href
        )
        return context, _kept_seconds(scenario)

    key = (slug, runner.key_of(scenario), str(start_ms), "|".join(parent or ()), oembed_href)
    tag = caching.etag("page", pagecache.template_version(), *key, weak=True)
    return caching.immutable(
        request,
        tag,
        lambda: pagecache.render_page(request, "playground/scenario.html", key, build),
        cache_control=caching.PAGE,
        complete=lambda: runner.finished(scenario),
    )


def _oembed_href(request: HttpRequest, slug: str) -> str:
    site = f"{request.scheme}://{request.get_host()}"
    permalink = site + reverse("scenario", args=[slug])
    return f"{site}{reverse('oembed')}?{urlencode({'url': permalink, 'format': 'json'})}"


def _kept_seconds(scenario: Scenario) -> float | None:
    """How long a page of this run may be kept: as long as the run (None: not kept)."""
    found = runner.outcome(scenario)
    return float(found.ttl) if found.keep else None


@require_safe
def compare_page(request: HttpRequest, old_slug: str, new_slug: str) -> HttpResponse:
    """Two scenarios side by side: what differs in their sources, and in their outcomes."""
    old, new = _scenario_or_404(old_slug), _scenario_or_404(new_slug)
    context: dict[str, Any] = {
        "slug": new_slug,
        "scenario": new,
        **_run_context(new),
        "compare": {"slug": old_slug, "scenario": old, **_run_context(old)},
        "labels": ("A", "B"),
    }
    context.update(_changes(context))
    context["same_seed"] = old.seed == new.seed
    template = "playground/_compare.html" if request.htmx else "playground/compare.html"
    return render(request, template, context)


@require_safe
def story(request: HttpRequest, slug: str) -> HttpResponse:
    scenario = _scenario_or_404(slug)
    msg_id = request.GET.get("m", "")
    run = runner.run(scenario)
    known = {m["id"] for m in run["messages"] or []}
    if msg_id not in known:
        raise Http404(f"No message {msg_id!r} in this run")
    context = {"slug": slug, "scenario": scenario, "msg_id": msg_id}
    context["events"] = runner.story(scenario, msg_id)
    template = "playground/_story.html" if request.htmx else "playground/story.html"
    return render(request, template, context)


# --- edits: the config panel and "crash the consumer here" ------------------------------------


def _config_error(
    request: HttpRequest, slug: str, scenario: Scenario, **errors: Any
) -> HttpResponse:
    """The config panel again, with the error beside its field; the whole page without htmx."""
    if request.htmx:
        context = {
            "slug": slug,
            "scenario": scenario,
            "yaml_text": scenarios.to_yaml(scenario),
            "consumers": scenarios.quick_fields(scenario),
            "quick_errors": {},
            **errors,
        }
        return render(request, "playground/_config.html", context, status=422)
    return render(
        request, "playground/scenario.html", _page_context(slug, scenario, **errors), status=422
    )


@require_POST
def edit_yaml(request: HttpRequest, slug: str) -> HttpResponse:
    scenario = _scenario_or_404(slug)
    text = request.POST.get("yaml", "")
    try:
        edited = scenarios.parse_text(text)
    except ScenarioError as err:
        return _config_error(
            request, slug, scenario, yaml_text=text, yaml_error=scenario_error_payload(err)
        )
    return _redirect(request, _permalink(scenarios.save(edited, parent=slug)))


@require_POST
def edit_quick(request: HttpRequest, slug: str) -> HttpResponse:
    scenario = _scenario_or_404(slug)
    try:
        edited = parse_scenario(scenarios.apply_quick_fields(scenario, request.POST))
    except ScenarioError as err:
        payload = scenario_error_payload(err)
        consumers = scenarios.quick_fields(scenario)
        for consumer in consumers:  # show what was typed, not the old value
            for field in consumer["fields"]:
                field["value"] = request.POST.get(field["name"], field["value"])
        names = {f["name"] for c in consumers for f in c["fields"]}
        errors = {payload["field"]: payload} if payload["field"] in names else {}
        return _config_error(
            request,
            slug,
            scenario,
            consumers=consumers,
            quick_errors=errors,
            quick_error=None if errors else payload,
        )
    return _redirect(request, _permalink(scenarios.save(edited, parent=slug)))


def _inject(request: HttpRequest, slug: str, form: Any) -> HttpResponse:
    scenario = _scenario_or_404(slug)
    try:
        changed = injections.inject(scenario, form)
    except ScenarioError as err:
        payload = scenario_error_payload(err)
        action = injections.ACTIONS.get(form.get("action", ""))
        target = form.get("target", "")
        payload.update(  # so the page shows it beside the button that was pressed
            action=form.get("action"),
            target=target,
            kind=action.kind if action else None,
            placed=bool(action) and target in injections.targets(scenario, action.kind),
        )
        context = _page_context(slug, scenario, inject_error=payload)
        if form.get("action") == "crash":
            context["crash_error"] = payload
        return render(request, "playground/scenario.html", context, status=422)
    return _redirect(request, _permalink(scenarios.save(changed, parent=slug), compare=slug))


@require_POST
def inject(request: HttpRequest, slug: str) -> HttpResponse:
    """A button "at this step": a fault or change at `at_ms`; replays and compares."""
    return _inject(request, slug, request.POST)


@require_POST
def crash(request: HttpRequest, slug: str) -> HttpResponse:
    """The "crash the consumer here" button: the inject button with action=crash."""
    form = request.POST.copy()
    form["action"] = "crash"
    return _inject(request, slug, form)


@require_POST
def compare_with(request: HttpRequest, slug: str) -> HttpResponse:
    """The "compare with…" form: one setting changed everywhere it applies, both runs side
    by side."""
    scenario = _scenario_or_404(slug)
    setting, value = request.POST.get("setting", ""), request.POST.get("value", "")
    try:
        changed = variants.variant(scenario, setting, value)
    except ScenarioError as err:
        errors = {"variant_error": scenario_error_payload(err), "variant_form": request.POST}
        if request.htmx:
            context = {"slug": slug, "variant_choices": variants.choices(scenario), **errors}
            return render(request, "playground/_compare_with.html", context, status=422)
        context = _page_context(slug, scenario, **errors)
        return render(request, "playground/scenario.html", context, status=422)
    new_slug = scenarios.save(changed, parent=slug)
    return _redirect(request, reverse("compare", args=[slug, new_slug]))


def _found_and_run(slug: str) -> tuple[Any, dict[str, Any]] | HttpResponse:
    """The stored scenario behind a link and its run, or the JSON error saying why not."""
    try:
        scenario = scenarios.find(slug)
    except ScenarioError as err:
        return scenario_error_response(err, status=409)
    if scenario is None:
        return error_response("slug", f"no scenario with the link {slug!r}", status=404)
    run = runner.run(scenario)
    if run["error"]:
        return error_response("scenario", run["error"], status=422)
    return scenario, run


@require_safe
def metrics_text(request: HttpRequest, slug: str) -> HttpResponse:
    """The client metrics at one point of the run, for Prometheus (see `prometheus`)."""
    found = _found_and_run(slug)
    if isinstance(found, HttpResponse):
        return found
    _scenario, run = found
    try:
        index = prometheus.pick_frame(run["frames"], request.GET)
    except ScenarioError as err:
        return scenario_error_response(err)
    text = prometheus.exposition(run, index, slug)
    return HttpResponse(text, content_type=prometheus.CONTENT_TYPE)


# --- JSON API ---------------------------------------------------------------------------------


@require_safe
def api_scenario(request: HttpRequest, slug: str) -> HttpResponse:
    scenario = _scenario_or_404_json(slug)
    if isinstance(scenario, HttpResponse):
        return scenario

    def make() -> HttpResponse:
        found = _found_and_run(slug)
        if isinstance(found, HttpResponse):
            return found
        _scenario, run = found
        body = {
            "slug": slug,
            "name": scenario.name,
            "source": scenarios.source_of(scenario),
            "summary": run["summary"],
        }
        return JsonResponse(body)

    tag = caching.etag("api", runner.key_of(scenario))
    return caching.immutable(request, tag, make, complete=lambda: runner.finished(scenario))


def _scenario_or_404_json(slug: str) -> Scenario | HttpResponse:
    try:
        scenario = scenarios.find(slug)
    except ScenarioError as err:
        return scenario_error_response(err, status=409)
    if scenario is None:
        return error_response("slug", f"no scenario with the link {slug!r}", status=404)
    return scenario


# No CSRF token: the API takes only `Content-Type: application/json`, which a cross-site
# form cannot send (a page's script can, but only after a CORS preflight we never answer).
@csrf_exempt
@require_POST
def api_run(request: HttpRequest) -> JsonResponse:
    if request.content_type != "application/json":
        return error_response(
            "Content-Type",
            f"must be application/json, got {shown(request.content_type or '')}",
            allowed="application/json",
            status=415,
        )
    body = request.body  # the bytes received, Content-Length or not (chunked)
    if len(body) > MAX_BODY_BYTES:
        message = f"is {len(body)} bytes; the limit is {MAX_BODY_BYTES}"
        return error_response(
            "body", message, allowed=f"at most {MAX_BODY_BYTES} bytes", status=413
        )
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as err:  # a 5,000-digit number is a ValueError
        return error_response("body", f"is not valid JSON: {reason(err)}")
    except RecursionError:
        return error_response("body", "is nested too deeply")
    try:
        scenario = parse_scenario(data)
    except ScenarioError as err:
        return scenario_error_response(err)
    run = runner.run(scenario)
    if run["error"]:
        return error_response("scenario", run["error"], status=422)
    return JsonResponse(run["summary"])
