"""Issue 14 in a browser: the exactly-once and the at-least-once pipeline side by side in
compare mode (the same crash between producing and committing: duplicates only on the
at-least-once side), and a transactional run's strip with its markers, aborted records
and LSO, and the transaction coordinator in the cluster view."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from playground import scenarios
from simcore import builtin_scenario
from tests.browser.helpers import scrub_to_time


def test_compare_the_exactly_once_and_at_least_once_pipelines(
    page: Page, live_url: str, artifacts: Path
) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    alo = scenarios.save(builtin_scenario("alo-pipeline-crash"))
    eos = scenarios.save(builtin_scenario("eos-pipeline-crash"))
    page.goto(f"{live_url}/compare/{alo}/{eos}")
    old = page.locator('#compare [data-side="old"] tr[data-pipeline="invoicer"]')
    new = page.locator('#compare [data-side="new"] tr[data-pipeline="invoicer"]')
    expect(old).to_have_attribute("data-mode", "at-least-once")
    expect(old).to_have_attribute("data-duplicates", "3")
    expect(new).to_have_attribute("data-mode", "exactly-once")
    expect(new).to_have_attribute("data-duplicates", "0")
    expect(page.locator('#compare [data-side="old"]')).to_contain_text(
        "results written twice: shop#40, shop#41, shop#42"
    )
    expect(page.locator('#compare [data-side="new"]')).not_to_contain_text("results written twice")
    page.screenshot(path=artifacts / "transactions-compare.png", full_page=True)
    assert errors == []


def test_the_strip_shows_markers_aborted_records_and_the_lso(
    page: Page, live_url: str, artifacts: Path
) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    slug = scenarios.save(builtin_scenario("txn-read-committed-vs-uncommitted"))
    page.goto(f"{live_url}/r/{slug}")
    # mid transaction 2: its records are above the LSO, below the HW
    scrub_to_time(page, 900)
    strip = page.locator('.strip[data-partition="payments-0"]').first
    expect(strip.locator('[data-marker="lso"]')).to_have_attribute("data-offset", "12")
    expect(strip.locator('.cell[data-fate="marker"][data-offset="11"]').first).to_be_visible()
    # at the end: the ABORT marker at 22 and the aborted records 12..21
    scrub_to_time(page, 5000)
    expect(strip.locator('.cell[data-fate="marker"][data-offset="22"]').first).to_be_visible()
    expect(strip.locator('.cell[data-aborted="true"][data-offset="15"]').first).to_be_visible()
    expect(strip.locator('[data-marker="lso"]')).to_have_count(0)  # LSO = HW again
    coordinator = page.locator('#cluster [data-txn-coordinator="payments-app"] .txn-now')
    expect(coordinator).to_have_text("broker-2 · CompleteCommit · producer epoch 0")
    page.screenshot(path=artifacts / "transactions-strip.png", full_page=True)
    assert errors == []
