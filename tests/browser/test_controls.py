"""Issue 10's controls: shortcuts wherever the focus is (not in text fields), the `?` list,
SVG icons, pausing at each caption, time-proportional playback; and the playback figures
(steps per second, frames drawn) printed for the benchmark — measured, never asserted."""

from __future__ import annotations

import json
import re

from playwright.sync_api import Page, expect

from playground import scenarios
from simcore import builtin_scenario
from tests.browser.helpers import EVERY_FRAME, play_at_full_speed

STEP = "() => Number(document.getElementById('player').dataset.step)"


def _open(page: Page, live_url: str, name: str) -> None:
    page.goto(f"{live_url}/r/{scenarios.save(builtin_scenario(name))}")
    page.wait_for_function(EVERY_FRAME)


def _step(page: Page) -> int:
    return int(page.evaluate(STEP))


def test_shortcuts_work_after_a_click_but_not_while_typing(page: Page, live_url: str) -> None:
    _open(page, live_url, "librdkafka-auto-commit")
    page.get_by_role("button", name="Step", exact=True).click()  # the focus is on a button
    assert _step(page) == 1
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert _step(page) == 3  # arrows step once each, not also "press" the focused button
    page.keyboard.press("ArrowLeft")
    assert _step(page) == 2
    page.keyboard.press("End")
    assert _step(page) == int(page.get_attribute("#player", "data-total") or 0) - 1
    page.keyboard.press("Home")
    assert _step(page) == 0

    page.keyboard.press(" ")
    expect(page.locator("#player")).to_have_attribute("data-playing", "true")
    expect(page.get_by_role("button", name="Pause", exact=True)).to_be_visible()
    page.keyboard.press(" ")
    expect(page.locator("#player")).to_have_attribute("data-playing", "false")

    # In a text field keys type: the YAML editor gets the space and the arrows.
    editor = page.locator("textarea").first
    editor.focus()
    before = _step(page)
    page.keyboard.press("End")
    page.keyboard.press(" ")
    page.keyboard.press("ArrowLeft")
    assert _step(page) == before
    expect(page.locator("#player")).to_have_attribute("data-playing", "false")

    # "?" lists the shortcuts; Escape closes the list.
    page.locator("h1").click()
    page.keyboard.press("?")
    overlay = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(overlay).to_be_visible()
    expect(overlay).to_contain_text("play / pause")
    page.keyboard.press("Escape")
    expect(overlay).to_be_hidden()


def test_the_icons_are_svg_not_font_glyphs(page: Page, live_url: str) -> None:
    _open(page, live_url, "librdkafka-auto-commit")
    for name in ("Step back", "Play", "Step"):
        button = page.get_by_role("button", name=name, exact=True)
        expect(button.locator("svg")).to_have_count(1)
        assert (button.text_content() or "").strip() == ""  # no ▶ ⏸ ◀ characters
    play = page.get_by_role("button", name="Play", exact=True)
    play.click()
    pause = page.get_by_role("button", name="Pause", exact=True)
    expect(pause.locator(".i-pause")).to_be_visible()
    expect(pause.locator(".i-play")).to_be_hidden()
    pause.click()


def test_playing_stops_at_each_caption_when_asked(page: Page, live_url: str) -> None:
    _open(page, live_url, "librdkafka-auto-commit")
    page.get_by_label("pause at captions").check()
    page.locator(".speed select").select_option("100")
    stops = []
    for _ in range(3):
        page.get_by_role("button", name="Play", exact=True).click()
        expect(page.locator("#player")).to_have_attribute("data-playing", "false")
        stops.append(page.locator(".caption").text_content() or "")
        expect(page.locator(".caption")).to_have_class("caption now")
    assert "starts a rebalance" in stops[0]
    assert "commits offset 1 on orders-0" in stops[1]
    assert "c1 crashes" in stops[2] and "lost to billing" in stops[2]


def test_time_proportional_playback_moves_by_simulated_time(page: Page, live_url: str) -> None:
    _open(page, live_url, "acks-1-leader-dies")
    page.locator(".pace select").select_option("time")
    page.locator(".speed select").select_option("100")
    expect(page.locator(".pace-note")).to_have_text("1 s simulated = 0.01 s")
    page.evaluate(
        """() => { window.times = [];
            document.getElementById('player').addEventListener('player:step',
                (e) => window.times.push([performance.now(), e.detail.frame.t])); }"""
    )
    page.get_by_role("button", name="Play", exact=True).click()
    page.wait_for_function("() => document.getElementById('player').dataset.playing === 'false'")
    times = page.evaluate("window.times")
    # Simulated time shown never runs ahead of the wall clock x 100 (plus one frame).
    (wall0, _), *rest = times
    assert rest, times
    for wall, t in rest:
        assert t <= (wall - wall0) * 100 + 2000, (wall - wall0, t)
    assert times[-1][1] == int(
        page.evaluate("() => Number(document.querySelector('.at-step').value)")
    )


