"""Every course the web serves, one shape for both kinds: the repository's files
(simcore/scenario/courses.py, key = the file's name) and the instructors' own
(custom_courses, key = ``c/<id>``). The course pages, the walk through a course and the
rooms read courses only through `find`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from django.urls import reverse

from playground import custom_courses, scenarios
from simcore import builtin_scenario
from simcore.scenario.courses import courses

CUSTOM_PREFIX = "c/"  # a file's name never holds a "/"


@dataclass(frozen=True)
class Item:
    slug: str  # the run's permalink
    name: str  # the scenario's name (it may tell the outcome: hidden in a room until the reveal)
    chapter: str
    watch: str  # "what to watch" (Markdown inline), "" for none
    at_ms: int  # where the run opens


@dataclass(frozen=True)
class WebCourse:
    key: str
    title: str
    description: str  # Markdown (markup.render_markdown)
    chapters: tuple[tuple[str, tuple[Item, ...]], ...]

    @property
    def custom(self) -> bool:
        return self.key.startswith(CUSTOM_PREFIX)

    def items(self) -> list[Item]:
        return [item for _title, items in self.chapters for item in items]

    def url(self) -> str:
        if self.custom:
            return reverse("custom_course", args=[self.key.removeprefix(CUSTOM_PREFIX)])
        return reverse("course", args=[self.key])

    def step_url(self, position: int) -> str:
        """The walk's page for the scenario at `position` (0-based; the URL counts from 1)."""
        if self.custom:
            args = [self.key.removeprefix(CUSTOM_PREFIX), position + 1]
            return reverse("custom_course_step", args=args)
        return reverse("course_step", args=[self.key, position + 1])


@lru_cache(maxsize=8)
def _file_course(name: str) -> WebCourse:
    course = courses()[name]
    chapters = []
    for chapter in course.chapters:
        items = []
        for slug in chapter.scenarios:
            scenario = builtin_scenario(slug)
            link = scenarios.slug_of(scenario)
            items.append(Item(link, scenario.name, chapter.title, "", 0))
        chapters.append((chapter.title, tuple(items)))
    return WebCourse(name, course.name, course.description, tuple(chapters))


def _custom_course(course_id: str) -> WebCourse | None:
    source = custom_courses.load(course_id)
    if source is None:
        return None
    chapters = tuple(
        (
            chapter["title"],
            tuple(
                Item(i["slug"], i["name"], chapter["title"], i["watch"], i["at_ms"])
                for i in chapter["items"]
            ),
        )
        for chapter in source["chapters"]
    )
    return WebCourse(CUSTOM_PREFIX + course_id, source["title"], source["description"], chapters)


def find(key: str) -> WebCourse | None:
    """The course with this key, or None."""
    if key.startswith(CUSTOM_PREFIX):
        return _custom_course(key.removeprefix(CUSTOM_PREFIX))
    return _file_course(key) if key in courses() else None


def file_course_names() -> list[str]:
    return list(courses())
