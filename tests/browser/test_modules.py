"""static/js/ as ES modules: the scenario page and the embed play a run to its end with no
JavaScript error, every panel module drawing from the player's events (issue 13)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from playwright.sync_api import ConsoleMessage, Error, Page, expect

from playground import scenarios
from simcore import builtin_scenario
from tests.browser.helpers import EVERY_FRAME, play_at_full_speed

PLAY_MS = 60_000
PLOTLY_AFTER_FIRST_FRAME = """() => {
  const at = (name) => performance.getEntriesByName(name)[0]?.startTime ?? null;
  return { frame: at("player:first-frame"), plotly: at("charts:plotly") };
}"""


@contextmanager
def no_js_errors(page: Page) -> Iterator[list[str]]:
    """Collects every uncaught exception and console error; the block must leave none."""
    errors: list[str] = []

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(f"console: {message.text} ({message.location.get('url')})")

    def uncaught(error: Error) -> None:
        errors.append(f"pageerror: {error}")

    page.on("console", console)
    page.on("pageerror", uncaught)
    yield errors
    page.remove_listener("console", console)
    page.remove_listener("pageerror", uncaught)
    assert errors == []


def _play_to_the_end(page: Page) -> None:
    page.wait_for_function(EVERY_FRAME)
    played = play_at_full_speed(page, PLAY_MS)
    total = int(page.locator("#player").get_attribute("data-total") or 0)
    assert played["steps"] == total - 1


def test_the_scenario_page_plays_a_run_with_no_js_error(page: Page, live_url: str) -> None:
    slug = scenarios.save(builtin_scenario("acks-1-leader-dies"))  # replicas, groups, lost records
    with no_js_errors(page):
        page.goto(f"{live_url}/r/{slug}")
        _play_to_the_end(page)
        # every panel module drew: the strips, the charts, the cluster, the groups, the log
        expect(page.locator(".strip").first).to_be_visible()
        for chart in ("#chart", "#replica-chart", "#lag-chart", "#time-lag-chart"):
            expect(page.locator(chart)).to_have_attribute("data-drawn", "true")
        expect(page.locator("#cluster .partitions .partition").first).to_be_attached()
        expect(page.locator("table.describe.live tbody tr").first).to_be_attached()
        expect(page.locator("section.consumers .state").first).not_to_have_text("–")
        expect(page.locator("#events li").first).to_be_attached()
        expect(page.locator(".cluster-now li").first).to_be_attached()
        assert page.evaluate("typeof window.Playground") == "undefined"
        # plotly.js ran after the first frame (lib/charts.js), not before it: the charts
        # above were drawn all the same
        order = page.evaluate(PLOTLY_AFTER_FIRST_FRAME)
        assert order["plotly"] is not None and order["plotly"] >= order["frame"], order


def test_the_embed_plays_a_run_with_no_js_error(page: Page, live_url: str) -> None:
    slug = scenarios.save(builtin_scenario("acks-1-leader-dies"))
    with no_js_errors(page):
        page.goto(f"{live_url}/embed/{slug}?panels=strip,chart,cluster,log")
        _play_to_the_end(page)
        expect(page.locator("#chart")).to_have_attribute("data-drawn", "true")
        expect(page.locator(".strip").first).to_be_visible()
        expect(page.locator("#events li").first).to_be_attached()
        expect(page.locator("button.copy-step-link")).to_be_visible()  # share.js ran
