"""A busy server's answer on the websocket: the player says so and asks again when told."""

from __future__ import annotations

import json
import re

from playwright.sync_api import Page, WebSocketRoute, expect

from playground import scenarios
from simcore import Scenario

BUSY = {
    "type": "error",
    "field": "run",
    "message": "every simulation worker is busy and 8 runs are waiting",
    "allowed": "try again in 1 s",
    "retry_after": 1,
}


def test_the_player_waits_as_told_and_asks_again(
    page: Page, live_url: str, calm_scenario: Scenario
) -> None:
    slug = scenarios.save(calm_scenario)
    runs: list[dict[str, object]] = []

    def route(ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()

        def from_page(message: str | bytes) -> None:
            request = json.loads(message)
            if request["type"] == "run":
                runs.append(request)
                if len(runs) == 1:  # the first time, the server is "busy"
                    ws.send(json.dumps(BUSY))
                    return
            server.send(message)

        ws.on_message(from_page)
        server.on_message(ws.send)

    page.route_web_socket(re.compile(r".*/ws/runs/.*"), route)
    page.goto(f"{live_url}/r/{slug}")
    expect(page.locator(".status")).to_contain_text("8 runs are waiting; trying again in 1 s")
    page.wait_for_function(
        "() => { const p = document.getElementById('player').dataset;"
        " return p.total && p.loaded === p.total; }"
    )
    assert [r["from"] for r in runs] == [0, 0]  # the same connection, asked once more
    expect(page.locator(".status")).to_have_text("")
