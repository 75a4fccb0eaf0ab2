"""Issue 16 in a browser: the production-shaped built-in (60 partitions, RF 3, keyed
orders at 20,000 a second, six consumers, a broker crash) plays within the web's caps.

The run is large: its frames are sampled (about one per 1/1000 of the duration), streamed
over the websocket and played like any other; the page shows the crash and the new
leaders, and the verdict that nothing acknowledged was lost.
"""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from playground import scenarios
from simcore import builtin_scenario, simulate
from tests.browser.helpers import EVERY_FRAME, scrub_to_time

SLUG = "production-topic-broker-dies"


def test_the_production_topic_plays_with_sampled_frames(
    page: Page, live_url: str, artifacts: Path
) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    every = len(simulate(builtin_scenario(SLUG)).frames())

    page.goto(f"{live_url}/r/{scenarios.save(builtin_scenario(SLUG))}")
    page.wait_for_function(EVERY_FRAME, timeout=60_000)
    total = int(page.locator("#player").get_attribute("data-total") or 0)
    assert 100 <= total < every  # sampled to the frames' budget (60 partitions a frame)
    expect(page.locator("#cluster .lost .count")).to_have_text("0")
    expect(page.locator(".headline")).to_contain_text("Exactly once")
    # counts this large are written with their thousands grouped, in the verdict and the chart
    expect(page.locator('.headline [data-count="once"]')).to_have_text("60,000")
    labels = page.evaluate(
        "() => [...document.querySelectorAll('#chart .ytick text, #chart .y2tick text')]"
        ".map((t) => t.textContent)"
    )
    assert labels and all(re.fullmatch(r"\d{1,3}(,\d{3})*", label) for label in labels), labels
    assert any("," in label for label in labels), labels

    # the last step is the end of the run: no cap stopped it
    scrub_to_time(page, 24_000)
    assert page.evaluate("() => Number(document.querySelector('.at-step').value)") == 24_000
    # the producer's counts at this step, thousands grouped like the verdict's
    expect(page.locator('tr[data-producer="p1"] td[data-col="acked"]')).to_have_text("60,000")
    sends = page.locator('tr[data-producer="p1"] td[data-col="sends"]').text_content() or ""
    assert re.fullmatch(r"\d{1,3}(,\d{3})+", sends), sends

    # 12 s: broker-2 is dead, not yet fenced; it still leads its ten partitions.
    scrub_to_time(page, 12_000)
    dead = page.locator('#cluster .brokers [data-broker="2"]')
    expect(dead.locator(".bstate")).to_have_text("dead")
    expect(dead.locator(".leads")).to_contain_text("orders-2")

    # 18 s: fenced at 17 s; broker-3 leads orders-2 now.
    scrub_to_time(page, 18_000)
    expect(page.locator('#cluster .brokers [data-broker="3"] .leads')).to_contain_text("orders-2,")
    page.locator("#cluster").screenshot(path=artifacts / "production-topic-after-fencing.png")
    assert errors == []
