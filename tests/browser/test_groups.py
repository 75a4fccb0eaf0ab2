"""Issue 4 in a browser: one slow consumer on four partitions; add three, see the lag fall;
slow it down, see the lag grow with no rebalance.

Each press of "add a consumer" adds a consumer like c1 at the current step and replays;
the new run opens at that step, so the next press adds the next consumer at the same
time. "Slow down ×5" makes c1 itself slower from the current step on. The lag chart's
total is read from the Plotly graph's data.
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
        before = page.url
        page.locator('[data-consumer="c1"]').get_by_role("button", name="add a consumer").click()
        # The button posts in the background and then opens the new run: wait for it.
        page.wait_for_url(lambda url, before=before: url != before and "?compare=" in url)
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


SLOW_AT_MS = 10_000


def test_slow_the_consumer_down_and_see_the_lag_grow_without_a_rebalance(
    page: Page, live_url: str, artifacts: Path
) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    slug = scenarios.save(slow_consumer())
    page.goto(f"{live_url}/r/{slug}")
    before = _last_total_lag(page)
    scrub_to_time(page, SLOW_AT_MS)
    at = _at_ms(page)
    rebalances = page.locator("#groups .rebalances tbody tr[data-rebalance]").count()

    page.locator('[data-consumer="c1"]').get_by_role("button", name="slow down ×5").click()
    page.wait_for_url(f"**?compare={slug}")
    assert _last_total_lag(page) > before
    page.wait_for_function(EVERY_FRAME)
    assert _at_ms(page) == at  # opens where the button was pressed
    expect(page.locator("[data-consumer]")).to_have_count(1)  # the same consumer, slower
    expect(page.locator('[data-consumer="c1"] .meta .change')).to_have_text(
        f"→ 2500 ms from {at} ms injected"
    )
    expect(page.locator("#compare .config-changes li")).to_have_count(1)
    expect(page.locator("#compare .config-changes")).to_contain_text(
        "consumers[0].processing_changes[0]"
    )
    expect(page.locator("#compare .changes")).to_contain_text("group billing: total lag")
    expect(page.locator("#groups .rebalances tbody tr[data-rebalance]")).to_have_count(rebalances)
    change = page.locator("#events li.injected", has_text="c1 now takes 2500 ms per record")
    expect(change).to_have_count(1)
    expect(change).to_contain_text("injected")
    page.screenshot(path=artifacts / "groups-slowed-down.png", full_page=True)
    page.locator("#compare").screenshot(path=artifacts / "groups-slowed-down-compare.png")
    page.locator(".card.consumers").screenshot(path=artifacts / "groups-slowed-down-consumer.png")
    assert errors == []


def test_the_consumer_protocol_hands_partitions_over_on_heartbeats(
    page: Page, live_url: str, artifacts: Path
) -> None:
    """KIP-848 in the group view: at 24 s c2 has let go of orders-3 (21.0 s), which c3 took
    with its next heartbeat (21.5 s), and c1 has let go of orders-1 (23.0 s), which c4 gets
    only with its next heartbeat (26.5 s)."""
    from simcore import builtin_scenario

    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{live_url}/r/{scenarios.save(builtin_scenario('consumer-protocol-scale-out'))}")
    group = page.locator('#groups .group[data-group="billing"]')
    expect(group.locator(".ghead")).to_contain_text("group epoch")
    expect(group.locator(".ghead")).to_contain_text("consumer protocol (KIP-848)")
    scrub_to_time(page, 24_000)
    members = group.locator(".members li")
    expect(members).to_have_count(4)
    expect(group.locator('[data-field="generation"]')).to_have_text("4")
    expect(group.locator('[data-field="state"]')).to_have_text("Reconciling")
    expect(members.nth(0)).to_contain_text("member epoch 4")
    owned = [members.nth(k).locator(".part-chip").count() for k in range(4)]
    assert owned == [1, 1, 1, 0]  # orders-1 is in nobody's hands
    scrub_to_time(page, 26_600)
    expect(group.locator('[data-field="state"]')).to_have_text("Stable")
    for k in range(4):
        expect(members.nth(k).locator(".part-chip")).to_have_count(1)
    page.locator("#groups").screenshot(path=artifacts / "groups-consumer-protocol.png")
    assert errors == []
