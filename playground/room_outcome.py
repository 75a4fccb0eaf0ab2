"""What a participant's page leaves out until the reveal: the headline, the outcome, the
description and the run's warnings (room_views renders the page with `withhold`).

At the reveal the room sends them to everyone in one "outcome" message, just before the
revealed state (room_consumer), so 200 participants cost one rendering and one encoding;
a page that missed it asks `GET /room/<code>/outcome` (room_views). The pieces depend on
the run only: kept per run, event cap and template version in each process (the latest
KEPT), rendered once at a time (200 callers at once: one rendering), and rendered ahead
when the instructor's page is built (`warm`: its context has everything they need), so
the reveal does not wait for them.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string

from playground import lookup, pagecache, panels
from playground.singleflight import SingleFlight

PARTS = {  # data-withheld="<part>" on a participant's page → the template that fills it
    "headline": "playground/_headline.html",
    "outcome": "playground/_outcome.html",
    "warnings": "playground/_run_warnings.html",
}  # and "description": the scenario's, as Markdown renders it
KEPT = 32
# the pieces' forms (the outcome's "ask /acls") carry this for a CSRF token; room.js puts
# the page's own token in its place (one message serves every participant)
TOKEN_MARK = "csrf-from-page"

_kept: OrderedDict[str, str] = OrderedDict()
_lock = threading.Lock()
_rendering: SingleFlight[str] = SingleFlight()


def encoded(slug: str, context: dict[str, Any] | None = None) -> str:
    """The JSON object {part: HTML} for the run behind `slug` (a permalink: its content
    never changes; the event cap and the templates may); `context`: its page's, if at hand."""
    key = "|".join((slug, str(settings.RUN_MAX_EVENTS), pagecache.template_version()))
    with _lock:
        found = _kept.get(key)
    if found is not None:
        return found
    return _rendering.do(key, lambda: _render(key, slug, context))


def warm(slug: str, context: dict[str, Any]) -> None:
    """Renders the pieces from the instructor's page's context, ahead of the reveal."""
    encoded(slug, context)


def message(slug: str) -> str:
    """The room's "outcome" message (room_consumer)."""
    return f'{{"type":"outcome","slug":{json.dumps(slug)},"parts":{encoded(slug)}}}'


def _render(key: str, slug: str, context: dict[str, Any] | None) -> str:
    if context is None:
        context = panels.page_context(slug, lookup.scenario_or_404(slug))
    # the same for every participant: nothing of the page that asked (the instructor's
    # token is in its `room`)
    shared = {k: v for k, v in context.items() if k != "room"}
    shared.update(h=context.get("headline"), t=context.get("tables"), csrf_token=TOKEN_MARK)
    parts: dict[str, str] = {part: render_to_string(t, shared) for part, t in PARTS.items()}
    parts["description"] = str(context["description"])
    text = json.dumps(parts, separators=(",", ":"))
    with _lock:
        _kept[key] = text
        while len(_kept) > KEPT:
            _kept.popitem(last=False)
    return text
