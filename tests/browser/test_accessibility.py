"""Issue 10: axe-core finds no serious or critical issue on the gallery, a scenario page
before and after a crash, the compare page and the embed; the charts have a text
alternative; the player works from the keyboard alone.

axe-core is vendored (static/vendor/axe.min.js, npm axe-core 4.14.1, MPL-2.0) and served
by the app like every other asset: the test adds it to the page from the server.
"""

from __future__ import annotations

import json
from typing import Any

from playwright.sync_api import Page, expect

from playground import scenarios
from simcore import builtin_scenario
from tests.browser.helpers import EVERY_FRAME

AXE = "/static/vendor/axe.min.js"
BLOCKING = ("serious", "critical")


def _serious(page: Page, live_url: str) -> list[dict[str, Any]]:
    page.add_script_tag(url=live_url + AXE)
    violations = page.evaluate(
        """async () => (await axe.run(document, { resultTypes: ["violations"] })).violations
            .map((v) => ({ id: v.id, impact: v.impact, help: v.help,
                           nodes: v.nodes.map((n) => n.target.join(" ")) }))"""
    )
    return [v for v in violations if v["impact"] in BLOCKING]


def _loaded(page: Page) -> None:
    page.wait_for_function(EVERY_FRAME)
    page.locator("#chart .main-svg").first.wait_for()


def test_axe_finds_nothing_serious_on_every_kind_of_page(page: Page, live_url: str) -> None:
    found: dict[str, list[dict[str, Any]]] = {}
    page.goto(live_url + "/")
    found["gallery"] = _serious(page, live_url)

    slug = scenarios.save(builtin_scenario("librdkafka-auto-commit"))
    page.goto(f"{live_url}/r/{slug}")
    _loaded(page)
    found["scenario"] = _serious(page, live_url)

    page.locator('[data-consumer="c1"]').get_by_role(
        "button", name="crash the consumer here"
    ).click()
    page.wait_for_url(f"**?compare={slug}")
    _loaded(page)
    found["after a crash"] = _serious(page, live_url)

    compare = page.locator(f"a[href^='/compare/{slug}/']").first.get_attribute("href")
    page.goto(live_url + str(compare))
    expect(page.locator("#compare")).to_be_visible()
    found["compare"] = _serious(page, live_url)

    page.goto(f"{live_url}/embed/{slug}")
    _loaded(page)
    found["embed"] = _serious(page, live_url)

    # records processed twice (the amber outcome), and each newer chapter's own panels
    for other in (
        "java-auto-commit",
        "eos-pipeline-crash",
        "follower-fetching-slow-follower",
        "idempotent-sink-vs-naive-sink",
        "consumer-lacks-group-read",
    ):
        page.goto(f"{live_url}/r/{scenarios.save(builtin_scenario(other))}")
        _loaded(page)
        found[other] = _serious(page, live_url)
    assert found == {name: [] for name in found}, json.dumps(found, indent=1)


def test_the_chart_has_a_table_for_screen_readers(page: Page, live_url: str) -> None:
    page.goto(f"{live_url}/r/{scenarios.save(builtin_scenario('librdkafka-auto-commit'))}")
    _loaded(page)
    chart = page.locator("#chart")
    expect(chart).to_have_attribute("role", "figure")
    expect(chart).to_have_attribute("aria-describedby", "chart-table")
    table = page.locator("#chart-table")
    expect(table.locator("th[scope=col]").first).to_have_text("time (ms)")
    times = table.locator("th[scope=row]").all_text_contents()
    assert times[0] == "0" and "5500" in times  # the start and the crash, among others
    row = table.locator("tr", has=page.locator("th[scope=row]", has_text="5500"))
    headers = table.locator("th[scope=col]").all_text_contents()
    values = dict(zip(headers[1:], row.locator("td").all_text_contents(), strict=True))
    assert values["billing/orders-0 committed"] == "1"  # committed past offset 0 at the crash


def test_the_player_works_from_the_keyboard_alone(page: Page, live_url: str) -> None:
    page.goto(f"{live_url}/r/{scenarios.save(builtin_scenario('librdkafka-auto-commit'))}")
    _loaded(page)
    # Tab from the top of the page to the player's buttons, and use them with Enter.
    step = page.get_by_role("button", name="Step", exact=True)
    for _ in range(40):
        page.keyboard.press("Tab")
        if step.evaluate("(b) => b === document.activeElement"):
            break
    else:
        raise AssertionError("the Step button is not reachable with Tab")
    page.keyboard.press("Enter")
    expect(page.locator("#player")).to_have_attribute("data-step", "1")
    page.keyboard.press("Shift+Tab")  # to Play
    page.keyboard.press("Enter")
    expect(page.locator("#player")).to_have_attribute("data-playing", "true")
    page.keyboard.press("Enter")
    expect(page.locator("#player")).to_have_attribute("data-playing", "false")
    # The scrubber moves with the arrow keys once focused.
    page.locator(".scrub").focus()
    before = int(page.get_attribute("#player", "data-step") or 0)
    page.keyboard.press("ArrowRight")
    expect(page.locator("#player")).to_have_attribute("data-step", str(before + 1))
    # The event log, a scrolled region, can be reached and read.
    expect(page.locator("#events")).to_have_attribute("tabindex", "0")


def test_headings_never_skip_a_level(page: Page, live_url: str) -> None:
    # a description's "## What to watch" is an h3 under its card's h2 (it was an h4)
    found = {}
    for name, path in [
        ("scenario", f"/r/{scenarios.save(builtin_scenario('librdkafka-auto-commit'))}"),
        ("course", "/course/kafka-semantics"),
    ]:
        page.goto(live_url + path)
        page.add_script_tag(url=live_url + AXE)
        found[name] = page.evaluate(
            """async () => (await axe.run(document, { runOnly: ["heading-order"] }))
                .violations.map((v) => v.nodes.map((n) => n.target.join(" ")))"""
        )
    assert found == {"scenario": [], "course": []}, found
    assert page.locator("h3").count() > 0
