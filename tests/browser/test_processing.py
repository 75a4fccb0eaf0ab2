"""Issue 15 in a browser: the dead-letter built-in. Scrubbing the player shows the DLT's
partitions in the strip, empty before the third failed attempt and holding the dead letter
(named c1-pub#0, the application's publisher) after it, read by the inspector's group;
the processing panel shows the inputs' ends and the sink's view."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from playground import scenarios
from simcore import builtin_scenario
from tests.browser.helpers import EVERY_FRAME, scrub_to_time


def _dlt_cell(page: Page, partition: str, offset: int) -> str | None:
    cell = page.locator(
        f'.strip[data-partition="{partition}"] .cells.fates [data-offset="{offset}"]'
    )
    return cell.first.get_attribute("title") if cell.count() else None


def test_the_dead_letter_topic_fills_as_the_player_moves_and_the_panel_counts_it(
    page: Page, live_url: str, artifacts: Path
) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    slug = scenarios.save(builtin_scenario("dead-letter-after-3-attempts"))
    page.goto(f"{live_url}/r/{slug}")
    page.wait_for_function(EVERY_FRAME)
    dlt = page.locator('.strip[data-partition="orders.DLT-1"]')
    expect(dlt).to_be_visible()

    scrub_to_time(page, 6000)  # two failed attempts: nothing dead-lettered yet
    expect(dlt.locator('[data-marker="leo"]')).to_have_attribute("data-offset", "0")
    assert _dlt_cell(page, "orders.DLT-1", 0) == "offset 0 · dlt-inspector: not written yet"

    scrub_to_time(page, 7000)  # the third attempt failed at 6168, published at 6170
    expect(dlt.locator('[data-marker="leo"]')).to_have_attribute("data-offset", "1")
    title = _dlt_cell(page, "orders.DLT-1", 0)
    assert title is not None and "c1-pub#0" in title and "dlt-inspector" in title
    page.screenshot(path=artifacts / "processing-dead-letter.png", full_page=True)

    panel = page.locator("#processing")
    expect(panel).to_be_visible()
    expect(panel.locator('[data-col="succeeded"]')).to_have_text("58")
    expect(panel.locator('[data-col="dead_lettered"]')).to_have_text("2")
    expect(panel.locator('[data-col="never_applied"]')).to_have_text("2")
    expect(panel.locator('tr[data-topic="orders.DLT"]')).to_have_count(2)
    assert errors == []
