"""Courses: built-in scenarios in an order, grouped in chapters (library/courses/*.yaml).

A course file names built-ins by their slug; it is checked like a scenario, with one-line
errors naming the field (``chapters[1].scenarios[3]: no built-in scenario named ...``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from simcore.kernel.errors import ScenarioError
from simcore.scenario.builtins import builtin_scenarios
from simcore.scenario.checks import as_list, as_mapping, check_keys, get_name, get_text, join
from simcore.scenario.kafka_config import closest, describe

COURSE_DIR = Path(__file__).parent / "library" / "courses"
MAX_CHAPTERS, MAX_SCENARIOS = 20, 60


@dataclass(frozen=True)
class Chapter:
    title: str
    scenarios: tuple[str, ...]  # built-in slugs


@dataclass(frozen=True)
class Course:
    slug: str
    name: str
    description: str
    chapters: tuple[Chapter, ...]

    def order(self) -> list[str]:
        """Every scenario of the course, in order."""
        return [s for chapter in self.chapters for s in chapter.scenarios]

    def neighbours(self, scenario: str) -> tuple[str | None, str | None]:
        """(previous, next) around a scenario of the course."""
        order = self.order()
        k = order.index(scenario)
        return (order[k - 1] if k else None, order[k + 1] if k + 1 < len(order) else None)


def parse_course(slug: str, data: Any) -> Course:
    root = as_mapping(data, "course", "name, description, chapters")
    check_keys(root, "", ("name", "description", "chapters"), "course")
    known = [name for name, _ in builtin_scenarios()]
    chapters = []
    seen: set[str] = set()
    raw_chapters = as_list(root.get("chapters"), "chapters", MAX_CHAPTERS, "chapters")
    if not raw_chapters:
        raise ScenarioError("chapters", "a course needs at least one chapter")
    for index, raw in enumerate(raw_chapters):
        path = join("chapters", index)
        chapter = as_mapping(raw, path, "title, scenarios")
        check_keys(chapter, path, ("title", "scenarios"), "chapter")
        names = as_list(
            chapter.get("scenarios"), join(path, "scenarios"), MAX_SCENARIOS, "scenarios"
        )
        if not names:
            raise ScenarioError(join(path, "scenarios"), "a chapter needs at least one scenario")
        for k, name in enumerate(names):
            where = join(join(path, "scenarios"), k)
            if name not in known:
                raise ScenarioError(
                    where,
                    f"no built-in scenario named {describe(name)}",
                    allowed=", ".join(known),
                    suggestion=closest(name, known) if isinstance(name, str) else None,
                )
            if name in seen:
                raise ScenarioError(where, f"{name} is already in the course")
            seen.add(name)
        chapters.append(Chapter(get_name(chapter, "title", path), tuple(names)))
    return Course(
        slug,
        get_name(root, "name", ""),
        get_text(root, "description", "", 5000, ""),
        tuple(chapters),
    )


@lru_cache(maxsize=1)
def courses() -> dict[str, Course]:
    """The courses in simcore/scenario/library/courses/, by slug (the file name)."""
    return {
        path.stem: parse_course(path.stem, yaml.safe_load(path.read_text("utf-8")))
        for path in sorted(COURSE_DIR.glob("*.yaml"))
    }
