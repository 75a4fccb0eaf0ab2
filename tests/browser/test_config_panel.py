"""The config panel in a browser: htmx swaps in the error beside the field, no reload."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from playground import scenarios
from simcore import Scenario

FIELD = "consumers[0].config.auto.commit.interval.ms"


def test_a_bad_quick_field_is_flagged_in_place_then_a_good_one_saves(
    page: Page, live_url: str, calm_scenario: Scenario
) -> None:
    slug = scenarios.save(calm_scenario)
    page.goto(f"{live_url}/r/{slug}")
    page.evaluate("() => { window.stillTheSamePage = true; }")

    page.locator(f'input[name="{FIELD}"]').fill("-1")
    page.get_by_role("button", name="Apply and replay").click()
    error = page.locator(f'#config .error[data-field="{FIELD}"]')
    expect(error).to_be_visible()
    assert page.evaluate("() => window.stillTheSamePage") is True  # swapped, not reloaded
    assert page.url == f"{live_url}/r/{slug}"
    expect(page.locator(f'input[name="{FIELD}"]')).to_have_value("-1")

    page.locator(f'input[name="{FIELD}"]').fill("1000")
    page.get_by_role("button", name="Apply and replay").click()
    page.wait_for_url(lambda url: "/r/" in url and not url.endswith(slug))
    expect(page.locator(f'input[name="{FIELD}"]')).to_have_value("1000")
