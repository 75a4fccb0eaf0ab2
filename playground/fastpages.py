"""A rendered run's page answered on the event loop, without Django's thread (issue 9).

Under ASGI, Django runs every request with sync middleware or a sync view in a thread of
its own (asgiref's `ThreadSensitiveContext`: a new single-thread executor per request):
200 visitors opening a page are 200 thread starts on the event loop that also serves
their websockets (about 1.2 s of it per 200-visitor round, cProfile of Daphne). A run's
page is already rendered once and kept (`pagecache`, with a placeholder for the CSRF
token), and is the same for every visitor who asks with the same URL. So:

- **Learning.** When Django answers `GET` of a page with 200 and an ETag (a run that has
  finished: `caching.immutable`), the view notes which page it served (`note`); on the way
  out, `FastPages` keeps the response's headers (every middleware's included) under the
  request's URL: scheme, `Host`, `X-Forwarded-Proto`/`-Host`, path and query string.
- **Answering.** A later `GET` of that URL, while `pagecache` still holds the page, is
  answered here: 304 if its `If-None-Match` holds the ETag, else the page with this
  visitor's CSRF token (Django's `get_token`, from the visitor's `csrftoken` cookie, or a
  new one, and the cookie set as `CsrfViewMiddleware` sets it). A request with any other
  cookie state than none or a well-formed `csrftoken`, an htmx request, any other
  method, and everything in DEBUG (where a changed template shows at once) go to Django.

Only URLs that Django has answered are learned, so the host was validated (ALLOWED_HOSTS)
and the redirects of SecurityMiddleware (SECURE_SSL_REDIRECT) were not taken. The table
is bounded (`MAX_URLS`, least recently used first out) and forgets a URL whose page has
left `pagecache` (a run stopped by the wall-time cap expires with it).
"""

from __future__ import annotations

import contextvars
import threading
from collections import OrderedDict
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.http.cookie import parse_cookie
from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_SECRET_LENGTH, get_token

from playground import caching, pagecache
from playground.guards import App, Message, Receive, Scope, Send

MAX_URLS = 4096  # URLs answered here (each holds a page key and a few headers)
# headers of the 200 that a 304 repeats (RFC 9110 §15.4.5) or that protect any answer
NOT_FOR_304 = frozenset({b"content-type", b"content-length", b"set-cookie"})
URL_HEADERS = (b"host", b"x-forwarded-proto", b"x-forwarded-host")

Url = tuple[str, ...]


@dataclass(frozen=True)
class Learned:
    page_key: str  # `pagecache`'s key of the HTML (with the CSRF placeholder)
    tag: str  # the ETag
    headers: tuple[tuple[bytes, bytes], ...]  # the 200's, without Set-Cookie and length


_lock = threading.Lock()
_learned: OrderedDict[Url, Learned] = OrderedDict()
_served: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "fastpages_served", default=None
)
hits = 0  # answers given here (tests and benchmarks read it)


def note(page_key: str, tag: str) -> None:
    """Called by the view (in Django's thread) that answers with a kept page and its ETag."""
    served = _served.get()
    if served is not None:  # a dict shared with `FastPages`: the thread runs in a copy
        served.update(page_key=page_key, tag=tag)


def _url(scope: Scope) -> Url | None:
    # DEBUG: templates are read again per request (`pagecache.template_version`); so is the page
    if scope["type"] != "http" or scope["method"] != "GET" or settings.DEBUG:
        return None
    headers = dict(scope.get("headers", []))
    if b"hx-request" in headers:
        return None
    parts = [scope.get("scheme", "http"), scope["path"], scope.get("query_string", b"").decode()]
    parts += [headers.get(name, b"").decode("latin-1") for name in URL_HEADERS]
    return tuple(parts)


def _lookup(url: Url) -> tuple[Learned, str] | None:
    with _lock:
        learned = _learned.get(url)
        if learned is not None:
            _learned.move_to_end(url)
    if learned is None:
        return None
    html = pagecache.cached(learned.page_key)
    if html is None:
        with _lock:
            _learned.pop(url, None)
        return None
    return learned, html


