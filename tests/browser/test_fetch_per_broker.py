"""Issue 16's built-in one-fetch-per-broker in a browser: it plays to the end, its event log
shows the one request for three partitions and the fetch session's epochs at the times its
"What to watch" names, and the lag chart ends at 0."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from playground import scenarios
from simcore import builtin_scenario
from tests.browser.helpers import EVERY_FRAME, play_at_full_speed, scrub_to_time

SLUG = "one-fetch-per-broker"


def test_it_plays_and_its_log_shows_one_request_and_the_session(
    page: Page, live_url: str, artifacts: Path
) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto(f"{live_url}/r/{scenarios.save(builtin_scenario(SLUG))}")
    page.wait_for_function(EVERY_FRAME)
    played = play_at_full_speed(page, timeout_ms=60_000)
    assert played["steps"] == int(page.locator("#player").get_attribute("data-total") or 0) - 1

    log = page.locator("#events")
    scrub_to_time(page, 3008)
    expect(log).to_contain_text(
        "c1 fetches clicks-0, clicks-1, clicks-2 from broker-0 in one request, "
        "a new fetch session (full, epoch 0)"
    )
    scrub_to_time(page, 3520)
    expect(log).to_contain_text("c1 fetches clicks-0 from broker-0 in fetch session 1 epoch 2")
    expect(log).to_contain_text("forgets clicks-1, clicks-2")
    expect(log).to_contain_text(
        "c1 fetches clicks-1, clicks-2, clicks-0 from broker-0 in fetch session 1 epoch 3"
    )
    page.screenshot(path=artifacts / "one-fetch-per-broker-3520ms.png")

    scrub_to_time(page, 10**9)
    page.wait_for_function(
        "() => { const c = document.getElementById('lag-chart');"
        " return c && c.dataset.drawn && c.data; }"
    )
    last_lag = page.evaluate(
        """() => {
            const total = document.getElementById('lag-chart').data
                .find((t) => t.name === 'dashboard total');
            return total.y[total.y.length - 1];
        }"""
    )
    assert last_lag == 0
    page.screenshot(path=artifacts / "one-fetch-per-broker-end.png", full_page=True)
    assert errors == []
