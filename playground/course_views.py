"""Course pages: a course's chapters and scenarios, in order, each linked to its permalink
(simcore/scenario/courses.py holds the courses)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from playground import scenarios
from playground.errors import error_page, error_payload
from playground.markup import first_paragraph, render_inline, render_markdown
from simcore import builtin_scenario
from simcore.scenario.courses import courses


@require_safe
def course_page(request: HttpRequest, name: str) -> HttpResponse:
    course = courses().get(name)
    if course is None:
        known = ", ".join(courses())
        payload = error_payload("course", f"no course named {name!r}", allowed=known)
        return error_page(request, payload, status=404)
    chapters = []
    for chapter in course.chapters:
        items = []
        for slug in chapter.scenarios:
            scenario = builtin_scenario(slug)
            items.append(
                {
                    "link": scenarios.slug_of(scenario),
                    "name": scenario.name,
                    "summary": render_inline(first_paragraph(scenario.description)),
                    "questions": len(scenario.questions),
                }
            )
        chapters.append({"title": chapter.title, "items": items})
    context = {
        "course": course,
        "course_name": name,
        "description": render_markdown(course.description),
        "chapters": chapters,
        "total": len(course.order()),
    }
    return render(request, "playground/course.html", context)