def _learn(url: Url, served: dict[str, str], message: Message) -> None:
    headers = tuple(
        (bytes(name), bytes(value))
        for name, value in message.get("headers", [])
        if bytes(name).lower() not in (b"set-cookie", b"content-length")
    )
    with _lock:
        _learned[url] = Learned(served["page_key"], served["tag"], headers)
        _learned.move_to_end(url)
        while len(_learned) > MAX_URLS:
            _learned.popitem(last=False)


def _csrf(cookie_header: bytes) -> tuple[str, list[tuple[bytes, bytes]]] | None:
    """This visitor's token for the page's forms and the cookie to set, as Django's
    CsrfViewMiddleware would (None: a cookie state left to Django)."""
    if settings.CSRF_USE_SESSIONS:
        return None
    cookies = parse_cookie(cookie_header.decode("latin-1"))
    secret = cookies.get(settings.CSRF_COOKIE_NAME)
    request = HttpRequest()
    if secret is not None:
        if len(secret) != CSRF_SECRET_LENGTH or set(secret) - set(CSRF_ALLOWED_CHARS):
            return None  # Django replaces it (or unmasks an old masked one): its own path
        request.META["CSRF_COOKIE"] = secret
    token = get_token(request)  # a new secret in META when there was none
    response = HttpResponse()
    response.set_cookie(
        settings.CSRF_COOKIE_NAME,
        request.META["CSRF_COOKIE"],
        max_age=settings.CSRF_COOKIE_AGE,
        domain=settings.CSRF_COOKIE_DOMAIN,
        path=settings.CSRF_COOKIE_PATH,
        secure=settings.CSRF_COOKIE_SECURE,
        httponly=settings.CSRF_COOKIE_HTTPONLY,
        samesite=settings.CSRF_COOKIE_SAMESITE,
    )
    cookie_lines = [
        (b"Set-Cookie", c.output(header="").strip().encode("latin-1"))
        for c in response.cookies.values()
    ]
    return token, cookie_lines


class FastPages:
    """ASGI: answers a learned page's `GET` itself; lets Django answer anything else, and
    learns from its answers."""

    def __init__(self, app: App) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        url = _url(scope)
        if url is None:
            await self.app(scope, receive, send)
            return
        found = _lookup(url)
        if found is not None and await self._answer(scope, send, *found):
            return
        served: dict[str, str] = {}
        token = _served.set(served)
        status = 0

        async def learning_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                if status == 200 and "tag" in served:
                    _learn(url, served, message)
            await send(message)

        try:
            await self.app(scope, receive, learning_send)
        finally:
            _served.reset(token)

    async def _answer(self, scope: Scope, send: Send, learned: Learned, html: str) -> bool:
        global hits
        headers = dict(scope.get("headers", []))
        if caching.matches(headers.get(b"if-none-match", b"").decode("latin-1"), learned.tag):
            kept = [(k, v) for k, v in learned.headers if k.lower() not in NOT_FOR_304]
            await send({"type": "http.response.start", "status": 304, "headers": kept})
            await send({"type": "http.response.body", "body": b""})
        else:
            cookie_lines: list[tuple[bytes, bytes]] = []
            if pagecache.PLACEHOLDER in html:  # a page with a form: this visitor's token
                csrf = _csrf(headers.get(b"cookie", b""))
                if csrf is None:
                    return False
                csrf_token, cookie_lines = csrf
                html = html.replace(pagecache.PLACEHOLDER, csrf_token)
            body = html.encode()
            length = [(b"Content-Length", str(len(body)).encode())]
            start: MutableMapping[str, Any] = {
                "type": "http.response.start",
                "status": 200,
                "headers": [*learned.headers, *length, *cookie_lines],
            }
            await send(start)
            await send({"type": "http.response.body", "body": body})
        with _lock:
            hits += 1
        return True


def reset() -> None:
    """Forget every learned URL (tests)."""
    with _lock:
        _learned.clear()
