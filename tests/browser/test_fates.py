"""Issue 10: each record's fate in the partition strip, and the captions that tell it.

The librdkafka auto-commit built-in: the timer commits offset 1 while offset 0 is still
being processed, then the consumer crashes — offset 0 is lost to the group, and the strip
must say so at that step (not paint it "read and committed"), with a caption. The acks=1
leader-death built-in: five acknowledged records leave the log at the election; the strip
marks them at the offsets they had.
"""

from __future__ import annotations

import copy
from pathlib import Path

from playwright.sync_api import Page, expect

from playground import scenarios
from simcore import builtin_scenario, parse_scenario
from tests.browser.helpers import EVERY_FRAME, scrub_to_time


def _open(page: Page, live_url: str, name: str) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    slug = scenarios.save(builtin_scenario(name))
    page.goto(f"{live_url}/r/{slug}")
    page.wait_for_function(EVERY_FRAME)
    expect(page.locator("#player")).to_have_attribute("data-fates", "records")
    return errors


def _fate(page: Page, offset: int) -> str | None:
    return page.locator(f'.strip .cells.fates [data-offset="{offset}"]').get_attribute("data-fate")


def test_offset_0_is_marked_lost_to_the_group_at_the_crash(
    page: Page, live_url: str, artifacts: Path
) -> None:
    errors = _open(page, live_url, "librdkafka-auto-commit")
    legend = page.get_by_label("Legend of the partition strip")
    expect(legend.get_by_text("skipped (lost to the group)")).to_be_visible()

    # Polled at 3010 ms, still being processed: in progress, by c1.
    scrub_to_time(page, 4000)
    assert _fate(page, 0) == "progress"
    expect(page.locator('.cells.fates [data-offset="0"]')).to_have_attribute(
        "title", "offset 0 · p1#0 · billing: in progress by c1"
    )
    # 5001 ms: the auto-commit stores offset 1 while offset 0 is in progress.
    scrub_to_time(page, 5001)
    cell = page.locator('.cells.fates [data-offset="0"]')
    expect(cell).to_have_class("cell f-progress at-risk")
    expect(page.locator(".caption")).to_contain_text("commits offset 1 on orders-0")

    # The crash: offset 0 was never processed, and the committed offset is past it.
    scrub_to_time(page, 5500)
    assert _fate(page, 0) == "skipped"
    assert _fate(page, 1) == "unread"  # the restart will read it
    caption = page.locator(".caption")
    expect(caption).to_contain_text("c1 crashes")
    expect(caption).to_contain_text("lost to billing")
    page.screenshot(path=artifacts / "fates-crash.png")

    # To the end: offset 0 stays lost to the group; 1 and 2 are processed once.
    scrub_to_time(page, 10**9)
    assert [_fate(page, k) for k in range(3)] == ["skipped", "once", "once"]
    # The ledger uses the same colour for the same fate.
    colour = cell.evaluate("(c) => getComputedStyle(c).backgroundColor")
    swatch = page.locator('tr[data-message="p1#0"] td.outcome').evaluate(
        "(td) => getComputedStyle(td, '::before').backgroundColor"
    )
    assert swatch == colour

    # Clicking the record opens its story beside the strip.
    cell.click()
    story = page.locator("#record-story")
    expect(story.locator("h3")).to_have_text("Story of p1#0")
    expect(story).to_contain_text("crashes")
    assert errors == []


def test_acknowledged_records_lost_at_the_election_are_marked(
    page: Page, live_url: str, artifacts: Path
) -> None:
    errors = _open(page, live_url, "acks-1-leader-dies")
    ghosts = page.locator(".strip .lost-row .ghost")

    # Acknowledged by the leader alone, not yet lost: above the HW, nothing in the lost row.
    scrub_to_time(page, 50)
    assert [_fate(page, k) for k in range(5)] == ["above-hw"] * 5
    expect(ghosts).to_have_count(0)

    # The election of broker-1, which never had them: five acknowledged records are gone.
    scrub_to_time(page, 9055)
    expect(ghosts).to_have_count(5)
    offsets = [ghosts.nth(k).get_attribute("data-offset") for k in range(5)]
    assert offsets == ["0", "1", "2", "3", "4"]
    expect(ghosts.first).to_have_attribute("data-message", "p1#0")
    expect(page.locator(".caption")).to_contain_text("5 acknowledged records leave the log")
    page.screenshot(path=artifacts / "fates-election.png")

    # Later the new records take the offsets; the lost ones stay marked where they were.
    scrub_to_time(page, 10**9)
    expect(ghosts).to_have_count(5)
    assert [_fate(page, k) for k in range(5)] == ["once"] * 5
    ghosts.nth(2).click()
    expect(page.locator("#record-story h3")).to_have_text("Story of p1#2")
    assert errors == []


