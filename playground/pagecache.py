"""Rendered pages of a run, kept so that a repeat view costs no template work.

A scenario page (and an embed) depends only on its link, its run and the query string's
few options — all immutable for a given run — and on the templates. Rendering the heaviest
built-in's page costs ~58 ms of Django template work (28,000 variables, 209 kB of HTML),
so 200 visitors at once queued for 12 s of one core (docs/load.md). Here a page is
rendered once per (view, run key, options, template version) and served from memory.

What differs per visitor is only the CSRF token of the page's forms: the page is rendered
with a per-process random placeholder in its place (without the request, so no context
processor can put anything visitor-specific in it), and each answer replaces the
placeholder with this visitor's token (`get_token`, which also sets the cookie). A cached
template therefore must not read `request`; the views pass everything it shows.

The key carries a digest of every template file (`template_version`), so a changed template
is never served from an older rendering; in DEBUG the digest is taken again per request.
The cache is per process, least recently used first out, bounded by bytes; a page of a run
that may change (one stopped by the wall-time cap) expires with that run.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.template.loader import render_to_string

from playground.admission import CallerGone
from playground.singleflight import SingleFlight

MAX_BYTES = 32_000_000  # ~150 of the heaviest built-in's pages (209 kB each)
PLACEHOLDER = f"csrf-{secrets.token_hex(16)}"  # unguessable: visitor text cannot contain it

_lock = threading.Lock()
_pages: OrderedDict[str, tuple[str, float]] = OrderedDict()  # key -> (html, expires)
_bytes = 0
hits = 0  # pages served from the cache (tests read it)
renders = 0  # pages rendered (tests read it)
_rendering: SingleFlight[str] = SingleFlight()  # 200 visitors at once: one rendering


def _template_files() -> list[Path]:
    files: list[Path] = []
    for engine in settings.TEMPLATES:
        directories: Any = engine.get("DIRS", [])
        for directory in directories:
            files.extend(sorted(p for p in Path(directory).rglob("*.html") if p.is_file()))
    return files


def _digest_templates() -> str:
    digest = hashlib.sha256()
    for path in _template_files():
        digest.update(str(path).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


@lru_cache(maxsize=1)
def _version_once() -> str:
    return _digest_templates()


def template_version() -> str:
    """A digest of every template: part of each key."""
    return _digest_templates() if settings.DEBUG else _version_once()


def _get(key: str) -> str | None:
    global _bytes
    with _lock:
        entry = _pages.get(key)
        if entry is None:
            return None
        if entry[1] < time.monotonic():
            del _pages[key]
            _bytes -= len(entry[0])
            return None
        _pages.move_to_end(key)
        return entry[0]


def _put(key: str, html: str, ttl: float) -> None:
    global _bytes
    if len(html) > MAX_BYTES:
        return
    with _lock:
        old = _pages.pop(key, None)
        if old is not None:
            _bytes -= len(old[0])
        _pages[key] = (html, time.monotonic() + ttl)
        _bytes += len(html)
        while _bytes > MAX_BYTES:
            _, (dropped, _expires) = _pages.popitem(last=False)
            _bytes -= len(dropped)


def page_key(template: str, key_parts: tuple[str, ...]) -> str:
    """What a page is kept under: its template, the templates' version, the view's parts."""
    return "|".join((template, template_version(), *key_parts))


def cached(key: str) -> str | None:
    """The kept page under `key` (its CSRF token still the placeholder), if any."""
    return _get(key)


def render_page(
    request: HttpRequest,
    template: str,
    key_parts: tuple[str, ...],
    build: Callable[[], tuple[dict[str, Any], float | None]],
    *,
    status: int = 200,
) -> HttpResponse:
    """The page `template` for `key_parts`, rendered by `build` once: it returns the context
    and how long the page may be kept (seconds; None: not kept)."""
    global hits
    key = page_key(template, key_parts)
    html = _get(key)
    if html is None:
        html = _rendering.do(key, lambda: _render(key, template, build), retry_on=(CallerGone,))
    else:
        with _lock:
            hits += 1
    if PLACEHOLDER in html:
        html = html.replace(PLACEHOLDER, get_token(request))
    return HttpResponse(html, status=status)


def _render(
    key: str, template: str, build: Callable[[], tuple[dict[str, Any], float | None]]
) -> str:
    global renders
    html = _get(key)  # rendered by a thread that finished just before this one began
    if html is not None:
        return html
    context, ttl = build()
    html = render_to_string(template, {**context, "csrf_token": PLACEHOLDER})
    with _lock:
        renders += 1
    if ttl:
        _put(key, html, ttl)
    return html


def reset() -> None:
    """Forget every page (tests)."""
    global _bytes
    with _lock:
        _pages.clear()
        _bytes = 0


def stats() -> dict[str, int]:
    with _lock:
        return {"pages": len(_pages), "bytes": _bytes, "hits": hits, "renders": renders}
