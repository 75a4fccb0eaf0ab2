"""Django's per-request thread comes from a pool of kept threads (`threads`): a request's
sync code still runs on a thread of its own, but the next request reuses it."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from channels.db import database_sync_to_async

from playground import edits, pages, scenarios, threads
from simcore import Scenario
from tests.web.test_fastpages import TOKEN, csrf_cookie, request

pytestmark = pytest.mark.django_db(transaction=True)
WAIT = 30


async def save_edit(slug: str, page: dict[str, Any], value: int) -> int:
    token = TOKEN.search(page["body"])
    assert token is not None
    form = f"csrfmiddlewaretoken={token.group(1).decode()}&consumers%5B0%5D.processing_ms={value}"
    answer = await request(
        "POST",
        f"/r/{slug}/quick",
        form.encode(),
        content_type="application/x-www-form-urlencoded",
        cookie=csrf_cookie(page),
    )
    return int(answer["status"])


@pytest.fixture
async def page(calm_scenario: Scenario) -> tuple[str, dict[str, Any]]:
    slug = str(await database_sync_to_async(scenarios.save)(calm_scenario))
    answer = await request("GET", f"/r/{slug}")
    assert answer["status"] == 200
    return slug, answer


async def test_requests_one_after_another_reuse_a_thread(
    page: tuple[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    slug, answer = page
    ran_on: list[threading.Thread] = []
    save = scenarios.save

    def recording(*args: Any, **kwargs: Any) -> str:
        ran_on.append(threading.current_thread())
        return save(*args, **kwargs)

    monkeypatch.setattr(edits.scenarios, "save", recording)
    started = threads.started
    for value in (11, 12, 13):
        assert await save_edit(slug, answer, value) == 303
    assert ran_on[0] is ran_on[1] is ran_on[2]  # one kept thread, not three new ones
    assert ran_on[0] is not threading.main_thread()
    assert threads.started - started <= 1


async def test_requests_at_once_each_have_a_thread_of_their_own(
    page: tuple[str, dict[str, Any]], loss_scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two before/after pages at once (Django renders them: no fast path): the first one's
    view waits until the second one's has run, which only a thread of its own lets it do
    (on a shared thread it would wait in vain). Reads only: the test database (SQLite in
    memory, shared cache) refuses two writers at once."""
    slug, _answer = page
    other = str(await database_sync_to_async(scenarios.save)(loss_scenario))
    url = f"/r/{slug}?compare={other}"
    assert (await request("GET", url))["status"] == 200  # both runs computed
    second_ran = threading.Event()
    arrived: list[int] = []
    page_context = pages.page_context

    def rendezvous(*args: Any, **kwargs: Any) -> dict[str, Any]:
        arrived.append(1)
        if len(arrived) == 1:
            assert second_ran.wait(WAIT), "the second request never ran beside the first"
        else:
            second_ran.set()
        return page_context(*args, **kwargs)

    monkeypatch.setattr(pages, "page_context", rendezvous)
    answers = await asyncio.gather(request("GET", url), request("GET", url))
    assert [a["status"] for a in answers] == [200, 200] and len(arrived) == 2


def test_a_thread_still_running_a_view_is_not_given_to_another_request() -> None:
    executor = threads._take()
    release = threading.Event()
    busy = executor.submit(release.wait, WAIT)  # a view whose caller has gone
    threads._give_back(executor)
    assert executor not in threads._idle
    assert threads._take() is not executor
    release.set()
    assert busy.result(WAIT) is True
