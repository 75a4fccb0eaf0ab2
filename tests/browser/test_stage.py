"""Issue 10's stage: at 1366x768 the player, the strips, the chart, the verdict, the cluster
and the event log are on the first screen; the log follows the step; the chart opens on
where the story happens, with the full run one click away, and counts tick in integers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from playground import scenarios
from simcore import builtin_scenario
from tests.browser.helpers import EVERY_FRAME, scrub_to_time

STAGE = {
    "controls": "#player .controls",
    "strips": "#player .strips",
    "chart": "#chart .main-svg",
    "verdict": ".verdict-box .headline",
    "cluster": ".stage-cluster",
    "event log": ".stage-events",
}


def _open(page: Page, live_url: str, name: str) -> None:
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto(f"{live_url}/r/{scenarios.save(builtin_scenario(name))}")
    page.wait_for_function(EVERY_FRAME)
    page.locator("#chart .main-svg").first.wait_for()


@pytest.mark.parametrize(
    "name", ["librdkafka-auto-commit", "acks-1-leader-dies", "slow-consumer-lag-grows"]
)
def test_the_stage_fits_one_screen_at_1366x768(
    page: Page, live_url: str, name: str, artifacts: Path
) -> None:
    _open(page, live_url, name)
    for what, selector in STAGE.items():
        box = page.locator(selector).first.bounding_box()
        assert box is not None, what
        assert box["y"] >= 0 and box["y"] + box["height"] <= 768, f"{what} is not on screen: {box}"
    page.screenshot(path=artifacts / f"stage-{name}.png")


def test_the_event_log_follows_the_step(page: Page, live_url: str) -> None:
    _open(page, live_url, "librdkafka-auto-commit")
    scrub_to_time(page, 5500)
    last = page.locator("#events li").first  # the newest comes first, drawn at the bottom
    expect(last).to_contain_text("5500 ms")
    expect(last).to_contain_text("c1 crashes")
    log = page.locator("#events").bounding_box()
    item = last.bounding_box()
    assert log and item and item["y"] + item["height"] <= log["y"] + log["height"] + 1  # in view
    scrub_to_time(page, 3010)
    expect(page.locator("#events li").first).to_contain_text("poll() returns orders-0@0 to c1")
    expect(page.locator("#events")).not_to_contain_text("crashes")


def test_the_chart_opens_where_the_story_happens(page: Page, live_url: str) -> None:
    _open(page, live_url, "librdkafka-auto-commit")
    x_range = "() => document.getElementById('chart')._fullLayout.xaxis.range.map(Math.round)"
    start, end = page.evaluate(x_range)
    assert start == 0 and 5500 < end < 30000  # the crash at 5.5 s, not the whole 60 s
    page.get_by_role("button", name="full run").click()
    expect(page.get_by_role("button", name="full run")).to_have_attribute("aria-pressed", "true")
    page.wait_for_function(
        "() => document.getElementById('chart')._fullLayout.xaxis.range[1] >= 60000"
    )
    # Offsets and lag are counts: every tick label is a whole number, thousands grouped.
    labels = page.evaluate(
        "() => [...document.querySelectorAll('#chart .ytick text, #chart .y2tick text')]"
        ".map((t) => t.textContent)"
    )
    assert labels and all(re.fullmatch(r"\d{1,3}(,\d{3})*", label) for label in labels), labels
    # The legend's marker samples have no stray tick under them.
    tick = page.locator(".legend .mk").first.evaluate(
        "(m) => getComputedStyle(m, '::before').display"
    )
    assert tick == "none"


def test_the_cursor_moves_without_relaying_out_the_chart(page: Page, live_url: str) -> None:
    _open(page, live_url, "librdkafka-auto-commit")
    page.evaluate(
        """() => { const c = document.getElementById('chart'); window.relayouts = 0;
                   c.on('plotly_relayout', () => { window.relayouts += 1; }); }"""
    )
    # Step forward through the run up to 5.5 s, as a presenter does: scrub_to_time's
    # binary search visits steps past the story window, and playing past it zooms out
    # (a relayout, by design), depending only on how many steps the run has.
    page.evaluate(
        """(at) => {
            const scrub = document.querySelector('.scrub');
            for (let k = 0; k <= Number(scrub.max); k++) {
                scrub.value = String(k);
                scrub.dispatchEvent(new Event('input'));
                if (Number(document.querySelector('.at-step').value) >= at) break;
            }
        }""",
        5500,
    )
    page.wait_for_function(
        "() => document.querySelector('#chart > .cursor-line').dataset.t === '5500'"
    )
    assert page.evaluate("window.relayouts") == 0