def _big_run() -> str:
    """slow-consumer-lag-grows with 12,000 records: over simcore's 5,000, no per-record rows."""
    source = copy.deepcopy(scenarios.source_of(builtin_scenario("slow-consumer-lag-grows")))
    source["producers"][0].update(messages=12000, rate_per_s=300)
    source["consumers"][0]["processing_ms"] = 5
    return scenarios.save(parse_scenario(source))


def test_a_big_run_colours_ranges_by_the_offsets(page: Page, live_url: str) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{live_url}/r/{_big_run()}")
    page.wait_for_function(EVERY_FRAME)
    expect(page.locator("#player")).to_have_attribute("data-fates", "offsets")
    expect(page.get_by_label("Legend of the partition strip")).to_contain_text(
        "ranges coloured by the offsets"
    )
    scrub_to_time(page, 20000)
    strip = page.locator('.strip[data-partition="orders-0"]')
    committed = int(strip.locator('[data-marker="committed"]').get_attribute("data-offset") or 0)
    position = int(strip.locator('[data-marker="position"]').get_attribute("data-offset") or 0)
    assert 0 < committed < position  # polled ahead of its last commit
    cells = strip.locator(".cells.ranges .cell")
    fates = cells.evaluate_all("(cs) => cs.map((c) => [Number(c.dataset.offset), c.dataset.fate])")
    below = [fate for offset, fate in fates[1:] if offset < committed - 30]
    assert below and set(below) == {"committed"}
    held = [fate for offset, fate in fates if committed + 30 <= offset < position - 30]
    assert held and set(held) == {"progress"}
    assert fates[-1][1] in ("future", "unread", "above-hw")
    assert errors == []


FOCUSED = (
    "() => { const a = document.activeElement;"
    " return a && a.matches('.strips [data-message]')"
    " ? {key: a.dataset.key, offset: Number(a.dataset.offset), message: a.dataset.message}"
    " : null; }"
)


def test_the_strips_records_are_operable_by_keyboard_alone(page: Page, live_url: str) -> None:
    """Tab reaches one record of the strips (a roving tabindex: one stop, not one per
    cell); arrows move between records without stepping the player; Enter opens the story;
    the player's own shortcuts work again once the focus leaves the strips."""
    errors = _open(page, live_url, "librdkafka-auto-commit")
    page.keyboard.press("End")  # every record written
    step = page.get_attribute("#player", "data-step")
    page.get_by_role("button", name="Play", exact=True).focus()
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate(FOCUSED):
            break
    first = page.evaluate(FOCUSED)
    assert first is not None, "Tab never reached a record of the strips"
    assert page.locator('.strips [data-message][tabindex="0"]').count() == 1
    page.keyboard.press("ArrowRight")
    second = page.evaluate(FOCUSED)
    assert second is not None and second["offset"] > first["offset"]
    assert page.get_attribute("#player", "data-step") == step  # the arrow moved the focus only
    assert page.locator('.strips [data-message][tabindex="0"]').count() == 1
    page.keyboard.press("Enter")
    expect(page.locator("#record-story")).to_contain_text(f"Story of {second['message']}")

    page.keyboard.press("Shift+Tab")  # out of the strips, back towards the controls
    assert page.evaluate(FOCUSED) is None
    page.keyboard.press("Home")
    assert page.get_attribute("#player", "data-step") == "0"
    page.keyboard.press("End")  # the record the keyboard left is still the strips' Tab stop
    page.keyboard.press("Tab")
    assert (page.evaluate(FOCUSED) or {}).get("key") == second["key"]
    assert errors == []


def test_a_rebalance_caption_says_the_rebalance_ended(page: Page, live_url: str) -> None:
    # txn-zombie-fencing's only caption: group books' rebalance, 3 ms to 5 ms; at 8000 ms it
    # still said "until it ends, the partitions it moves are not processed"
    page.goto(f"{live_url}/r/{scenarios.save(builtin_scenario('txn-zombie-fencing'))}")
    scrub_to_time(page, 3)
    caption = page.locator(".caption")
    expect(caption).to_contain_text("Until it ends")
    expect(caption).not_to_contain_text("It ended at")
    scrub_to_time(page, 8000)
    expect(caption).to_contain_text(
        "Until it ends, the partitions it moves are not processed. It ended at 5 ms."
    )
    expect(caption).to_have_attribute("data-ended", "true")
