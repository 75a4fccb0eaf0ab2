"""Who is asking, whether they may, and what they are told when they may not.

- `Caller`: the client address of the request being served, and whether it is still
  there. `CallerWatch` (ASGI, around Django) sets it for every HTTP request and marks it
  gone when the client disconnects, so `runner` can cancel a queued run nobody waits for.
  Sync views read it through a context variable (asgiref copies it into their thread).
- `AdmissionMiddleware` (Django): the per-client rate limit on edits, and the answers —
  `Busy` → 503, `TooMany` → 429, both with `Retry-After` and the usual error payload
  (JSON under /api/ and /metrics/, the error page elsewhere, which htmx's banner shows).
  A request that did not come through `CallerWatch` (Django's test client) has no known
  client and no per-client limits; the queue bound holds for everyone.
- The websocket gets the same `Busy`/`TooMany` as an error frame (`consumers`).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from contextvars import ContextVar
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse

from playground import ratelimit
from playground.errors import JSON_PATHS, error_page, error_payload

EDIT_VIEWS = {
    "edit_yaml",
    "edit_quick",
    "crash",
    "inject",
    "compare_with",
    "import_config",
    "incident",
    "room_new",  # a workshop room (room_views)
    "room_inject",  # a button "at this step" in a room
    "course_new",  # a custom course (course_views)
}


class Busy(Exception):
    """No capacity now: try again in `retry_after` seconds (HTTP 503)."""

    status = 503

    def __init__(self, message: str, retry_after: float, field: str = "run") -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = max(1, min(3600, math.ceil(retry_after)))
        self.field = field

    def payload(self) -> dict[str, Any]:
        return {
            **error_payload(self.field, self.message, f"try again in {self.retry_after} s"),
            "retry_after": self.retry_after,
        }


class TooMany(Busy):
    """This client is over one of its limits (HTTP 429)."""

    status = 429


class CallerGone(Exception):
    """The client that asked for a run disconnected before it was started."""


class Caller:
    def __init__(self, client: str | None) -> None:
        self.client = client
        self._lock = threading.Lock()
        self._gone = False
        self._callbacks: list[Callable[[], None]] = []

    def on_gone(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call `callback` once the client is gone (now, if it already is); returns a
        function that unregisters it."""
        with self._lock:
            if not self._gone:
                self._callbacks.append(callback)
                return lambda: self._forget(callback)
        callback()
        return lambda: None

    def _forget(self, callback: Callable[[], None]) -> None:
        with self._lock:
            if callback in self._callbacks:
                self._callbacks.remove(callback)

    def leave(self) -> None:
        with self._lock:
            self._gone, callbacks, self._callbacks = True, self._callbacks, []
        for callback in callbacks:
            callback()


_caller: ContextVar[Caller | None] = ContextVar("playground_caller", default=None)


def current() -> Caller | None:
    return _caller.get()


def client_of(scope: MutableMapping[str, Any]) -> str | None:
    client = scope.get("client")
    return str(client[0]) if client else None


Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class CallerWatch:
    """ASGI: a `Caller` per HTTP request, marked gone on `http.disconnect`."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        caller = Caller(client_of(scope))

        async def watched() -> MutableMapping[str, Any]:
            message = await receive()
            if message["type"] == "http.disconnect":
                caller.leave()
            return message

        token = _caller.set(caller)
        try:
            await self.app(scope, watched, send)
        finally:
            _caller.reset(token)


class AdmissionMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: Any, args: Any, kwargs: Any
    ) -> HttpResponse | None:
        match = request.resolver_match
        if request.method != "POST" or match is None or match.url_name not in EDIT_VIEWS:
            return None
        caller = _caller.get()
        wait = ratelimit.take("edits", caller.client if caller else None)
        if wait:
            rate = ratelimit.rate_for("edits")
            message = (
                f"too many edits from your address: at most {rate.capacity} every {rate.period:g} s"
            )
            return busy_response(request, TooMany(message, wait, field="edit"))
        return None

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, Busy):
            return busy_response(request, exception)
        if isinstance(exception, CallerGone):
            return HttpResponse(status=499, reason="Client Closed Request")
        return None


def busy_response(request: HttpRequest, err: Busy) -> HttpResponse:
    payload = err.payload()
    response: HttpResponse
    if request.path.startswith(JSON_PATHS):
        response = JsonResponse({"error": payload}, status=err.status)
    else:
        response = error_page(request, payload, status=err.status)
    response["Retry-After"] = str(err.retry_after)
    return response
