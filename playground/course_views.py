"""Course pages, for the repository's courses and the instructors' own (course_catalog):

GET  /course/<name>        a file course: its chapters and scenarios, in order
GET  /course/<name>/<n>    its n-th scenario (from 1), with "previous" and "next"
GET  /courses/new          the builder: a custom course from permalinks (?from=<id>: a copy)
POST /courses/new          title, description, items → /c/<id>
GET  /c/<id>               a custom course, as /course/<name>
GET  /c/<id>/<n>           its n-th run, as /course/<name>/<n>
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_safe

from playground import caching, course_catalog, custom_courses, panels, runner
from playground.course_catalog import CUSTOM_PREFIX
from playground.errors import error_page, error_payload
from playground.lookup import scenario_or_404
from playground.markup import first_paragraph, render_inline, render_markdown
from playground.pages import _oembed_href
from simcore.scenario.courses import MAX_CHAPTERS, MAX_SCENARIOS


def _unknown(request: HttpRequest, key: str) -> HttpResponse:
    if key.startswith(CUSTOM_PREFIX):
        shown = key.removeprefix(CUSTOM_PREFIX)[:40]
        payload = error_payload(
            "course", f"no custom course {shown!r}", allowed="/c/<16 hex digits>"
        )
    else:
        known = ", ".join(course_catalog.file_course_names())
        payload = error_payload("course", f"no course named {key[:40]!r}", allowed=known)
    return error_page(request, payload, status=404)


def _overview(request: HttpRequest, key: str) -> HttpResponse:
    course = course_catalog.find(key)
    if course is None:
        return _unknown(request, key)
    chapters = []
    position = 0
    for title, items in course.chapters:
        shown = []
        for item in items:
            scenario = scenario_or_404(item.slug)
            shown.append(
                {
                    "url": course.step_url(position),
                    "link": item.slug,
                    "name": item.name,
                    "summary": render_inline(first_paragraph(scenario.description)),
                    "watch": render_inline(item.watch),
                    "questions": len(scenario.questions),
                }
            )
            position += 1
        chapters.append({"title": title, "items": shown})
    context = {
        "course": course,
        "description": render_markdown(course.description),
        "chapters": chapters,
        "total": position,
        "copy_url": f"{reverse('course_new')}?from={key.removeprefix(CUSTOM_PREFIX)}"
        if course.custom
        else "",
    }
    return render(request, "playground/course.html", context)


def _step(request: HttpRequest, key: str, number: int) -> HttpResponse:
    course = course_catalog.find(key)
    if course is None:
        return _unknown(request, key)
    items = course.items()
    if not 1 <= number <= len(items):
        payload = error_payload(
            "position", f"this course has no scenario {number}", allowed=f"1 to {len(items)}"
        )
        return error_page(request, payload, status=404)
    position = number - 1
    item = items[position]
    scenario = scenario_or_404(item.slug)
    walk: dict[str, Any] = {
        "course": course,
        "position": number,
        "total": len(items),
        "chapter": item.chapter,
        "watch": render_inline(item.watch),
        "previous": course.step_url(position - 1) if position else "",
        "next": course.step_url(position + 1) if number < len(items) else "",
    }
    oembed_href = _oembed_href(request, item.slug)

    def build() -> tuple[dict[str, Any], float | None]:
        context = panels.page_context(
            item.slug, scenario, start_ms=item.at_ms, walk=walk, oembed_href=oembed_href
        )
        return context, panels.kept_seconds(scenario)

    # rendered once per run and place in the course, as a scenario page is (panels.cached_page)
    shown = (course.key, course.title, str(number), str(len(items)), item.chapter, item.watch)
    page_key = (item.slug, runner.key_of(scenario), str(item.at_ms), *shown, oembed_href)
    page = "playground/scenario.html"
    return panels.cached_page(
        request, scenario, page, page_key, build, cache_control=caching.PAGE, weak=True
    )


@require_safe
def course_page(request: HttpRequest, name: str) -> HttpResponse:
    return _overview(request, name)


@require_safe
def course_step(request: HttpRequest, name: str, number: int) -> HttpResponse:
    return _step(request, name, number)


@require_safe
def custom_course_page(request: HttpRequest, course_id: str) -> HttpResponse:
    return _overview(request, CUSTOM_PREFIX + course_id)


@require_safe
def custom_course_step(request: HttpRequest, course_id: str, number: int) -> HttpResponse:
    return _step(request, CUSTOM_PREFIX + course_id, number)


@require_http_methods(["GET", "HEAD", "POST"])
def new_course(request: HttpRequest) -> HttpResponse:
    """The builder: a form (title, description, the list of links), then `/c/<id>`."""
    form = {"title": "", "description": "", "items": ""}
    error: dict[str, Any] | None = None
    status = 200
    if request.method == "POST":
        form = {field: request.POST.get(field, "") for field in form}
        try:
            source = custom_courses.parse(form["title"], form["description"], form["items"])
        except custom_courses.CourseError as err:
            error, status = err.payload, 400
        else:
            course_id = custom_courses.save(source)
            return HttpResponseRedirect(reverse("custom_course", args=[course_id]), status=303)
    elif request.GET.get("from"):
        copied = custom_courses.load(request.GET["from"])
        if copied is None:
            payload = error_payload(
                "from", f"no custom course {request.GET['from'][:40]!r}", "/c/<16 hex digits>"
            )
            return error_page(request, payload, status=404)
        form = {
            "title": copied["title"],
            "description": copied["description"],
            "items": custom_courses.to_text(copied),
        }
    context = {"form": form, "error": error, "limits": _limits()}
    return render(request, "playground/course_new.html", context, status=status)


def _limits() -> dict[str, Any]:
    return {
        "chapters": MAX_CHAPTERS,
        "runs": MAX_SCENARIOS,
        "title": custom_courses.MAX_TITLE_CHARS,
        "watch": custom_courses.MAX_WATCH_CHARS,
        "links": custom_courses.LINK_FORMS,
    }
