"""A websocket that drops mid-stream: the player reconnects and asks only for what it lacks."""

from __future__ import annotations

import json
import re
import zlib

from playwright.sync_api import Page, WebSocketRoute, expect

from playground import scenarios
from simcore import Scenario

FIRST_BATCH = 5  # frames the page gets before the connection is cut


def test_it_reconnects_and_resumes_after_the_frames_it_has(
    page: Page, live_url: str, calm_scenario: Scenario
) -> None:
    slug = scenarios.save(calm_scenario)
    requests: list[dict[str, object]] = []
    connections: list[WebSocketRoute] = []

    def route(ws: WebSocketRoute) -> None:
        connections.append(ws)
        server = ws.connect_to_server()
        first = len(connections) == 1

        def from_page(message: str | bytes) -> None:
            request = json.loads(message)
            if request["type"] == "run":
                requests.append(request)
            server.send(message)

        def from_server(message: str | bytes) -> None:
            if isinstance(message, bytes):  # a chunk: 8-byte token, deflated JSON
                data = json.loads(zlib.decompress(message[8:]))
                if first and data["type"] == "frames":
                    data["frames"] = data["frames"][:FIRST_BATCH]  # then the line "drops"
                    body = zlib.compress(json.dumps(data).encode())
                    ws.send(message[:8] + body)
                    ws.close()
                    return
                ws.send(message)
            elif not (first and json.loads(message)["type"] == "end"):
                ws.send(message)

        ws.on_message(from_page)
        server.on_message(from_server)

    page.route_web_socket(re.compile(r".*/ws/runs/.*"), route)
    page.goto(f"{live_url}/r/{slug}")

    player = page.locator("#player")
    # Every frame arrives in the end, over a second connection that asked for the rest only.
    page.wait_for_function(
        "() => { const p = document.getElementById('player').dataset;"
        " return p.total && p.loaded === p.total; }"
    )
    assert len(connections) == 2
    assert [r["from"] for r in requests] == [0, FIRST_BATCH]
    expect(player).to_have_attribute("data-step", "0")  # the reader's place did not move
    expect(page.locator(".status")).to_have_text("")
    total = int(player.get_attribute("data-total") or 0)
    assert total > FIRST_BATCH
    expect(page.locator(".scrub")).to_have_attribute("max", str(total - 1))
