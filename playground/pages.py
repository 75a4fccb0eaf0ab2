"""The pages a visitor reads: the gallery, a scenario (its player and panels), two runs
compared, and one message's story. Each renders the full page, or only its partial when
`request.htmx` is set; bad input is shown on the page, never a 500.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_safe

from playground import caching, outcome, runner, scenarios, variants
from playground.errors import error_page, scenario_error_payload
from playground.lookup import is_htmx, scenario_or_404
from playground.markup import first_paragraph, render_inline
from playground.numbers import parse_int
from playground.panels import cached_page, kept_seconds, page_context, run_context
from simcore import ScenarioError
from simcore.scenario.courses import Course, courses
from simcore.scenario.parse import MAX_DURATION_MS


@require_safe
def gallery(request: HttpRequest) -> HttpResponse:
    course = courses()[GALLERY_COURSE]
    sections = gallery_sections(course)
    context = {
        "sections": sections,
        "course": course,
        "count": sum(len(s["items"]) for s in sections),
    }
    return render(request, "playground/gallery.html", context)


GALLERY_COURSE = "kafka-semantics"  # the course whose chapters group the gallery


def gallery_sections(course: Course) -> list[dict[str, Any]]:
    """Every built-in, grouped under the course's chapters in its order; a built-in the
    course leaves out comes last, under "More scenarios", so none is ever hidden."""
    cards = {
        name: {
            "slug": slug,
            "name": sc.name,
            "summary": render_inline(first_paragraph(sc.description)),
        }
        for slug, (name, sc) in scenarios.builtins_by_slug().items()
    }
    sections = []
    for number, chapter in enumerate(course.chapters, 1):
        items = [cards.pop(name) for name in chapter.scenarios if name in cards]
        sections.append({"title": chapter.title, "anchor": f"chapter-{number}", "items": items})
    if cards:
        sections.append(
            {"title": "More scenarios", "anchor": "more", "items": list(cards.values())}
        )
    return sections


def _optional_number(request: HttpRequest, field: str, *, maximum: int) -> int | None:
    raw = request.GET.get(field)
    return None if raw is None else parse_int(raw, field, maximum=maximum)


def _compare_context(request: HttpRequest, slug: str) -> dict[str, Any]:
    old_slug = request.GET.get("compare", "")
    if not old_slug or old_slug == slug:
        return {}
    old = scenario_or_404(old_slug)
    old_context = run_context(old)
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
    scenario = scenario_or_404(slug)
    try:  # ?at=<ms>: where the player opens
        start_ms = _optional_number(request, "at", maximum=MAX_DURATION_MS)
    except ScenarioError as err:
        return error_page(request, scenario_error_payload(err))
    oembed_href = _oembed_href(request, slug)  # discovery: an absolute URL, on this host
    if request.GET.get("compare"):
        context = page_context(
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
        context = page_context(
            slug, scenario, start_ms=start_ms, parent=parent, oembed_href=oembed_href
        )
        return context, kept_seconds(scenario)

    key = (slug, runner.key_of(scenario), str(start_ms), "|".join(parent or ()), oembed_href)
    page = "playground/scenario.html"
    return cached_page(request, scenario, page, key, build, cache_control=caching.PAGE, weak=True)


def _oembed_href(request: HttpRequest, slug: str) -> str:
    site = f"{request.scheme}://{request.get_host()}"
    permalink = site + reverse("scenario", args=[slug])
    return f"{site}{reverse('oembed')}?{urlencode({'url': permalink, 'format': 'json'})}"


@require_safe
def compare_page(request: HttpRequest, old_slug: str, new_slug: str) -> HttpResponse:
    """Two scenarios side by side: what differs in their sources, and in their outcomes."""
    old, new = scenario_or_404(old_slug), scenario_or_404(new_slug)
    context: dict[str, Any] = {
        "slug": new_slug,
        "scenario": new,
        **run_context(new),
        "compare": {"slug": old_slug, "scenario": old, **run_context(old)},
        "labels": ("A", "B"),
    }
    context.update(_changes(context))
    context["same_seed"] = old.seed == new.seed
    template = "playground/_compare.html" if is_htmx(request) else "playground/compare.html"
    return render(request, template, context)


@require_safe
def story(request: HttpRequest, slug: str) -> HttpResponse:
    scenario = scenario_or_404(slug)
    msg_id = request.GET.get("m", "")
    run = runner.run(scenario)
    known = {m["id"] for m in run["messages"] or []}
    if msg_id not in known:
        raise Http404(f"No message {msg_id!r} in this run")
    context = {"slug": slug, "scenario": scenario, "msg_id": msg_id}
    context["events"] = runner.story(scenario, msg_id)
    template = "playground/_story.html" if is_htmx(request) else "playground/story.html"
    return render(request, template, context)