def test_playback_at_full_speed_reaches_the_last_step(page: Page, live_url: str) -> None:
    """The heaviest built-in at 100x plays to its last step by itself; its figures (steps
    and frames drawn per second) are printed for reading, not asserted: bench/browser.py
    is where they are measured."""
    page.set_viewport_size({"width": 1366, "height": 768})
    _open(page, live_url, "eager-scale-out")
    played = play_at_full_speed(page, 120_000)
    total = int(page.locator("#player").get_attribute("data-total") or 0)
    assert total > 1000 and played["steps"] == total - 1  # steps count from 0
    assert 0 < played["drawn"] <= total
    print("PLAYBACK " + json.dumps({k: round(v) for k, v in played.items()}))


def test_crash_here_with_the_server_unreachable_says_so_and_retries(
    page: Page, live_url: str
) -> None:
    slug = scenarios.save(builtin_scenario("librdkafka-auto-commit"))
    page.goto(f"{live_url}/r/{slug}")
    page.wait_for_function(EVERY_FRAME)
    page.route("**/crash", lambda route: route.abort("connectionrefused"))
    page.locator('[data-consumer="c1"]').get_by_role(
        "button", name="crash the consumer here"
    ).click()
    banner = page.locator("#request-error")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("could not be reached")
    assert page.url == f"{live_url}/r/{slug}"  # still the page, not the browser's error page

    page.unroute("**/crash")
    banner.get_by_role("button", name="Retry").click()
    page.wait_for_url(f"**?compare={slug}")
    # The permalink of the new run keeps the before/after view.
    permalink = page.locator(".permalink")
    expect(permalink).to_have_attribute("href", re.compile(rf"\?compare={slug}$"))
    permalink.click()
    expect(page.locator("#compare")).to_contain_text("Before and after")


def test_crash_here_loads_the_new_run_once(page: Page, live_url: str) -> None:
    """The button's answer names the new run (HX-Redirect) and the browser loads it once:
    a followed redirect fetched the new page (simulation, page) and then loaded it again."""
    slug = scenarios.save(builtin_scenario("librdkafka-auto-commit"))
    page.goto(f"{live_url}/r/{slug}")
    page.wait_for_function(EVERY_FRAME)
    loads: list[str] = []
    page.on("request", lambda r: loads.append(r.url) if f"?compare={slug}" in r.url else None)
    page.locator('[data-consumer="c1"]').get_by_role(
        "button", name="crash the consumer here"
    ).click()
    page.wait_for_url(f"**?compare={slug}")
    page.wait_for_function(EVERY_FRAME)
    assert len(loads) == 1, loads


def test_a_server_error_on_a_button_is_shown_with_retry(page: Page, live_url: str) -> None:
    slug = scenarios.save(builtin_scenario("acks-1-leader-dies"))
    page.goto(f"{live_url}/r/{slug}")
    page.wait_for_function(EVERY_FRAME)
    page.route(
        "**/inject",
        lambda route: route.fulfill(
            status=503,
            headers={"Retry-After": "3", "Content-Type": "application/json"},
            body='{"error": {"field": "run", "message": "every worker is busy", "allowed": ""}}',
        ),
    )
    page.get_by_role("button", name="kill this broker").first.click()
    banner = page.locator("#request-error")
    expect(banner).to_contain_text("503: run: every worker is busy")
    expect(banner).to_contain_text("Try again in 3 s")
    expect(banner.get_by_role("button", name="Retry")).to_be_visible()


def test_presenter_mode_is_large_type_and_is_remembered(page: Page, live_url: str) -> None:
    page.set_viewport_size({"width": 1366, "height": 768})
    _open(page, live_url, "librdkafka-auto-commit")
    size = "() => parseFloat(getComputedStyle(document.querySelector('.caption')).fontSize)"
    page.keyboard.press("End")
    before = page.evaluate(size)
    page.keyboard.press("p")
    expect(page.locator("body")).to_have_class(re.compile(r"\bpresenter\b"))
    expect(page.get_by_role("button", name="presenter")).to_have_attribute("aria-pressed", "true")
    assert page.evaluate(size) > before * 1.3
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 1366
    page.reload()
    expect(page.locator("body")).to_have_class(re.compile(r"\bpresenter\b"))
    page.get_by_role("button", name="presenter").click()
    expect(page.locator("body")).not_to_have_class(re.compile(r"\bpresenter\b"))
