"""The scenario page on a projector and on a phone (the wide topic's page, issue 16's sequel).

Measured before: at 1366x768 the production topic's offsets chart started at 837 px, below
the fold; at 390x844 its page was 29,585 px tall once every panel was laid out (9,880 px
with the panels the browser had not reached counted as 600 px placeholders): the cluster
panel's 6 brokers x 3 fault forms, the groups panel's and the outcome's 60-row tables, a
metrics table of 8,177 px. Now the chart of a wide topic leads its strips, and on a narrow
screen the panels under the stage fold to their titles (static/js/fold.js)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from playground import scenarios
from simcore import builtin_scenario
from tests.browser.helpers import EVERY_FRAME

WIDE = "production-topic-broker-dies"
OTHERS = ("acks-1-leader-dies", "txn-zombie-fencing")
FOLDS = "details.fold"
BOX = """(selector) => { const b = document.querySelector(selector).getBoundingClientRect();
    return { top: b.top + scrollY, bottom: b.bottom + scrollY }; }"""
# The page's height with every panel laid out: `content-visibility: auto` counts a panel the
# browser has not reached yet as a 600 px placeholder (playground.css), which would flatter
# (or wrong) the measure either way.
LAID_OUT_HEIGHT = """() => { const s = document.createElement('style');
    s.textContent = '* { content-visibility: visible !important; }';
    document.head.append(s);
    const h = document.documentElement.scrollHeight; s.remove(); return h; }"""
OVERFLOW = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
# The same, every panel laid out: a panel off screen does not count until the browser lays it
# out, so a check at load missed the producers table's hidden "buttons" header pushing the
# page 551 px wide at 390 px (173 px at 768 px) once scrolled to
LAID_OUT_OVERFLOW = LAID_OUT_HEIGHT.replace(
    "document.documentElement.scrollHeight", f"({OVERFLOW})()"
)


def _open(page: Page, name: str, width: int, height: int) -> list[str]:
    """The scenario page of built-in `name` at width x height, every frame in and the chart
    drawn; returns the list its errors (uncaught, and console errors) go into."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.set_viewport_size({"width": width, "height": height})
    page.goto(f"/r/{scenarios.save(builtin_scenario(name))}")  # base_url: the live server
    page.wait_for_function(EVERY_FRAME, timeout=60_000)
    page.wait_for_selector("#chart[data-drawn]")
    return errors


def test_the_wide_topics_chart_is_on_a_laptops_first_screen(
    page: Page, live_url: str, artifacts: Path
) -> None:
    errors = _open(page, WIDE, 1366, 768)
    chart, verdict = page.evaluate(BOX, "#chart"), page.evaluate(BOX, ".verdict-box")
    page.screenshot(path=artifacts / "narrow-wide-1366.png")
    # the whole chart on the first screen (it started at 837 px), the verdict beside it
    assert chart["bottom"] <= 768, chart
    assert verdict["bottom"] <= 768, verdict
    # the chart above the strips: it summarises all 8 (or 60) partitions at once
    assert page.evaluate(BOX, ".strips")["top"] >= chart["bottom"]
    expect(page.locator(FOLDS + ":not([open])")).to_have_count(0)  # nothing folded here
    assert errors == []


@pytest.mark.parametrize("name", OTHERS)
def test_a_narrow_topics_chart_stays_under_its_strips(page: Page, live_url: str, name: str) -> None:
    # 1 to 6 partitions: their strips are short, the chart is on the first screen anyway
    errors = _open(page, name, 1366, 768)
    chart = page.evaluate(BOX, "#chart")
    assert page.evaluate(BOX, ".strips")["bottom"] <= chart["top"]
    assert (chart["top"] + chart["bottom"]) / 2 <= 768, chart  # at least its top half
    assert errors == []


# On a phone: the stage (controls, strips, chart, verdict, the cluster at this step, the event
# log) is about 2,000 px for the wide topic's 8 strips; with the title and the folded panels'
# titles the page measured 3,403 px (2,462 and 2,576 px for the others). Any one panel left
# open by default adds 500 px (producers) to 8,000 px (metrics).
PHONE_HEIGHT = {WIDE: 4000, OTHERS[0]: 3200, OTHERS[1]: 3200}


