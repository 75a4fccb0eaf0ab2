"""A wide topic a person can read (issue 16): the production topic's 60 partitions open on
the 8 where broker-2's death shows, with a label saying so, and a keyboard-reachable button
that shows all 60 in the strips, the chart, the stage's cluster and the cluster panel. QA
measured, before: the chart 4,088 px down at 1366x768, the 600 px embed 12,547 px tall; a
wide topic's chart now leads its strips (tests/browser/test_narrow.py)."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from playground import scenarios
from simcore import builtin_scenario
from tests.browser.helpers import EVERY_FRAME

SLUG = "production-topic-broker-dies"
LABEL = "Showing 8 of 60 partitions: 4 of the 10 that broker-2 led, 4 of the 20 it followed."
VISIBLE_LINES = (
    "() => document.getElementById('chart').data.filter((t) => t.visible !== false).length"
)


def _chart_top(page: Page) -> float:
    return float(
        page.evaluate(
            "() => document.getElementById('chart').getBoundingClientRect().top + scrollY"
        )
    )


def test_the_production_topic_opens_on_its_focus_and_shows_all_by_keyboard(
    page: Page, live_url: str, artifacts: Path
) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto(f"{live_url}/r/{scenarios.save(builtin_scenario(SLUG))}")
    page.wait_for_function(EVERY_FRAME, timeout=60_000)
    page.wait_for_selector("#chart[data-drawn]")
    expect(page.locator(".focus-bar .focus-label")).to_have_text(LABEL)
    expect(page.locator(".strips .strip")).to_have_count(8)
    expect(page.locator("#cluster .partitions .partition")).to_have_count(8)
    expect(page.locator(".cluster-now [data-partition]")).to_have_count(8)
    expect(page.locator('.strips [data-partition="orders-2"]')).to_have_count(1)  # led
    assert _chart_top(page) < 768 / 2  # was 4,088, then 837 under the 8 strips: now above them
    focused_lines = page.evaluate(VISIBLE_LINES)
    # 8 partitions x (HW, LEO, committed, position, lag) and the group's total lag
    assert focused_lines == 8 * 5 + 1
    page.screenshot(path=artifacts / "wide-1366-focus.png")

    toggle = page.locator(".focus-toggle")
    toggle.focus()
    page.keyboard.press("Enter")
    expect(page.locator(".strips .strip")).to_have_count(60)
    expect(page.locator("#cluster .partitions .partition")).to_have_count(60)
    expect(page.locator(".cluster-now [data-partition]")).to_have_count(60)
    expect(toggle).to_have_attribute("aria-pressed", "true")
    expect(page.locator(".focus-bar .focus-label")).to_have_text("Showing all 60 partitions.")
    assert page.evaluate(VISIBLE_LINES) == 60 * 5 + 1

    page.keyboard.press("Space")  # a button: Space presses it too, and back to the focus
    expect(page.locator(".strips .strip")).to_have_count(8)
    assert page.evaluate(VISIBLE_LINES) == focused_lines
    assert errors == []


def test_the_production_topic_embed_stays_a_sane_height(
    page: Page, live_url: str, artifacts: Path
) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_viewport_size({"width": 600, "height": 720})
    page.goto(f"{live_url}/embed/{scenarios.save(builtin_scenario(SLUG))}")
    page.wait_for_function(EVERY_FRAME, timeout=60_000)
    page.wait_for_selector("#chart[data-drawn]")
    expect(page.locator(".strips .strip")).to_have_count(8)
    assert _chart_top(page) < 720  # on the embed's first screen: 1,184 under the strips
    height = page.evaluate("() => document.documentElement.scrollHeight")
    assert height < 4500, height  # was 12,547
    page.screenshot(path=artifacts / "wide-embed-600.png", full_page=True)

    page.locator(".focus-toggle").click()
    expect(page.locator(".strips .strip")).to_have_count(60)
    assert errors == []
