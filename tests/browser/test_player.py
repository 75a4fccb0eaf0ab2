"""A person's path through the playground, in headless Chromium against a real Daphne.

Open a scenario, play it, watch the log strip and the chart move, crash the consumer at the
moment its auto-commit has run ahead of its processing, and read the loss in the ledger.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from playground import scenarios
from simcore import Scenario

# The time the chart's cursor (an element over the plot, not a Plotly shape) stands at.
CURSOR_AT = "() => Number(document.querySelector('#chart > .cursor-line')?.dataset.t)"
MAX_STEPS = 200  # a bound for stepping loops; the scenario has a few dozen frames


@pytest.fixture
def calm_slug(live_url: str, calm_scenario: Scenario) -> str:
    return scenarios.save(calm_scenario)


def _step(page: Page) -> int:
    return int(page.locator("#player").get_attribute("data-step") or -1)


def _marker(page: Page, kind: str) -> int:
    return int(
        page.locator(f'.strip [data-marker="{kind}"]').first.get_attribute("data-offset") or -1
    )


def test_it_serves_the_gallery_with_local_assets_only(page: Page, live_url: str) -> None:
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    page.on("request", lambda r: None if r.url.startswith(live_url) else failed.append(r.url))
    page.goto(live_url + "/")
    expect(page.locator("h1")).to_have_text("Scenarios")
    expect(page.locator(".gallery li").first).to_be_visible()
    assert failed == []


def test_play_then_crash_the_consumer_and_see_the_loss(
    page: Page, live_url: str, calm_slug: str, artifacts: Path
) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{live_url}/r/{calm_slug}")
    expect(page.locator('.headline[data-verdict="exactly once"]')).to_be_visible()

    # The first frames arrive over the websocket: step 0 is drawn, with an empty log.
    expect(page.locator("#player")).to_have_attribute("data-step", "0")
    expect(page.locator("#chart .main-svg").first).to_be_attached()
    assert _marker(page, "hw") == 0
    first_counter = page.locator(".counter").inner_text()

    page.get_by_role("button", name="Play", exact=True).click()
    page.wait_for_function("() => Number(document.getElementById('player').dataset.step) >= 8")
    page.get_by_role("button", name="Pause", exact=True).click()
    assert _marker(page, "hw") == 3  # the three records reached the high watermark
    assert page.locator(".counter").inner_text() != first_counter
    page.wait_for_function(CURSOR_AT + " > 0")
    page.screenshot(path=artifacts / "player-playing.png", full_page=True)

    # Back to the start (the Home key, with the focus on a button), then step to where
    # librdkafka's timer has committed offset 1 while offset 0 is in progress.
    page.keyboard.press("Home")
    expect(page.locator("#player")).to_have_attribute("data-step", "0")
    crash_here = page.locator('[data-consumer="c1"] .state')
    for _ in range(MAX_STEPS):
        if crash_here.text_content() == "processing @ 0" and _has_marker(page, "committed", 1):
            break
        before = _step(page)
        page.get_by_role("button", name="Step", exact=True).click()
        assert _step(page) == before + 1
    else:
        pytest.fail("never reached a step where offset 1 is committed while 0 is processing")
    at_ms = int(page.locator('[data-consumer="c1"] .at-ms').input_value())
    assert at_ms == page.evaluate("() => Number(document.getElementById('chart').dataset.cursor)")
    page.wait_for_function(f"{CURSOR_AT} === {at_ms}")

    page.locator('[data-consumer="c1"]').get_by_role(
        "button", name="crash the consumer here"
    ).click()
    page.wait_for_url(f"**?compare={calm_slug}")
    verdict = page.locator(".verdict-box")
    expect(verdict.locator('.headline[data-verdict="loss"]')).to_be_visible()
    expect(verdict.locator('[data-count="never"]')).to_have_text("1")
    expect(page.locator("#compare .changes")).to_contain_text(
        "message p1#0: processed once → never processed"
    )
    expect(page.locator('tr[data-message="p1#0"] .outcome')).to_have_text("never processed")

    page.locator('tr[data-message="p1#0"] a').click()
    expect(page.locator("#story")).to_contain_text("Story of p1#0")
    expect(page.locator("#story")).to_contain_text("appends 3 records from p1")
    page.screenshot(path=artifacts / "after-crash.png", full_page=True)
    assert errors == []


def test_without_javascript_the_outcome_is_still_there(
    browser: Browser, live_url: str, calm_slug: str
) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_url}/r/{calm_slug}")
    expect(page.locator(".verdict-box .headline")).to_have_attribute("data-verdict", "exactly once")
    expect(page.locator("#outcome table.describe")).to_contain_text("billing")
    context.close()


def _has_marker(page: Page, kind: str, offset: int) -> bool:
    return page.locator(f'.strip [data-marker="{kind}"][data-offset="{offset}"]').count() > 0
