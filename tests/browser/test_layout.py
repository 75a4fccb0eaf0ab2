"""Every page fits the screen's width: no sideways scrolling on a projector, a laptop, a
tablet or a phone (issue 10)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from playground import scenarios
from simcore import Scenario, builtin_scenario

WIDTHS = (1366, 1024, 768, 390)


def _overflow(page: Page) -> int:
    return int(
        page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    )


@pytest.mark.parametrize("width", WIDTHS)
def test_no_page_scrolls_sideways(
    page: Page, live_url: str, calm_scenario: Scenario, width: int
) -> None:
    page.set_viewport_size({"width": width, "height": 800})
    slug = scenarios.save(calm_scenario)
    other = scenarios.save(builtin_scenario("librdkafka-store-after-processing"))
    busy = scenarios.save(builtin_scenario("eager-scale-out"))  # groups, lag, 4 consumers
    lost = scenarios.save(builtin_scenario("acks-1-leader-dies"))  # replicas, lost records
    paths = ("/", f"/r/{slug}", f"/r/{busy}", f"/r/{lost}", f"/compare/{slug}/{other}")
    for path in (*paths, f"/embed/{slug}"):
        page.goto(live_url + path)
        page.wait_for_load_state("networkidle")
        assert _overflow(page) <= 0, f"{path} at {width} px scrolls sideways"
