"""Predict, then play: a scenario's questions on its page, answered by the run."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from playground import scenarios
from simcore import builtin_scenario


def test_a_wrong_then_a_right_prediction_are_told_apart(page: Page, live_url: str) -> None:
    # librdkafka auto-commit asks how many orders the group never processes: the run says 1
    page.goto(f"{live_url}/r/{scenarios.save(builtin_scenario('librdkafka-auto-commit'))}")
    box = page.locator("details.predict")
    expect(box).to_contain_text("1 question about this run")
    box.locator("summary").click()
    form = box.locator("form.question").first
    form.locator("input[name=guess]").fill("0")
    form.get_by_role("button", name="Reveal").click()
    verdict = form.locator(".verdict-line")
    expect(verdict).to_have_text("The run says 1; you said 0. Play it to see why.")
    expect(form.get_by_role("button", name="Reveal")).to_be_disabled()
    page.reload()
    page.locator("details.predict summary").click()
    form = page.locator("form.question").first
    form.locator("input[name=guess]").fill("1")
    form.locator("input[name=guess]").press("Enter")
    expect(form.locator(".verdict-line")).to_have_text("Right: the run says 1.")


def test_a_choice_question_offers_its_choices(page: Page, live_url: str) -> None:
    page.goto(f"{live_url}/r/{scenarios.save(builtin_scenario('fifth-consumer-idle'))}")
    page.locator("details.predict summary").click()
    form = page.locator("form.question").first
    expect(form.locator("input[type=radio]")).to_have_count(6)
    form.get_by_label("c4").check()
    form.get_by_role("button", name="Reveal").click()
    expect(form.locator(".verdict-line")).to_have_text("Right: the run says c4.")


def test_a_scenario_without_questions_has_no_box(page: Page, live_url: str) -> None:
    page.goto(f"{live_url}/r/{scenarios.save(builtin_scenario('java-auto-commit'))}")
    expect(page.locator("#player")).to_be_visible()
    expect(page.locator("details.predict")).to_have_count(0)


def test_no_spoilers_hides_the_outcome_and_the_future_until_shown(
    page: Page, live_url: str
) -> None:
    page.set_viewport_size({"width": 1366, "height": 768})
    slug = scenarios.save(builtin_scenario("java-auto-commit"))
    page.goto(f"{live_url}/r/{slug}?spoilers=0")
    page.locator("#chart .main-svg").first.wait_for()
    expect(page.locator(".verdict-box .headline")).to_be_hidden()
    expect(page.locator("#outcome")).to_be_hidden()
    expect(page.locator(".verdict-box")).to_contain_text("At the end of the run")
    veil = page.locator("#chart > .future-mask")
    expect(veil).to_be_visible()
    chart = page.locator("#chart").bounding_box()
    box = veil.bounding_box()
    assert chart and box and box["width"] > chart["width"] / 2, "at step 0, the run is ahead"
    page.keyboard.press("End")  # at the last step, nothing is left to veil
    expect(veil).to_have_css("width", "0px")
    page.get_by_role("button", name="Show the outcome").click()
    expect(page.locator(".verdict-box .headline")).to_be_visible()
    expect(veil).to_be_hidden()


def test_revealing_every_question_lifts_the_veil(page: Page, live_url: str) -> None:
    page.goto(f"{live_url}/r/{scenarios.save(builtin_scenario('librdkafka-auto-commit'))}")
    page.locator("details.predict summary").click()
    page.get_by_label("hide the outcome until I have answered").check()
    expect(page.locator(".verdict-box .headline")).to_be_hidden()
    form = page.locator("form.question").first
    form.locator("input[name=guess]").fill("2")
    form.get_by_role("button", name="Reveal").click()
    expect(page.locator(".verdict-box .headline")).to_be_visible()
