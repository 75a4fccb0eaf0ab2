"""ASGI guards in front of Django and Channels (wired in `asgi.py`).

`WebsocketOriginValidator`: a websocket handshake is accepted only from a page of this
site. Browsers send the page's `Origin` with every handshake and cannot forge it; the
check compares its scheme, host AND port with the request's own (`Host` header, `ws` →
`http`, `wss` → `https`), so a page on another port of an allowed host (another app on
localhost) is refused, which Channels' AllowedHostsOriginValidator lets through. With
`settings.WS_ALLOWED_ORIGINS` set, the Origin must be one of those instead. A client
without a `Host` header is not a browser (browsers always send one) and could forge the
Origin anyway; for it the origin's host must be in ALLOWED_HOSTS, as before.

`RequestBodyLimit`: an HTTP body over `DATA_UPLOAD_MAX_MEMORY_SIZE` is refused with 413
as soon as that many bytes have arrived, counted on the bytes received: a chunked body has
no Content-Length, and Django's ASGI handler would spool any size to disk before a view
could look.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host
from django.template.loader import render_to_string

from playground.errors import JSON_PATHS, too_big_payload
from playground.security import content_security_policy

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
# any ASGI application (Django's handler, Channels' routers and consumers): their stubs
# type scope and messages more narrowly than one another
App = Callable[[Any, Any, Any], Awaitable[None]]

DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_key(origin: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an http(s) origin, default port filled in; None otherwise
    (`null`, other schemes, a bad port)."""
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if scheme not in DEFAULT_PORTS or not host:
        return None
    return scheme, host, port or DEFAULT_PORTS[scheme]


def _headers(scope: Scope) -> dict[bytes, bytes]:
    return {name.lower(): value for name, value in scope.get("headers", [])}


def _secure(scope: Scope, headers: dict[bytes, bytes]) -> bool:
    """wss, or behind a TLS proxy trusted by SECURE_PROXY_SSL_HEADER (as Django trusts it)."""
    if scope.get("scheme") == "wss":
        return True
    proxy = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if not proxy:
        return False
    name, value = proxy
    header = name.removeprefix("HTTP_").replace("_", "-").lower().encode("latin-1")
    return bool(headers.get(header, b"").decode("latin-1").split(",")[0].strip() == value)


def origin_allowed(scope: Scope) -> bool:
    headers = _headers(scope)
    origin = origin_key(headers.get(b"origin", b"").decode("latin-1"))
    if origin is None:
        return False
    if settings.WS_ALLOWED_ORIGINS:
        return origin in {origin_key(o) for o in settings.WS_ALLOWED_ORIGINS}
    host = headers.get(b"host", b"").decode("latin-1")
    if not host:
        return validate_host(origin[1], settings.ALLOWED_HOSTS)
    domain, _port = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return False
    scheme = "https" if _secure(scope, headers) else "http"
    return origin == origin_key(f"{scheme}://{host}")


class WebsocketOriginValidator:
    def __init__(self, app: App) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and not origin_allowed(scope):
            denier: App = WebsocketDenier.as_asgi()
            await denier(scope, receive, send)
            return
        await self.app(scope, receive, send)


class RequestBodyLimit:
    def __init__(self, app: App, max_bytes: int | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes or settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        declared = _headers(scope).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await self._refuse(scope, send, limit)
            return
        body = bytearray()
        while True:  # read it all first: Django's handler does the same before any view
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            body += message.get("body", b"")
            if len(body) > limit:
                await self._refuse(scope, send, limit)
                return
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(bytes(body), receive), send)

    async def _refuse(self, scope: Scope, send: Send, limit: int) -> None:
        payload = too_big_payload(limit)
        if scope["path"].startswith(JSON_PATHS):
            content_type, body = "application/json", json.dumps({"error": payload}).encode()
        else:
            page = render_to_string("playground/error.html", {"error": payload, "status": 413})
            content_type, body = "text/html; charset=utf-8", page.encode()
        headers = [
            (b"content-type", content_type.encode()),
            (b"content-security-policy", content_security_policy(False).encode()),
            (b"x-frame-options", b"DENY"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body as one message, then the client's own messages (its disconnect)."""
    pending: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]

    async def replayed() -> Message:
        return pending.pop() if pending else await receive()

    return replayed
