"""Custom courses: an instructor's own sequence of runs, made from permalinks.

The builder (`/courses/new`) takes a title, an optional description and a list, one
thing a line:

    # Commits and crashes                     a chapter title
    https://play.example/r/0123456789abcdef   a permalink, then what to watch (optional)
    /r/fedcba9876543210?at=4000 the lag stops growing here

A link is any playground permalink of a run: `/r/<slug>` (a scenario page, an edited run,
`?compare=` or `/share` after it), `/embed/<slug>`, with or without the host, or the bare
slug; `?at=<ms>` says where that run opens. The run must be stored here. Every error names
the field and, for the list, the line (`items`: "line 3: ...").

The course is stored as a row (`models.CustomCourse`) under the first 16 hex digits of the
SHA-256 of its canonical JSON: the same list always gets the same link (`/c/<id>`), and a
link's course never changes, like a permalink. A row rather than the list encoded in the
URL: with chapter titles and "what to watch" text, a 30-run course would be a URL of
several kilobytes, too long to read off a projector or to paste into chat, and one that
some proxies cut.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from playground import scenarios
from playground.models import CustomCourse
from simcore import ScenarioError
from simcore.scenario.courses import MAX_CHAPTERS, MAX_SCENARIOS
from simcore.scenario.parse import MAX_DURATION_MS

MAX_TITLE_CHARS = 120
MAX_DESCRIPTION_CHARS = 2000
MAX_WATCH_CHARS = 500
MAX_ITEMS_CHARS = 20_000
ID_LENGTH = 16
ID = re.compile(f"[0-9a-f]{{{ID_LENGTH}}}")
LINK_FORMS = (
    "/r/<slug> (a scenario page or an edited run, with or without the host and ?at=<ms>),"
    " /embed/<slug>, or the 16-hex-digit slug"
)
# the paths of a run's permalink (playground/urls.py): the slug is the second segment
_RUN_PATH = re.compile(r"^/(?:r|embed)/(?P<slug>[0-9a-f]{16})(?:/[a-z]*)?/?$")


class CourseError(Exception):
    """What the builder refuses; `payload` names the field (errors.error_payload)."""

    def __init__(self, field: str, message: str, allowed: str | None = None) -> None:
        super().__init__(message)
        self.payload = {"field": field, "message": message, "allowed": allowed}


def _text(raw: str, field: str, maximum: int, *, required: bool) -> str:
    text = " ".join(raw.split()) if field != "description" else raw.strip()
    if required and not text:
        raise CourseError(field, "is empty: give the course a title")
    if len(text) > maximum:
        raise CourseError(field, f"is {len(text)} characters; at most {maximum}")
    return text


def _link(token: str, line: int) -> tuple[str, int]:
    """(slug, at_ms) of a permalink as pasted."""
    where = f"line {line}"
    if scenarios.SLUG.fullmatch(token):
        return token, 0
    parts = urlsplit(token)
    found = _RUN_PATH.match(parts.path)
    if parts.scheme not in ("", "http", "https") or found is None:
        raise CourseError(
            "items", f"{where}: {token[:80]!r} is not a playground permalink", LINK_FORMS
        )
    at = parse_qs(parts.query).get("at", ["0"])[-1]
    if not at.isdigit() or not 0 <= int(at) <= MAX_DURATION_MS:
        raise CourseError(
            "items",
            f"{where}: ?at={at[:20]!r} is not a time in the run",
            f"a whole number of ms from 0 to {MAX_DURATION_MS}",
        )
    return found["slug"], int(at)


def _item(text: str, line: int) -> dict[str, Any]:
    token, _, watch = text.partition(" ")
    slug, at_ms = _link(token, line)
    try:
        scenario = scenarios.find(slug)
    except ScenarioError as err:
        raise CourseError("items", f"line {line}: that run no longer validates: {err}") from None
    if scenario is None:
        raise CourseError("items", f"line {line}: no run with the link /r/{slug} here")
    watch = watch.strip()
    if len(watch) > MAX_WATCH_CHARS:
        raise CourseError(
            "items",
            f"line {line}: what to watch is {len(watch)} characters; at most {MAX_WATCH_CHARS}",
        )
    return {"slug": slug, "at_ms": at_ms, "name": scenario.name, "watch": watch}


def parse(title: str, description: str, items: str) -> dict[str, Any]:
    """The course as stored, from the builder's three fields; CourseError names the field
    (and the line)."""
    source: dict[str, Any] = {
        "title": _text(title, "title", MAX_TITLE_CHARS, required=True),
        "description": _text(description, "description", MAX_DESCRIPTION_CHARS, required=False),
        "chapters": [],
    }
    if len(items) > MAX_ITEMS_CHARS:
        raise CourseError("items", f"is {len(items)} characters; at most {MAX_ITEMS_CHARS}")
    chapters: list[dict[str, Any]] = source["chapters"]
    seen: dict[str, int] = {}
    count = 0
    for number, raw in enumerate(items.splitlines(), start=1):
        text = " ".join(raw.split())
        if not text:
            continue
        if text.startswith("#"):
            if chapters and not chapters[-1]["items"]:
                raise CourseError(
                    "items", f"line {chapters[-1]['line']}: that chapter has no links"
                )
            chapter_title = text.lstrip("#").strip()
            if not chapter_title:
                raise CourseError("items", f"line {number}: the chapter title is empty")
            if len(chapter_title) > MAX_TITLE_CHARS:
                raise CourseError(
                    "items",
                    f"line {number}: the chapter title is over {MAX_TITLE_CHARS} characters",
                )
            if len(chapters) == MAX_CHAPTERS:
                raise CourseError(
                    "items", f"line {number}: too many chapters", f"at most {MAX_CHAPTERS}"
                )
            chapters.append({"title": chapter_title, "items": [], "line": number})
            continue
        if not chapters:
            raise CourseError(
                "items",
                f"line {number}: put a chapter title before the first link",
                "a line '# <chapter title>'",
            )
        item = _item(text, number)
        key = item["slug"]  # once: a room moves by run (room.js reloads on a new one)
        if key in seen:
            raise CourseError("items", f"line {number}: the same run as line {seen[key]}")
        seen[key] = number
        count += 1
        if count > MAX_SCENARIOS:
            raise CourseError("items", f"line {number}: too many runs", f"at most {MAX_SCENARIOS}")
        chapters[-1]["items"].append(item)
    if not chapters:
        raise CourseError("items", "is empty: paste a chapter title and at least one permalink")
    if not chapters[-1]["items"]:
        raise CourseError("items", f"line {chapters[-1]['line']}: that chapter has no links")
    for chapter in chapters:
        del chapter["line"]
    return source


def course_id(source: dict[str, Any]) -> str:
    canonical = json.dumps(source, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:ID_LENGTH]


def save(source: dict[str, Any]) -> str:
    """The course's id (its link is `/c/<id>`); the same course is stored once."""
    key = course_id(source)
    CustomCourse.objects.get_or_create(slug=key, defaults={"source": source})
    return key


def load(key: str) -> dict[str, Any] | None:
    """The stored course with this id, or None. An id that is not 16 hex digits is not
    looked up (PostgreSQL refuses a NUL in a query)."""
    if not ID.fullmatch(key):
        return None
    row = CustomCourse.objects.filter(slug=key).first()
    return None if row is None else dict(row.source)


def to_text(source: dict[str, Any]) -> str:
    """The builder's list for a stored course ("edit a copy")."""
    lines = []
    for chapter in source["chapters"]:
        lines.append(f"# {chapter['title']}")
        for item in chapter["items"]:
            at = f"?at={item['at_ms']}" if item["at_ms"] else ""
            lines.append(f"/r/{item['slug']}{at} {item['watch']}".rstrip())
    return "\n".join(lines) + "\n"
