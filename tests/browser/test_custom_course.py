"""An instructor makes a course from two permalinks, walks it alone, and teaches it in a
room (course_views, custom_courses), in a real browser on a real Daphne."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from playground import scenarios
from simcore import builtin_scenario
from tests.browser.helpers import EVERY_FRAME
from tests.browser.test_accessibility import AXE
from tests.browser.test_accessibility import _serious as serious


def serious_in(page: Page, live_url: str, selector: str) -> list[str]:
    """axe-core's serious or critical findings inside `selector` (the run's own panels are
    test_accessibility's)."""
    page.add_script_tag(url=live_url + AXE)
    found: list[str] = page.evaluate(
        """async (s) => (await axe.run(s, { resultTypes: ["violations"] })).violations
            .filter((v) => ["serious", "critical"].includes(v.impact)).map((v) => v.id)""",
        selector,
    )
    return found


JOIN_MS = 20_000  # a page, its run's stream and the room's socket, on a loaded machine


def test_a_course_from_two_permalinks_is_walked_and_taught_in_a_room(
    page: Page, live_url: str
) -> None:
    first = scenarios.save(builtin_scenario("java-auto-commit"))
    second = scenarios.save(builtin_scenario("acks-1-leader-dies"))
    first_name = builtin_scenario("java-auto-commit").name
    second_name = builtin_scenario("acks-1-leader-dies").name

    # collect: the permalink of a scenario page, as the instructor copies it
    page.goto(f"{live_url}/r/{first}")
    permalink = live_url + page.locator(".title-row a.permalink").get_attribute("href")  # type: ignore[operator]

    page.goto(f"{live_url}/courses/new")
    assert serious(page, live_url) == []
    page.get_by_label("Title").fill("Commits, then acks")
    page.get_by_label("Runs, one a line").fill(
        f"# Commits\n{permalink} watch the committed offset\n# Durability\n/r/{second}\n"
    )
    page.get_by_role("button", name="Make the course").click()
    expect(page).to_have_url(re.compile(r"/c/[0-9a-f]{16}$"))
    course_url = page.url
    expect(page.locator("h1")).to_have_text("Commits, then acks")
    expect(page.locator(".course-chapter h2")).to_have_text(["1. Commits", "2. Durability"])

    # walk it alone: start, next, previous
    page.get_by_role("link", name="Start the course").click()
    expect(page).to_have_url(f"{course_url}/1")
    expect(page.locator(".title-row h1")).to_have_text(first_name)
    expect(page.locator(".course-walk .course-watch")).to_contain_text("watch the committed offset")
    page.wait_for_function(EVERY_FRAME)
    page.get_by_role("link", name="next ▶").click()
    expect(page).to_have_url(f"{course_url}/2")
    expect(page.locator(".title-row h1")).to_have_text(second_name)
    expect(page.locator(".course-walk-position")).to_have_text("2")
    expect(page.get_by_role("link", name="next ▶")).to_have_count(0)  # the last one
    page.get_by_role("link", name="◀ previous").click()
    expect(page).to_have_url(f"{course_url}/1")
    page.wait_for_function(EVERY_FRAME)
    assert serious_in(page, live_url, ".course-walk") == []

    # teach it: a room that starts at the course's first run and moves to the next
    page.get_by_role("link", name="Commits, then acks").click()
    page.get_by_role("button", name="teach this course in a workshop room").click()
    expect(page.locator("#room .room-status")).to_have_text(
        "You control this room.", timeout=JOIN_MS
    )
    expect(page.locator(".room-course")).to_contain_text("Commits, then acks · scenario 1 of 2")
    expect(page.locator("#room")).to_have_attribute("data-slug", first)
    expect(page.locator(".room-watch")).to_contain_text("watch the committed offset")
    page.get_by_role("button", name="next ▶").click()
    expect(page.locator("#room")).to_have_attribute("data-slug", second, timeout=JOIN_MS)
    expect(page.locator(".room-position")).to_have_text("2")
    expect(page.locator(".title-row h1")).to_have_text(second_name)
    # the room page's sockets carry its seat; the player's own links still name the run
    page.get_by_role("button", name="copy link at this step").click()
    expect(page.locator(".step-link")).to_have_value(re.compile(rf"/r/{second}(\?at=\d+)?$"))


def test_runs_collected_on_their_pages_start_the_builders_list(page: Page, live_url: str) -> None:
    first = scenarios.save(builtin_scenario("java-auto-commit"))
    second = scenarios.save(builtin_scenario("acks-1-leader-dies"))
    for slug in (first, second):
        page.goto(f"{live_url}/r/{slug}")
        page.get_by_role("button", name="add to a course").click()
        expect(page.locator("button.collect-run")).to_have_text("in your course ✓")
    expect(page.locator(".collect-make")).to_have_text("make the course (2 runs)")
    page.locator(".collect-make").click()
    expect(page.locator(".collected-note")).to_contain_text("2 runs you collected")
    expect(page.get_by_label("Runs, one a line")).to_have_value(
        f"# Chapter 1\n/r/{first} \n/r/{second} \n"
    )
    page.get_by_label("Title").fill("Collected")
    page.get_by_role("button", name="Make the course").click()
    expect(page).to_have_url(re.compile(r"/c/[0-9a-f]{16}$"))
    expect(page.locator(".course-chapter li")).to_have_count(2)
    page.goto(f"{live_url}/courses/new")  # made: the collection is forgotten
    expect(page.get_by_label("Runs, one a line")).to_have_value("")
