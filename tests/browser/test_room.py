"""A class in a workshop room: one instructor and two participants, each in a browser
context of their own (separate storage, as separate laptops), on a real Daphne."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from playground import scenarios
from simcore import builtin_scenario
from simcore.scenario.courses import courses
from tests.browser.helpers import EVERY_FRAME
from tests.browser.test_accessibility import _serious as serious

COURSE_LENGTH = len(courses()["kafka-semantics"].order())  # every chapter's built-ins

LOST = "acks=1: the leader acknowledges"  # position 12 of the course; its name tells the outcome
JOIN_MS = 20_000  # a page, its run's stream and the room's socket, on a loaded machine
STEP = "document.getElementById('player').dataset.step"  # a JavaScript expression


@pytest.fixture
def contexts(browser: Browser) -> Iterator[list[BrowserContext]]:
    made = [browser.new_context(viewport={"width": 1366, "height": 900}) for _ in range(3)]
    yield made
    for context in made:
        context.close()


def step_of(page: Page) -> int:
    return int(page.evaluate(f"() => {STEP}"))


def histogram(page: Page) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = page.eval_on_selector_all(
        ".room-histogram li", "items => items.map(i => [i.dataset.value, i.dataset.count])"
    )
    return [tuple(r) for r in rows]  # type: ignore[misc]


def control_from(page: Page, code: str) -> dict[str, Any]:
    """A participant's own websocket (with its stored key) sends a control message: the
    server's answer."""
    answer: dict[str, Any] = page.evaluate(
        """(code) => new Promise((resolve) => {
            const socket = new WebSocket(`ws://${location.host}/ws/rooms/${code}`);
            const key = localStorage.getItem(`playground:room:${code}`);
            socket.onopen = () => socket.send(JSON.stringify({ type: "join", key }));
            socket.onmessage = (event) => {
                const message = JSON.parse(event.data);
                if (message.type === "state") socket.send(JSON.stringify(
                    { type: "control", action: "seek", step: 0, at_ms: 0 }));
                if (message.type === "error") { socket.close(); resolve(message); }
            };
        })""",
        code,
    )
    return answer


def test_a_class_follows_the_instructor_predicts_and_sees_the_same_reveal(
    contexts: list[BrowserContext], live_url: str
) -> None:
    teacher, ada, bob = (context.new_page() for context in contexts)
    asked: list[str] = []  # Ada's requests: the outcome comes over the room's socket
    ada.on("request", lambda request: asked.append(request.url))
    teacher.goto(f"{live_url}/course/kafka-semantics")
    teacher.get_by_role("button", name="teach this course in a workshop room").click()
    expect(teacher.locator("#room .room-status")).to_have_text("You control this room.")
    code = teacher.locator(".room-code").inner_text()

    for page, name in ((ada, "Ada"), (bob, "<b>Bob</b>")):
        page.goto(live_url)
        page.get_by_label("In a workshop? Type the room's code").fill(code.lower())
        page.get_by_role("button", name="Join the room").click()
        page.get_by_label("Your name").fill(name)
        page.get_by_role("button", name="Join", exact=True).click()
        expect(page.locator(".room-follow-text")).to_have_text(
            "Following the instructor.", timeout=JOIN_MS
        )
    expect(teacher.locator(".room-joined")).to_have_text("2")
    expect(teacher.locator(".room-names")).to_have_text("(<b>Bob</b>, Ada)")  # inert text

    # the instructor moves to the acks=1 scenario: everyone's page follows
    teacher.locator(".room-goto").select_option(index=11)
    for page in (teacher, ada, bob):
        expect(page.locator(".room-position")).to_have_text("12")
        page.wait_for_function(EVERY_FRAME)
    expect(teacher.locator(".title-row h1")).to_contain_text(LOST)
    for page in (ada, bob):  # no spoilers: neither the name nor the outcome
        expect(page.locator(".title-row h1")).to_have_text(
            f"Room {code}: scenario 12 of {COURSE_LENGTH}"
        )
        expect(page.locator("#outcome")).to_be_hidden()
        expect(page.locator(".verdict-box .headline")).to_be_hidden()
        # ... and not in the page at all: withheld by the server until the reveal
        expect(page.locator("[data-verdict]")).to_have_count(0)
        expect(page.locator("#outcome table")).to_have_count(0)

    # the instructor steps; the participants are at the same step
    for _ in range(5):
        teacher.get_by_role("button", name="Step", exact=True).click()
    teacher.wait_for_function(f"() => {STEP} === '5'")
    for page in (ada, bob):
        page.wait_for_function(f"() => {STEP} === '5'")

    # Ada explores on her own, then comes back with one click
    ada.get_by_role("button", name="Step", exact=True).click()
    assert step_of(ada) == 6
    back = ada.get_by_role("button", name="Back to the room (step 6)")
    back.click()
    ada.wait_for_function(f"() => {STEP} === '5'")
    expect(ada.locator(".room-follow-text")).to_have_text("Following the instructor.")

    # predict: the instructor asks, both answer, the count arrives, the reveal
    teacher.get_by_role("button", name="Ask: The leader dies right after acknowledging").click()
    for page, guess in ((ada, "5"), (bob, "0")):
        expect(page.locator(".room-ask")).to_contain_text("How many acknowledged orders are lost?")
        page.locator(".room-inputs input").fill(guess)
        page.get_by_role("button", name="Answer").click()
        expect(page.locator(".room-answered")).to_have_text(
            f"Your answer: {guess}. Wait for the reveal."
        )
    expect(teacher.locator(".room-answer-count")).to_have_text("2")

    # a participant's attempt to control the room is refused, and the room stays put
    refused = control_from(bob, code)
    assert refused["field"] == "type" and "only the instructor" in refused["message"], refused
    assert step_of(ada) == 5

    teacher.keyboard.press("r")  # the presenter key for the reveal
    expected = [("0", "1"), ("5", "1")]
    for page in (teacher, ada, bob):
        expect(page.locator(".room-reveal-title")).to_contain_text("The run says 5: 1 of 2 answers")
        page.wait_for_function("() => document.querySelectorAll('.room-histogram li').length === 2")
        assert histogram(page) == expected
        expect(page.locator(".room-histogram li.right")).to_have_attribute("data-value", "5")
        expect(page.locator("#outcome")).to_be_visible()  # the outcome, for everyone
        expect(page.locator(".verdict-box .headline")).to_be_visible()
        expect(page.locator(".title-row h1")).to_contain_text(LOST)
    headlines = {p.locator(".verdict-box .headline").inner_text() for p in (teacher, ada, bob)}
    assert len(headlines) == 1
    assert not [url for url in asked if url.endswith("/outcome")], asked
    # the outcome that came at the reveal is live: a message's story opens from it
    ada.locator("#outcome [data-message] a").first.click()
    expect(ada.locator("#story")).not_to_contain_text("Click a message to see its story.")
    print("ROOM", json.dumps({"code": code, "histogram": expected}))


