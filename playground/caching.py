"""HTTP caching of what a permalink serves (issue 12): ETag and Cache-Control.

A permalink is content-addressed, so what it serves changes only with simcore's version,
the run's key (its digest and event cap), the templates (pages) and the host name (absolute
links). The ETag is a digest of exactly those; a request whose If-None-Match holds it gets
304 without the run being decoded or anything rendered. A run stopped by the wall-time cap
may finish on a quieter machine: such an answer gets `no-store` and no ETag, so nobody
keeps it.

Pages with a form carry the visitor's CSRF token, which differs per visitor while meaning
the same: their ETag is weak (`W/`) and their Cache-Control `private`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.utils.cache import patch_vary_headers

from simcore import __version__ as SIMCORE_VERSION

PAGE = "private, max-age=0, must-revalidate"  # revalidate each time: a 304 is cheap
EMBED = "public, max-age=300"  # framed by wikis; a template change shows within minutes
DATA = "public, max-age=86400"  # exports and the API: the run's data, by its key


def etag(*parts: str, weak: bool = False) -> str:
    digest = hashlib.sha256("|".join((SIMCORE_VERSION, *parts)).encode()).hexdigest()[:32]
    return f'{"W/" if weak else ""}"{digest}"'


def matches(header: str, tag: str) -> bool:
    """Whether an `If-None-Match` header's value holds `tag` (weak comparison)."""
    if not header:
        return False
    bare = tag.removeprefix("W/")
    return header.strip() == "*" or any(
        t.strip().removeprefix("W/") == bare for t in header.split(",")
    )


def immutable(
    request: HttpRequest,
    tag: str,
    make: Callable[[], HttpResponse],
    *,
    cache_control: str = DATA,
    complete: Callable[[], bool] | None = None,
) -> HttpResponse:
    """`make()`'s response with `tag` and `cache_control`, or 304 if the client has it.
    `complete()`: whether the run behind it finished (else no-store, no ETag)."""
    if matches(request.headers.get("If-None-Match", ""), tag):
        response: HttpResponse = HttpResponseNotModified()
        response["ETag"] = tag
        response["Cache-Control"] = cache_control
        return response
    response = make()
    if response.status_code != 200:
        return response
    if complete is not None and not complete():
        response["Cache-Control"] = "no-store"
        return response
    response["ETag"] = tag
    response["Cache-Control"] = cache_control
    patch_vary_headers(response, ("Cookie",) if cache_control == PAGE else ())
    return response
