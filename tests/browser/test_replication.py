"""Issue 3 in a browser: kill the leader mid-run with the button and see what was lost.

acks=1 with slow followers (built-in `acks-1-leader-dies` without its own kill): the
leader acknowledges each record as soon as it has it. Killing it before the followers copy
anything loses every record acknowledged so far; the replica timeline marks them.
"""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from playground import scenarios
from tests.browser.helpers import EVERY_FRAME, scrub_to_time
from tests.web.helpers import builtin_without

LOST_TRACE = "acknowledged, then lost"


def _lost_trace(page: Page) -> dict[str, list[object]]:
    page.wait_for_function(
        "() => { const c = document.getElementById('replica-chart');"
        " return c.dataset.drawn && c.data; }"
    )
    return page.evaluate(
        f"""() => {{
            const trace = document.getElementById('replica-chart').data
                .find((t) => t.name === {LOST_TRACE!r});
            const list = (key) => Array.from(trace[key]);
            return {{ x: list('x'), y: list('y'), text: list('text') }};
        }}"""
    )


def test_kill_the_leader_mid_run_and_see_the_lost_records_in_the_replica_timeline(
    page: Page, live_url: str, artifacts: Path
) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    slug = scenarios.save(builtin_without("acks-1-leader-dies", "kill_broker"))
    page.goto(f"{live_url}/r/{slug}")
    expect(page.locator("#cluster .lost .count")).to_have_text("0")
    assert _lost_trace(page)["x"] == []

    # Mid-run: three records acknowledged by broker-0, which no follower has yet.
    scrub_to_time(page, 30)
    broker = page.locator('#cluster .brokers [data-broker="0"]')
    expect(broker.locator(".leads")).to_have_text("leads orders-0")
    expect(page.locator('tr[data-producer="p1"] td[data-col="acked"]')).to_have_text("3")
    expect(page.locator('#cluster .replica[data-broker="1"]')).to_have_attribute("data-leo", "0")
    page.screenshot(path=artifacts / "replication-before-kill.png", full_page=True)
    at_ms = int(broker.locator(".at-step").first.input_value())
    broker.locator('input[name="restart_after_ms"]').fill("12000")
    broker.get_by_role("button", name="kill this broker").click()

    page.wait_for_url(f"**?compare={slug}")
    expect(page.locator("#compare .changes")).to_contain_text("topic orders: lost acked 0 → 3")
    lost_list = page.locator("#cluster .lost-list li")
    expect(lost_list).to_have_count(3)
    expect(lost_list.first).to_have_attribute("data-message", "p1#0")
    lost = _lost_trace(page)
    assert lost["text"] == ["p1#0", "p1#1", "p1#2"]
    assert lost["y"] == [0, 1, 2]  # the offsets broker-0 acknowledged them at
    assert all(0 < t <= at_ms for t in lost["x"])  # acknowledged before the kill

    # The new run opens where the button was pressed: broker-0 is dead right after.
    page.wait_for_function(EVERY_FRAME)
    player_t = page.evaluate("() => Number(document.querySelector('.at-step').value)")
    assert player_t >= at_ms
    expect(page.locator('#cluster [data-broker="0"] .bstate')).to_have_text("dead")
    expect(page.locator("#events")).to_contain_text("injected")
    page.locator("#cluster").screenshot(path=artifacts / "replication-after-kill.png")
    assert errors == []