def test_a_crash_in_the_room_takes_every_participant_to_the_new_run(
    contexts: list[BrowserContext], live_url: str
) -> None:
    slug = scenarios.save(builtin_scenario("java-auto-commit"))
    teacher, ada = contexts[0].new_page(), contexts[1].new_page()
    teacher.goto(f"{live_url}/r/{slug}")
    teacher.get_by_role("button", name="teach this in a workshop room").click()
    expect(teacher.locator("#room .room-status")).to_have_text("You control this room.")
    code = teacher.locator(".room-code").inner_text()
    ada.goto(f"{live_url}/room/{code}")
    ada.get_by_role("button", name="Join", exact=True).click()  # no name: fine
    expect(ada.locator(".room-status")).to_have_text("Joined.")
    teacher.wait_for_function(EVERY_FRAME)
    for _ in range(20):  # of its 30 steps
        teacher.keyboard.press("ArrowRight")
    teacher.wait_for_function(f"() => {STEP} === '20'")
    ada.wait_for_function(f"() => {STEP} === '20'")
    at_ms = int(teacher.locator("form.crash .at-ms").first.input_value())
    teacher.keyboard.press("c")  # crash the first consumer here
    teacher.wait_for_function(f"() => document.getElementById('room').dataset.slug !== '{slug}'")
    new_slug = teacher.evaluate("() => document.getElementById('room').dataset.slug")
    ada.wait_for_function(f"() => document.getElementById('room').dataset.slug === '{new_slug}'")
    for page in (teacher, ada):
        page.wait_for_function(EVERY_FRAME)
        page.wait_for_function(
            "(at) => Number(document.querySelector('.at-step').value) >= at", arg=at_ms
        )
        expect(page.locator(".event-log, #events")).to_contain_text("injected")
    assert step_of(teacher) == step_of(ada)


def test_the_presenter_view_and_its_keys(contexts: list[BrowserContext], live_url: str) -> None:
    teacher, ada = contexts[0].new_page(), contexts[1].new_page()
    teacher.goto(f"{live_url}/course/kafka-semantics")
    teacher.get_by_role("button", name="teach this course in a workshop room").click()
    expect(teacher.locator("#room .room-status")).to_have_text("You control this room.")
    code = teacher.locator(".room-code").inner_text()
    teacher.get_by_role("link", name="presenter view").click()
    expect(teacher.locator("body")).to_have_class(re.compile(r"\broom-presenter\b"))
    expect(teacher.locator(".room-status")).to_have_text("You control this room.", timeout=20000)
    # one screen: the stage, the caption and the room's code; not the instructor's tools
    for hidden in ("header.site", ".room-host", ".about-row", "#outcome", "#config"):
        expect(teacher.locator(hidden).first).to_be_hidden()
    expect(teacher.locator(".room-code")).to_be_visible()
    expect(teacher.locator(".stage")).to_be_visible()
    ada.goto(f"{live_url}/room/{code}")
    ada.get_by_role("button", name="Join", exact=True).click()
    teacher.wait_for_function(EVERY_FRAME)
    ada.wait_for_function(EVERY_FRAME)
    teacher.keyboard.press("ArrowRight")
    teacher.keyboard.press("ArrowRight")
    ada.wait_for_function(f"() => {STEP} === '2'")
    teacher.keyboard.press(" ")
    ada.wait_for_function("() => document.getElementById('player').dataset.playing === 'true'")
    teacher.keyboard.press(" ")
    ada.wait_for_function("() => document.getElementById('player').dataset.playing === 'false'")
    ada.wait_for_function(f"() => {STEP} === String({step_of(teacher)})")
    teacher.keyboard.press("n")  # the next scenario of the course, for everyone
    for page in (teacher, ada):
        expect(page.locator(".room-position")).to_have_text("2")
    expect(teacher.locator("body")).to_have_class(re.compile(r"\broom-presenter\b"))


