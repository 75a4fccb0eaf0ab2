"""Pages, HTMX partials and the JSON API.

Each view renders the full page, or only its partial when `request.htmx` is set. Bad input
never reaches a 500: a ScenarioError is shown beside the field it names (pages) or returned
as `{"error": {...}}` (API).
"""

from __future__ import annotations

import json
from typing import Any

from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from playground import outcome, runner, scenarios
from playground.errors import error_response, scenario_error_payload, scenario_error_response
from playground.markup import first_paragraph, render_markdown
from simcore import Scenario, ScenarioError, parse_scenario

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


@require_GET
def gallery(request: HttpRequest) -> HttpResponse:
    items = [
        {"slug": slug, "name": sc.name, "summary": first_paragraph(sc.description)}
        for slug, sc in scenarios.gallery()
    ]
    return render(request, "playground/gallery.html", {"items": items})


def _run_context(scenario: Scenario) -> dict[str, Any]:
    run = runner.run(scenario)
    context: dict[str, Any] = {"run": run, "run_error": run["error"]}
    if run["error"] is None:
        context["headline"] = outcome.headline(run)
        context["tables"] = outcome.tables(run)
        context["last_events"] = _last_events(run, 200)
        # Without JavaScript nobody sets "here"; the middle of the run is a fair default.
        context["default_crash_ms"] = run["frames"][-1]["t"] // 2 if run["frames"] else 0
    return context


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
        **_run_context(scenario),
    }
    context.update(extra)
    return context


def _compare_context(request: HttpRequest, slug: str) -> dict[str, Any]:
    old_slug = request.GET.get("compare", "")
    if not old_slug or old_slug == slug:
        return {}
    old = _scenario_or_404(old_slug)
    old_context = _run_context(old)
    return {"compare": {"slug": old_slug, "scenario": old, **old_context}}


@require_GET
def scenario_page(request: HttpRequest, slug: str) -> HttpResponse:
    scenario = _scenario_or_404(slug)
    context = _page_context(slug, scenario, **_compare_context(request, slug))
    if "compare" in context and not context["run_error"] and not context["compare"]["run_error"]:
        context["changes"] = outcome.differences(context["compare"]["run"], context["run"])
    return render(request, "playground/scenario.html", context)


@require_GET
@xframe_options_exempt
def embed(request: HttpRequest, slug: str) -> HttpResponse:
    scenario = _scenario_or_404(slug)
    context = {"slug": slug, "scenario": scenario, **_run_context(scenario)}
    response = render(request, "playground/embed.html", context)
    response["Content-Security-Policy"] = "frame-ancestors *"
    return response


@require_GET
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
    return _redirect(request, _permalink(scenarios.save(edited)))


@require_POST
def edit_quick(request: HttpRequest, slug: str) -> HttpResponse:
    scenario = _scenario_or_404(slug)
    source = scenarios.apply_quick_fields(scenario, request.POST)
    try:
        edited = parse_scenario(source)
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
    return _redirect(request, _permalink(scenarios.save(edited)))


@require_POST
def crash(request: HttpRequest, slug: str) -> HttpResponse:
    scenario = _scenario_or_404(slug)
    target = request.POST.get("target", "")
    try:
        crashed = scenarios.with_crash(scenario, target, request.POST.get("at_ms", ""))
    except ScenarioError as err:
        context = _page_context(slug, scenario, crash_error=scenario_error_payload(err))
        return render(request, "playground/scenario.html", context, status=422)
    return _redirect(request, _permalink(scenarios.save(crashed), compare=slug))


# --- JSON API ---------------------------------------------------------------------------------


@require_GET
def api_scenario(request: HttpRequest, slug: str) -> JsonResponse:
    try:
        scenario = scenarios.find(slug)
    except ScenarioError as err:
        return scenario_error_response(err, status=409)
    if scenario is None:
        return error_response("slug", f"no scenario with the link {slug!r}", status=404)
    run = runner.run(scenario)
    if run["error"]:
        return error_response("scenario", run["error"], status=422)
    return JsonResponse(
        {
            "slug": slug,
            "name": scenario.name,
            "source": scenarios.source_of(scenario),
            "summary": run["summary"],
        }
    )


@csrf_exempt  # a JSON body and no cookies: nothing for a cross-site form to ride on
@require_POST
def api_run(request: HttpRequest) -> JsonResponse:
    size = int(request.META.get("CONTENT_LENGTH") or 0)
    if size > MAX_BODY_BYTES:
        return error_response("body", f"is {size} bytes; the limit is {MAX_BODY_BYTES}")
    try:
        data = json.loads(request.body)
    except (ValueError, UnicodeDecodeError) as err:
        return error_response("body", f"is not valid JSON: {err}")
    try:
        scenario = parse_scenario(data)
    except ScenarioError as err:
        return scenario_error_response(err)
    run = runner.run(scenario)
    if run["error"]:
        return error_response("scenario", run["error"], status=422)
    return JsonResponse(run["summary"])
