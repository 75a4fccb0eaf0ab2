"""Describe your cluster the way you already do (issue 12): paste a client's .properties,
a Spring Boot application.yml / .properties or a librdkafka dict into a scenario, and get
the scenario's clients back as .properties or Spring YAML. The parsing is simcore's
(`simcore.scenario.config_import`); this module is the form around it.

The warnings (real Kafka settings the playground does not model, and how a format's own
defaults were read) are shown with the new run and written into its description, so the
permalink keeps them next to the run.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_safe

from playground import outcome, runner, scenarios
from playground.errors import scenario_error_payload
from playground.export_views import file_stem
from playground.lookup import scenario_or_404
from simcore import Scenario, ScenarioError, parse_scenario
from simcore.scenario import config_import as ci
from simcore.scenario.spec import ConsumerSpec, ProducerSpec

FORMAT_LABELS = {
    "properties": "Java client .properties",
    "spring-yaml": "Spring Boot application.yml",
    "spring-properties": "Spring Boot application.properties",
    "librdkafka": "librdkafka dict (JSON or Python)",
}
DESCRIPTION_LIMIT = 5000  # simcore's limit on a scenario's description


def _targets(scenario: Scenario) -> list[tuple[str, str]]:
    out = [("", "every client of the role the file is for")]
    out += [(p.id, f"producer {p.id} ({p.client})") for p in scenario.producers]
    out += [(c.id, f"consumer {c.id} ({c.client}, group {c.group})") for c in scenario.consumers]
    return out


def _role_of(scenario: Scenario, target: str, asked: str) -> str:
    if any(p.id == target for p in scenario.producers):
        return "producer"
    if any(c.id == target for c in scenario.consumers):
        return "consumer"
    return asked


def with_warnings(source: dict[str, Any], fmt: str, warnings: list[str]) -> dict[str, Any]:
    """The description, with what the import could not model appended (within the limit)."""
    if not warnings:
        return source
    head = f"\n\n## Imported from {FORMAT_LABELS[fmt]}\n\n"
    text = str(source.get("description", "")).rstrip()
    lines: list[str] = []
    for k, warning in enumerate(warnings):
        line = f"- {warning}\n"
        rest = len(warnings) - k - 1
        tail = f"- … and {rest} more\n" if rest else ""
        if len(text) + len(head) + sum(map(len, lines)) + len(line) + len(tail) > DESCRIPTION_LIMIT:
            lines.append(f"- … and {len(warnings) - k} more\n")
            break
        lines.append(line)
    source = dict(source)
    source["description"] = (text + head + "".join(lines)).strip()
    return source


@require_http_methods(["GET", "HEAD", "POST"])
def import_config(request: HttpRequest, slug: str) -> HttpResponse:
    scenario = scenario_or_404(slug)
    context: dict[str, Any] = {
        "slug": slug,
        "scenario": scenario,
        "formats": FORMAT_LABELS.items(),
        "targets": _targets(scenario),
        "form": request.POST if request.method == "POST" else {},
        "exports": config_exports(slug, scenario),
    }
    if request.method != "POST":
        return render(request, "playground/import.html", context)
    fmt = request.POST.get("format", "")
    target = request.POST.get("target", "") or None
    role = request.POST.get("role", "consumer")
    try:
        imported = ci.read(
            request.POST.get("config", ""), fmt, _role_of(scenario, target or "", role)
        )
        source, warnings = ci.apply(scenario.source, imported, target)
        changed = parse_scenario(with_warnings(source, fmt, warnings))
    except ScenarioError as err:
        context["error"] = scenario_error_payload(err)
        return render(request, "playground/import.html", context, status=422)
    new_slug = scenarios.save(changed, parent=slug)
    run = runner.run(changed)
    context.update(
        imported=True,
        warnings=warnings,
        new_slug=new_slug,
        new_url=reverse("scenario", args=[new_slug]),
        headline=outcome.headline(run) if not run["error"] else None,
        run_error=run["error"],
    )
    return render(request, "playground/import.html", context)


def config_exports(slug: str, scenario: Scenario) -> list[dict[str, str]]:
    clients: list[ProducerSpec | ConsumerSpec] = [*scenario.producers, *scenario.consumers]
    links = [
        {
            "url": reverse("client_config", args=[slug, f"{c.id}.properties"]),
            "name": f"{c.id}.properties",
        }
        for c in clients
    ]
    links.append(
        {"url": reverse("client_config", args=[slug, "application.yml"]), "name": "application.yml"}
    )
    return links


@require_safe
def client_config(request: HttpRequest, slug: str, name: str) -> HttpResponse:
    """A client's .properties (`<id>.properties`) or Spring YAML (`application.yml`)."""
    scenario = scenario_or_404(slug)
    try:
        if name == "application.yml":
            text, kind = ci.to_spring_yaml(scenario), "application/yaml; charset=utf-8"
        elif name.endswith(".properties"):
            text, kind = (
                ci.to_properties(scenario, name.removesuffix(".properties")),
                "text/plain; charset=utf-8",
            )
        else:
            raise ScenarioError(
                "file", f"unknown: {name[:40]!r}", allowed="<client id>.properties, application.yml"
            )
    except ScenarioError as err:
        from playground.errors import error_page

        return error_page(request, scenario_error_payload(err), status=404)
    response = HttpResponse(text, content_type=kind)
    stem, suffix = name.rsplit(".", 1)
    filename = f"{file_stem(scenario.name)}-{file_stem(stem)}.{suffix}"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