def test_axe_finds_nothing_serious_on_the_room_pages(
    contexts: list[BrowserContext], live_url: str
) -> None:
    teacher, ada = contexts[0].new_page(), contexts[1].new_page()
    teacher.goto(f"{live_url}/r/{scenarios.save(builtin_scenario('librdkafka-auto-commit'))}")
    teacher.get_by_role("button", name="teach this in a workshop room").click()
    expect(teacher.locator("#room .room-status")).to_have_text("You control this room.")
    ada.goto(f"{live_url}/room/{teacher.locator('.room-code').inner_text()}")
    ada.get_by_role("button", name="Join", exact=True).click()
    teacher.get_by_role("button", name="Ask: c1 crashes while it processes order 0").click()
    ada.locator(".room-inputs input").fill("1")
    ada.get_by_role("button", name="Answer").click()
    expect(ada.locator(".room-answered")).to_be_visible()
    found = {"instructor": serious(teacher, live_url), "participant": serious(ada, live_url)}
    teacher.get_by_role("button", name="Reveal the answer (r)").click()
    expect(ada.locator(".room-histogram li.right")).to_have_attribute("data-value", "1")
    found["participant after the reveal"] = serious(ada, live_url)
    assert found == {name: [] for name in found}, json.dumps(found, indent=1)


def test_a_page_that_misses_the_outcome_message_asks_for_it(
    contexts: list[BrowserContext], live_url: str
) -> None:
    """The room's "outcome" message dropped on its way to Ada's page (a reconnect at the
    wrong moment): her page asks `/room/<code>/outcome` and shows the same headline."""
    slug = scenarios.save(builtin_scenario("acks-1-leader-dies"))
    teacher, ada = contexts[0].new_page(), contexts[1].new_page()
    teacher.goto(f"{live_url}/r/{slug}")
    teacher.get_by_role("button", name="teach this in a workshop room").click()
    expect(teacher.locator("#room .room-status")).to_have_text("You control this room.")
    code = teacher.locator(".room-code").inner_text()

    def drop_outcome(ws: Any) -> None:
        server = ws.connect_to_server()
        server.on_message(lambda m: None if '"type":"outcome"' in str(m) else ws.send(m))

    ada.route_web_socket(re.compile(r"/ws/rooms/"), drop_outcome)
    asked: list[str] = []
    ada.on("request", lambda request: asked.append(request.url))
    ada.goto(f"{live_url}/room/{code}")
    ada.get_by_role("button", name="Join", exact=True).click()
    expect(ada.locator(".room-status")).to_have_text("Joined.", timeout=JOIN_MS)
    expect(ada.locator("[data-verdict]")).to_have_count(0)
    teacher.get_by_role("button", name="Show the outcome to everyone (r)").click()
    expect(ada.locator(".verdict-box [data-verdict]")).to_be_visible(timeout=JOIN_MS)
    assert [url for url in asked if url.endswith(f"/room/{code}/outcome")]
    shown = ada.locator(".verdict-box .headline").inner_text()
    assert shown == teacher.locator(".verdict-box .headline").inner_text()
    expect(ada.locator("#outcome table").first).to_be_visible()


def test_the_revealed_outcomes_forms_get_the_pages_own_csrf_token(
    contexts: list[BrowserContext], live_url: str
) -> None:
    slug = scenarios.save(builtin_scenario("consumer-lacks-group-read"))
    teacher, ada = contexts[0].new_page(), contexts[1].new_page()
    teacher.goto(f"{live_url}/r/{slug}")
    teacher.get_by_role("button", name="teach this in a workshop room").click()
    expect(teacher.locator("#room .room-status")).to_have_text("You control this room.")
    code = teacher.locator(".room-code").inner_text()
    ada.goto(f"{live_url}/room/{code}")
    ada.get_by_role("button", name="Join", exact=True).click()
    expect(ada.locator(".room-status")).to_have_text("Joined.", timeout=JOIN_MS)
    teacher.get_by_role("button", name="Show the outcome to everyone (r)").click()
    ask = ada.locator('#outcome form[action="/acls"] input[name="csrfmiddlewaretoken"]').first
    expect(ask).not_to_have_value("csrf-from-page", timeout=JOIN_MS)
    own = ada.locator('input[name="csrfmiddlewaretoken"]').first.input_value()
    assert ask.input_value() == own and own != "csrf-from-page"
