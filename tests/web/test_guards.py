"""The ASGI guards: request bodies counted as they arrive, websocket origins checked by
scheme, host and port (playground/guards.py)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import override_settings

from playground.asgi import application
from playground.guards import RequestBodyLimit, origin_allowed

CHUNK = 64 * 1024


def _scope(path: str, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"localhost"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


async def _call(app: Any, path: str, body: bytes, headers: list[tuple[bytes, bytes]]) -> dict:
    """Send `body` in 64 kB chunks (more_body, as a chunked upload arrives) and collect the
    answer; `sent` says how many bytes the app pulled."""
    chunks = [body[k : k + CHUNK] for k in range(0, len(body), CHUNK)] or [b""]
    state: dict[str, Any] = {"sent": 0, "status": None, "body": b"", "headers": {}}

    async def receive() -> dict[str, Any]:
        if chunks:
            chunk = chunks.pop(0)
            state["sent"] += len(chunk)
            return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}
        await asyncio.Event().wait()  # the client stays until the answer (never set)
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            state["status"] = message["status"]
            state["headers"] = dict(message["headers"])
        else:
            state["body"] += message.get("body", b"")

    await app(_scope(path, headers), receive, send)
    return state


class Recorder:
    """An inner app that records the body it was given."""

    def __init__(self) -> None:
        self.body: bytes | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        message = await receive()
        self.body = message["body"]
        assert not message.get("more_body")
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})


async def test_a_body_under_the_limit_reaches_the_app_whole() -> None:
    inner = Recorder()
    body = b"y" * (3 * CHUNK + 5)
    answer = await _call(RequestBodyLimit(inner, max_bytes=len(body)), "/r/x/edit", body, [])
    assert answer["status"] == 204
    assert inner.body == body


async def test_a_chunked_body_over_the_limit_is_refused_as_it_arrives() -> None:
    inner = Recorder()
    body = b"y" * (10 * CHUNK)
    answer = await _call(RequestBodyLimit(inner, max_bytes=2 * CHUNK), "/r/x/edit", body, [])
    assert answer["status"] == 413
    assert inner.body is None
    assert answer["sent"] <= 3 * CHUNK  # it stopped reading at the limit
    assert b"data-error-message><code>body</code>" in answer["body"]
    assert b"frame-ancestors 'none'" in answer["headers"][b"content-security-policy"]


async def test_a_declared_length_over_the_limit_is_refused_before_reading() -> None:
    inner = Recorder()
    headers = [(b"content-length", b"999999999"), (b"content-type", b"application/json")]
    answer = await _call(RequestBodyLimit(inner, max_bytes=100), "/api/run", b"{}", headers)
    assert (answer["status"], answer["sent"]) == (413, 0)
    assert json.loads(answer["body"])["error"]["field"] == "body"


@pytest.mark.django_db(transaction=True)
async def test_the_api_limit_counts_the_bytes_of_a_chunked_body() -> None:
    """150 kB without Content-Length: under the site's 1 MB, over /api/run's 100 kB."""
    body = json.dumps({"name": "x" * 150_000}).encode()
    answer = await _call(application, "/api/run", body, [(b"content-type", b"application/json")])
    assert answer["status"] == 413
    assert json.loads(answer["body"])["error"]["field"] == "body"


@pytest.mark.django_db(transaction=True)
async def test_the_site_limit_applies_to_every_path() -> None:
    body = b"yaml=" + b"x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    answer = await _call(application, "/r/0123456789abcdef/edit", body, [])
    assert answer["status"] == 413


# --- websocket origins ---------------------------------------------------------------------


def _ws(origin: str | None, host: str | None, scheme: str = "ws", **headers: str) -> dict:
    pairs = [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()]
    if origin is not None:
        pairs.append((b"origin", origin.encode()))
    if host is not None:
        pairs.append((b"host", host.encode()))
    return {"type": "websocket", "scheme": scheme, "headers": pairs}


@pytest.mark.parametrize(
    ("scope", "allowed"),
    [
        (_ws("http://localhost:8000", "localhost:8000"), True),
        (_ws("http://LOCALHOST:8000", "localhost:8000"), True),
        (_ws("http://localhost", "localhost:80"), True),
        (_ws("http://[::1]:8000", "[::1]:8000"), True),
        (_ws("https://localhost:8443", "localhost:8443", scheme="wss"), True),
        (_ws("http://localhost:9999", "localhost:8000"), False),  # another app, same host
        (_ws("https://localhost:8000", "localhost:8000"), False),  # https page, ws socket
        (_ws("http://localhost:8000", "localhost:8000", scheme="wss"), False),
        (_ws("http://evil.example:8000", "localhost:8000"), False),
        (_ws("http://evil.example", "evil.example"), False),  # Host not in ALLOWED_HOSTS
        (_ws(None, "localhost:8000"), False),
        (_ws("null", "localhost:8000"), False),
        (_ws("file://", "localhost:8000"), False),
        (_ws("http://localhost:notaport", "localhost:8000"), False),
        # no Host header: not a browser (they always send one); host in ALLOWED_HOSTS
        (_ws("http://localhost", None), True),
        (_ws("http://evil.example", None), False),
    ],
)
def test_origin_is_compared_by_scheme_host_and_port(scope: dict, allowed: bool) -> None:
    assert origin_allowed(scope) is allowed


@override_settings(SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"))
def test_behind_a_trusted_tls_proxy_the_page_is_https() -> None:
    scope = _ws("https://localhost", "localhost", x_forwarded_proto="https")
    assert origin_allowed(scope)
    assert not origin_allowed(_ws("https://localhost", "localhost"))


@override_settings(WS_ALLOWED_ORIGINS=["https://play.example", "http://localhost:3000"])
def test_an_allowed_list_replaces_the_same_origin_rule() -> None:
    assert origin_allowed(_ws("https://play.example:443", "internal:8000"))
    assert origin_allowed(_ws("http://localhost:3000", "localhost:8000"))
    assert not origin_allowed(_ws("http://localhost:8000", "localhost:8000"))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("origin", "connects"),
    [(b"http://localhost:8000", True), (b"http://localhost:9999", False)],
)
async def test_the_websocket_route_is_guarded(origin: bytes, connects: bool) -> None:
    headers = [(b"origin", origin), (b"host", b"localhost:8000")]
    communicator = WebsocketCommunicator(application, "/ws/runs/0123456789abcdef", headers)
    connected, _ = await communicator.connect(timeout=10)
    assert connected is connects
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", ["/ws/runs/a/b", "/ws/elsewhere", "/ws/runs/"])
async def test_an_unknown_websocket_path_is_refused_not_a_crash(path: str) -> None:
    headers = [(b"origin", b"http://localhost:8000"), (b"host", b"localhost:8000")]
    communicator = WebsocketCommunicator(application, path, headers)
    connected, _ = await communicator.connect(timeout=10)
    assert connected is False
    await communicator.disconnect()