@pytest.mark.parametrize("name", [WIDE, *OTHERS])
def test_a_phone_gets_a_page_of_sane_height_and_no_sideways_scroll(
    page: Page, live_url: str, artifacts: Path, name: str
) -> None:
    errors = _open(page, name, 390, 844)
    height = page.evaluate(LAID_OUT_HEIGHT)
    page.screenshot(path=artifacts / f"narrow-{name}-390.png", full_page=True)
    assert height < PHONE_HEIGHT[name], height  # the wide topic: 29,585 px before
    assert page.evaluate(OVERFLOW) <= 0
    assert page.evaluate(BOX, ".verdict-box")["top"] < 2000  # the verdict is on the stage
    # cluster, producers, consumers, groups, metrics, about, outcome, config
    assert page.locator(FOLDS).count() >= 8
    expect(page.locator(FOLDS + "[open]")).to_have_count(0)
    assert page.evaluate(LAID_OUT_OVERFLOW) <= 0
    for summary in page.locator(FOLDS + " > summary").all():  # every panel opened: still none
        summary.click()
    expect(page.locator(FOLDS + ":not([open])")).to_have_count(0)
    assert page.evaluate(LAID_OUT_OVERFLOW) <= 0
    assert errors == []


def test_a_folded_panel_opens_with_the_keyboard_and_fits_the_phone(
    page: Page, live_url: str
) -> None:
    errors = _open(page, WIDE, 390, 844)
    cluster = page.locator("#cluster details.fold")
    summary = cluster.locator("summary")
    expect(summary).to_have_text("Cluster at this step")
    assert summary.evaluate("(s) => s.tabIndex") == 0  # in the Tab order
    expect(page.locator("#cluster .brokers")).to_be_hidden()
    summary.focus()
    page.keyboard.press("Enter")
    expect(cluster).to_have_attribute("open", "")
    expect(page.locator("#cluster .brokers")).to_be_visible()
    expect(page.locator("#cluster .partitions .partition")).to_have_count(8)
    # its replica timeline, drawn while folded, refits to the phone's width
    page.wait_for_function(
        "() => { const c = document.getElementById('replica-chart');"
        " return c.dataset.drawn && c.querySelector('.main-svg').getBoundingClientRect().width"
        " <= c.getBoundingClientRect().width + 0.5; }"
    )
    assert page.evaluate(OVERFLOW) <= 0

    groups = page.locator("#groups summary")
    groups.focus()
    step = page.locator("#player").get_attribute("data-step")
    page.keyboard.press("Space")  # a summary, not the player's play/pause
    expect(page.locator("#groups details.fold")).to_have_attribute("open", "")
    expect(page.locator("#player")).to_have_attribute("data-step", step or "")
    expect(page.locator("[data-action=play]")).to_have_attribute("data-state", "paused")
    assert page.evaluate(OVERFLOW) <= 0
    page.keyboard.press("Enter")  # and folded again
    expect(page.locator("#groups .members").first).to_be_hidden()
    assert errors == []


def test_folds_follow_the_screen_but_keep_the_visitors_own_choice(
    page: Page, live_url: str
) -> None:
    _open(page, OTHERS[0], 390, 844)
    expect(page.locator(FOLDS + "[open]")).to_have_count(0)
    page.locator("#producers summary").click()  # the visitor's own
    page.set_viewport_size({"width": 1366, "height": 768})  # a phone turned, a window widened
    expect(page.locator(FOLDS + ":not([open])")).to_have_count(0)
    page.locator("#metrics summary").click()  # closed by the visitor on a wide screen
    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.locator(FOLDS + "[open]")).to_have_count(1)
    expect(page.locator("#producers details.fold")).to_have_attribute("open", "")
    expect(page.locator("#metrics details.fold")).not_to_have_attribute("open", "")


def test_a_folded_panel_opens_for_its_link_and_for_an_error(page: Page, live_url: str) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    slug = scenarios.save(builtin_scenario(OTHERS[0]))
    page.goto(f"{live_url}/r/{slug}#outcome")
    expect(page.locator("#outcome details.fold")).to_have_attribute("open", "")
    expect(page.locator("#config details.fold")).not_to_have_attribute("open", "")
    page.evaluate("() => { location.hash = 'config'; }")
    expect(page.locator("#config details.fold")).to_have_attribute("open", "")
    page.goto("about:blank")  # (the same page with another #hash would not load again)
    page.goto(f"{live_url}/r/{slug}#%E0%A4%A")  # a malformed escape: folded all the same
    expect(page.locator(FOLDS + "[open]")).to_have_count(0)
    # a refused fault button: the answer's page shows the error beside it, unfolded
    page.evaluate(
        """() => { const form = document.querySelector('#cluster form.inject');
            form.querySelector('[name=restart_after_ms]').value = '-5';
            form.submit(); }"""
    )
    expect(page.locator("#cluster .error[role=alert]")).to_be_visible()
    expect(page.locator("#cluster details.fold")).to_have_attribute("open", "")
    expect(page.locator("#groups details.fold")).not_to_have_attribute("open", "")
