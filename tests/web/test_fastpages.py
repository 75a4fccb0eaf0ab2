"""A kept page's GET is answered on the event loop (`fastpages`), as Django answers it:
the same page, headers and ETag, and a CSRF token that Django's check accepts."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from channels.db import database_sync_to_async

from playground import fastpages, pagecache
from playground.asgi import application
from playground.scenarios import save
from simcore import Scenario

pytestmark = pytest.mark.django_db(transaction=True)

WAIT = 60
TOKEN = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')
PER_ANSWER = {"set-cookie", "content-length"}


async def request(method: str, path: str, body: bytes = b"", **headers: str) -> dict[str, Any]:
    """One request through the whole ASGI application (as tests/web/test_admission)."""
    path, _, query = path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "client": ("10.2.0.1", 40000),
        "server": ("127.0.0.1", 8000),
        "headers": [
            (b"host", b"localhost"),
            *((k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()),
        ],
    }
    answer: dict[str, Any] = {"status": None, "headers": [], "body": b""}
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # the client stays until the answer
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
            answer["headers"] = [(k.decode().lower(), v.decode()) for k, v in message["headers"]]
        else:
            answer["body"] += message.get("body", b"")

    await asyncio.wait_for(application(scope, receive, send), WAIT)
    return answer


def header(answer: dict[str, Any], name: str) -> str | None:
    return next((v for k, v in answer["headers"] if k == name), None)


def csrf_cookie(answer: dict[str, Any]) -> str:
    line = header(answer, "set-cookie") or ""
    assert line.startswith("csrftoken="), answer["headers"]
    return line.split(";")[0]


def lasting(answer: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted((k, v) for k, v in answer["headers"] if k not in PER_ANSWER)


async def edit(slug: str, page: dict[str, Any], cookie: str) -> int:
    """Saves a quick edit with the page's form token: Django's CSRF check judges it."""
    token = TOKEN.search(page["body"])
    assert token is not None
    form = f"csrfmiddlewaretoken={token.group(1).decode()}&consumers%5B0%5D.processing_ms=7"
    answer = await request(
        "POST",
        f"/r/{slug}/quick",
        form.encode(),
        content_type="application/x-www-form-urlencoded",
        cookie=cookie,
    )
    return int(answer["status"])


@pytest.fixture
async def slug(calm_scenario: Scenario) -> str:
    pagecache.reset()
    fastpages.reset()
    return str(await database_sync_to_async(save)(calm_scenario))


async def test_a_kept_page_is_answered_as_django_answered_it(slug: str) -> None:
    first = await request("GET", f"/r/{slug}")  # Django renders it, the fast path learns
    assert first["status"] == 200 and header(first, "etag")
    hits = fastpages.hits
    second = await request("GET", f"/r/{slug}")  # a new visitor: no cookie
    assert fastpages.hits == hits + 1
    assert second["status"] == 200
    assert lasting(second) == lasting(first)  # CSP, frame options, ETag, Cache-Control, Vary
    assert TOKEN.sub(b"", second["body"]) == TOKEN.sub(b"", first["body"])
    assert csrf_cookie(second) != csrf_cookie(first)  # a token of its own
    assert await edit(slug, second, csrf_cookie(second)) == 303  # Django's check accepts it


async def test_a_visitor_with_a_cookie_keeps_it_and_gets_a_token_for_it(slug: str) -> None:
    first = await request("GET", f"/r/{slug}")
    cookie = csrf_cookie(first)
    hits = fastpages.hits
    again = await request("GET", f"/r/{slug}", cookie=cookie)
    assert fastpages.hits == hits + 1
    assert csrf_cookie(again) == cookie  # refreshed, as Django's middleware does
    assert TOKEN.search(again["body"]) != TOKEN.search(first["body"])  # masked anew
    assert await edit(slug, again, cookie) == 303
    other = await request("GET", f"/r/{slug}", cookie="csrftoken=" + "x" * 32)
    assert await edit(slug, other, cookie) == 403  # a token for another cookie is refused


async def test_a_revalidation_gets_304_here(slug: str) -> None:
    first = await request("GET", f"/r/{slug}")
    hits = fastpages.hits
    answer = await request("GET", f"/r/{slug}", if_none_match=header(first, "etag") or "")
    assert fastpages.hits == hits + 1
    assert answer["status"] == 304 and answer["body"] == b""
    assert header(answer, "etag") == header(first, "etag")
    assert header(answer, "content-security-policy") == header(first, "content-security-policy")


async def test_what_the_fast_path_leaves_to_django(slug: str, settings: Any) -> None:
    await request("GET", f"/r/{slug}")
    hits = fastpages.hits
    settings.DEBUG = True  # a template edited in development shows at once
    assert (await request("GET", f"/r/{slug}"))["status"] == 200
    settings.DEBUG = False
    assert fastpages.hits == hits
    for answer in (
        await request("GET", f"/r/{slug}", hx_request="true"),  # htmx
        await request("GET", f"/r/{slug}", cookie="csrftoken=not-a-secret"),  # Django's fix
        await request("HEAD", f"/r/{slug}"),
    ):
        assert answer["status"] == 200
    assert fastpages.hits == hits
    pagecache.reset()  # the page left the cache: Django renders it again
    assert (await request("GET", f"/r/{slug}"))["status"] == 200
    assert fastpages.hits == hits
