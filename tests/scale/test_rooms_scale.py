"""A workshop room spans two Daphne processes through Redis (channel layer) and
PostgreSQL (the room's row): the instructor on A, participants on A and B."""

from __future__ import annotations

import json
import time
from typing import Any

from websockets.sync.client import ClientConnection, connect

from tests.scale.conftest import Servers
from tests.scale.test_scale_out import SLUG, TIMEOUT, open_page

IDLE_SECONDS = 7  # longer than channels_redis's 5 s BZPOPMIN and redis-py 8's read timeout
QUESTION = "never-processed"  # SLUG is librdkafka-auto-commit: orders never processed?


def ws(base: str, code: str) -> ClientConnection:
    return connect(
        f"{base.replace('http://', 'ws://')}/ws/rooms/{code}", origin=base, open_timeout=TIMEOUT
    )


def next_of(socket: ClientConnection, kind: str) -> dict[str, Any]:
    while True:
        message: dict[str, Any] = json.loads(socket.recv(timeout=TIMEOUT))
        if message["type"] in (kind, "error"):
            return message


def test_a_room_spans_two_processes(servers: Servers) -> None:
    a, b = servers.urls
    made = open_page(a).post(a, "/rooms/new", {"slug": SLUG}, "127.0.7.1")
    assert made.status == 303, made.text[:500]
    _, _, code, _, token = made.headers["location"].split("/")
    with ws(a, code) as host, ws(a, code) as ada, ws(b, code) as bob:
        host.send(json.dumps({"type": "host", "token": token}))
        assert next_of(host, "welcome")["role"] == "host"
        for socket, name in ((ada, "Ada"), (bob, "Bob")):
            socket.send(json.dumps({"type": "join", "name": name}))
            assert next_of(socket, "welcome")["name"] == name
            assert next_of(socket, "state")["version"] == 0
        # a control on A reaches B's participant through Redis
        host.send(json.dumps({"type": "control", "action": "seek", "step": 12, "at_ms": 900}))
        for socket in (ada, bob):
            state = next_of(socket, "state")
            assert (state["step"], state["at_ms"], state["version"]) == (12, 900, 1)
        host.send(json.dumps({"type": "open", "question": QUESTION}))
        poll = next_of(bob, "state")["question"]["poll"]
        assert next_of(ada, "state")["question"]["poll"] == poll
        # Bob (on B) answers; the count reaches the instructor on A
        bob.send(json.dumps({"type": "answer", "poll": poll, "value": 1}))
        assert next_of(bob, "answered")["value"] == 1
        ada.send(json.dumps({"type": "answer", "poll": poll, "value": 0}))
        assert next_of(ada, "answered")["value"] == 0
        counts = next_of(host, "host")
        while counts["answers"] < 2:
            counts = next_of(host, "host")
        assert (counts["answers"], counts["participants"]) == (2, 2)
        host.send(json.dumps({"type": "reveal"}))
        reveals = [next_of(s, "state")["reveal"] for s in (ada, bob)]
        assert reveals[0] == reveals[1]
        assert reveals[0]["answer"] == "1" and reveals[0]["total"] == 2
    # a late joiner on B lands on the room's state, read from the database
    with ws(b, code) as late:
        late.send(json.dumps({"type": "join"}))
        next_of(late, "welcome")
        state = next_of(late, "state")
        assert (state["step"], state["revealed"]) == (12, True)


def test_an_idle_participant_stays_in_the_room(servers: Servers) -> None:
    """Longer than redis-py 8's default 5 s read timeout without a message: the channel
    layer's blocking read must not end the connection (settings: socket_timeout None)."""
    a, b = servers.urls
    made = open_page(a).post(a, "/rooms/new", {"slug": SLUG}, "127.0.7.2")
    _, _, code, _, token = made.headers["location"].split("/")
    with ws(a, code) as host, ws(b, code) as idle:
        host.send(json.dumps({"type": "host", "token": token}))
        next_of(host, "state")
        idle.send(json.dumps({"type": "join"}))
        next_of(idle, "state")
        time.sleep(IDLE_SECONDS)  # the condition under test: nothing happens for a while
        host.send(json.dumps({"type": "control", "action": "seek", "step": 3, "at_ms": 30}))
        assert next_of(idle, "state")["step"] == 3
