"""The forms that make a new run from a scenario: the YAML editor, the quick fields, the
buttons "at this step" (a fault or a change, "crash the consumer here") and "compare with…".
Each saves the new scenario and redirects to its permalink; a bad value is shown beside its
field with a 422, never a 500.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from playground import injections, runner, scenarios, variants
from playground.errors import scenario_error_payload
from playground.lookup import is_htmx, permalink, redirect, scenario_or_404
from playground.panels import page_context
from simcore import Scenario, ScenarioError, parse_scenario


def _config_error(
    request: HttpRequest, slug: str, scenario: Scenario, **errors: Any
) -> HttpResponse:
    """The config panel again, with the error beside its field; the whole page without htmx."""
    if is_htmx(request):
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
        request, "playground/scenario.html", page_context(slug, scenario, **errors), status=422
    )


@require_POST
def edit_yaml(request: HttpRequest, slug: str) -> HttpResponse:
    scenario = scenario_or_404(slug)
    text = request.POST.get("yaml", "")
    try:
        edited = scenarios.parse_text(text)
    except ScenarioError as err:
        return _config_error(
            request, slug, scenario, yaml_text=text, yaml_error=scenario_error_payload(err)
        )
    return redirect(request, permalink(scenarios.save(edited, parent=slug)))


@require_POST
def edit_quick(request: HttpRequest, slug: str) -> HttpResponse:
    scenario = scenario_or_404(slug)
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
    return redirect(request, permalink(scenarios.save(edited, parent=slug)))


def _inject(request: HttpRequest, slug: str, form: Any) -> HttpResponse:
    scenario = scenario_or_404(slug)
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
            placed=action is not None and target in injections.targets(scenario, action.kind),
        )
        context = page_context(slug, scenario, inject_error=payload)
        if form.get("action") == "crash":
            context["crash_error"] = payload
        return render(request, "playground/scenario.html", context, status=422)
    new_slug = scenarios.save(changed, parent=slug)
    runner.prefetch(changed)  # the new page's request joins this run
    return redirect(request, permalink(new_slug, compare=slug))


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
    scenario = scenario_or_404(slug)
    setting, value = request.POST.get("setting", ""), request.POST.get("value", "")
    try:
        changed = variants.variant(scenario, setting, value)
    except ScenarioError as err:
        errors = {"variant_error": scenario_error_payload(err), "variant_form": request.POST}
        if is_htmx(request):
            context = {"slug": slug, "variant_choices": variants.choices(scenario), **errors}
            return render(request, "playground/_compare_with.html", context, status=422)
        context = page_context(slug, scenario, **errors)
        return render(request, "playground/scenario.html", context, status=422)
    new_slug = scenarios.save(changed, parent=slug)
    return redirect(request, reverse("compare", args=[slug, new_slug]))
