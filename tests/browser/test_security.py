"""Issue 9 in Chromium: the Content-Security-Policy is in force and the pages still work
under it (player, websocket, charts); a group id written as a link stays text in the
charts, the embed's too; htmx requests that fail are shown, with a retry."""

from __future__ import annotations

import json
from pathlib import Path

from playwright.sync_api import Page, Route, expect

from playground import scenarios
from simcore import parse_scenario
from tests.browser.helpers import EVERY_FRAME
from tests.web.helpers import SLOW_CONSUMER

LINK = '<a href="https://evil.example/login">Click to re-authenticate</a>'
CHART_DRAWN = "(id) => { const c = document.getElementById(id); return c && c.dataset.drawn; }"
HREFS = """(selector) => [...document.querySelectorAll(`${selector}, ${selector} *`)]
    .flatMap((e) => [...e.attributes].filter((a) => a.name.endsWith('href')).map((a) => a.value))"""
TEXTS = "(selector) => [...document.querySelectorAll(selector)].map((t) => t.textContent)"


def _hostile_slug() -> str:
    source = json.loads(json.dumps(SLOW_CONSUMER))
    source["topics"][0]["partitions"] = 1  # few enough traces that the charts show a legend
    source["consumers"][0]["group"] = LINK
    source["consumers"].append({**source["consumers"][0], "id": "c2", "start_ms": 20000})
    return scenarios.save(parse_scenario(source))


def _watch_policy(page: Page) -> list[str]:
    refused: list[str] = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return refused


def test_plotly_would_make_a_link_of_raw_text(page: Page, live_url: str) -> None:
    """The control: without escaping, Plotly turns the group id into a clickable link."""
    page.goto(f"{live_url}/embed/{_hostile_slug()}")
    page.wait_for_function("() => window.Plotly")
    page.evaluate(
        """(name) => {
            const div = document.createElement('div');
            div.id = 'raw';
            document.body.append(div);
            return Plotly.newPlot(div, [{ x: [0, 1], y: [0, 1], name }], { showlegend: true });
        }""",
        LINK,
    )
    assert "https://evil.example/login" in page.evaluate(HREFS, "#raw")


def test_a_group_id_written_as_a_link_stays_text_in_every_chart(
    page: Page, live_url: str, artifacts: Path
) -> None:
    slug = _hostile_slug()
    refused = _watch_policy(page)
    page.goto(f"{live_url}/embed/{slug}")
    page.wait_for_function(EVERY_FRAME)
    page.wait_for_function("() => document.querySelector('#player .chart').dataset.drawn")
    assert page.evaluate(HREFS, "#player .chart") == []
    legend = page.evaluate(TEXTS, "#player .chart .legendtext")
    assert f"{LINK}/orders-0 committed" in legend  # shown as the characters it is
    page.screenshot(path=str(artifacts / "embed-hostile-group.png"), full_page=True)

    page.goto(f"{live_url}/r/{slug}")
    page.wait_for_function(EVERY_FRAME)
    page.wait_for_function(CHART_DRAWN, arg="lag-chart")
    for chart in ("#player .chart", "#lag-chart", "#time-lag-chart"):
        assert page.evaluate(HREFS, chart) == [], chart
    assert f"{LINK} total" in page.evaluate(TEXTS, "#lag-chart .legendtext")
    notes = page.evaluate(TEXTS, "#lag-chart .annotation-text")
    assert any(note.startswith(f"{LINK}: ") for note in notes)  # the rebalance band's label
    assert refused == []


def test_the_policy_blocks_inline_script_and_nothing_of_ours(page: Page, live_url: str) -> None:
    refused = _watch_policy(page)
    page.goto(f"{live_url}/r/{_hostile_slug()}")
    page.wait_for_function(EVERY_FRAME)  # the websocket streamed under connect-src 'self'
    page.wait_for_function("() => document.querySelector('#player .chart').dataset.drawn")
    assert refused == []
    ran = page.evaluate(
        """() => {
            const script = document.createElement('script');
            script.textContent = 'window.injected = true';
            document.body.append(script);
            return window.injected === true;
        }"""
    )
    assert ran is False
    assert any("script-src" in message for message in refused)


def test_a_failed_htmx_request_is_shown_with_a_retry(
    page: Page, live_url: str, artifacts: Path
) -> None:
    slug = scenarios.save(parse_scenario(SLOW_CONSUMER))
    page.goto(f"{live_url}/r/{slug}")
    field = page.locator('input[name="consumers[0].processing_ms"]')
    field.fill("400")
    banner = page.locator("#request-error")

    def fail(route: Route) -> None:
        route.fulfill(status=500, content_type="text/plain", body="boom")

    page.route("**/quick", fail)
    page.get_by_role("button", name="Apply and replay").click()
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("The server answered 500")
    page.screenshot(path=str(artifacts / "request-error-banner.png"))
    page.unroute("**/quick")

    page.route("**/quick", lambda route: route.abort())
    banner.get_by_role("button", name="Retry").click()
    expect(banner).to_contain_text("could not be reached")
    page.unroute("**/quick")

    banner.get_by_role("button", name="Retry").click()  # the same form, sent again
    page.wait_for_url(lambda url: "/r/" in url and not url.endswith(slug))
    expect(page.locator('input[name="consumers[0].processing_ms"]')).to_have_value("400")
    expect(banner).to_be_hidden()


def test_an_edit_over_the_upload_limit_is_explained(page: Page, live_url: str) -> None:
    slug = scenarios.save(parse_scenario(SLOW_CONSUMER))
    page.goto(f"{live_url}/r/{slug}")
    page.locator("#config textarea[name=yaml]").evaluate(
        "(area) => { area.value = 'x'.repeat(1100000); }"
    )
    page.get_by_role("button", name="Save and replay").click()
    banner = page.locator("#request-error")
    expect(banner).to_contain_text("The server answered 413")
    expect(banner).to_contain_text("body: is over 1000 kB")
    expect(banner.get_by_role("button", name="Retry")).to_be_hidden()
