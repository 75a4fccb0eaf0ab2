"""Issue 4 in a browser: one slow consumer on four partitions; add three, see the lag fall.

Each press of "add a consumer" adds a consumer like c1 at the current step and replays;
the new run opens at that step, so the next press adds the next consumer at the same
time. The lag chart's total is read from the Plotly graph's data.
"""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from playground import scenarios
from tests.browser.helpers import EVERY_FRAME, scrub_to_time
from tests.web.helpers import slow_consumer

ADD_AT_MS = 20_000


def _last_total_lag(page: Page) -> float:
    page.wait_for_function(
        "() => { const c = document.getElementById('lag-chart');"
        " return c.dataset.drawn && c.data; }"
    )
    return page.evaluate(
        """() => {
            const total = document.getElementById('lag-chart').data
                .find((t) => t.name === 'billing total');
            return total.y[total.y.length - 1];
        }"""
    )


def _at_ms(page: Page) -> int:
    return int(page.locator('[data-consumer="c1"] .at-step').first.input_value())


def test_add_three_consumers_and_see_the_lag_chart_fall(
    page: Page, live_url: str, artifacts: Path
) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    slug = scenarios.save(slow_consumer())
    page.goto(f"{live_url}/r/{slug}")
    lags = [_last_total_lag(page)]
    assert lags[0] > 0
    scrub_to_time(page, ADD_AT_MS)
    at = _at_ms(page)
    assert at >= ADD_AT_MS
    page.screenshot(path=artifacts / "groups-one-consumer.png", full_page=True)

    for added in range(3):
        page.locator('[data-consumer="c1"]').get_by_role("button", name="add a consumer").click()
        page.wait_for_url("**?compare=*")
        lags.append(_last_total_lag(page))
        page.wait_for_function(EVERY_FRAME)
        assert _at_ms(page) == at  # the new run opens where the button was pressed
        expect(page.locator("[data-consumer]")).to_have_count(2 + added)

    assert lags[1] < lags[0]
    assert lags[2] < lags[1]
    assert lags[3] < lags[2]
    expect(page.locator("#compare .changes")).to_contain_text("group billing: total lag")

    # The group view at the end: four members, one partition each, after a rebalance.
    scrub_to_time(page, 10**9)
    members = page.locator('#groups .group[data-group="billing"] .members li')
    expect(members).to_have_count(4)
    for k in range(4):
        expect(members.nth(k).locator(".part-chip")).to_have_count(1)
    expect(page.locator("#groups .rebalances tbody tr")).to_have_count(2)
    page.locator("#groups").screenshot(path=artifacts / "groups-four-consumers.png")
    assert errors == []
