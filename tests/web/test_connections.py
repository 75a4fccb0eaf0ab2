"""Websockets per address (connections): a room page's two sockets share one place, so a
class behind one NAT address needs WS_PER_CLIENT at its size, not twice it; what a made-up
seat can get is bounded."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from playground import connections, consumers, rooms, scenarios
from playground.asgi import application
from simcore import builtin_scenario
from tests.web.helpers import text

ORIGIN = (b"origin", b"http://localhost")
TIMEOUT = 30
SEAT = "seat-0123456789"


@pytest.fixture
def limit(settings: Any) -> int:
    settings.WS_PER_CLIENT = 2
    return 2


def test_a_pages_two_sockets_take_one_place_and_give_it_back_when_both_leave(limit: int) -> None:
    run = connections.admit("10.1.0.1", "run", SEAT)
    room = connections.admit("10.1.0.1", "room", SEAT)
    assert run is not None and room is not None
    assert connections.places("10.1.0.1") == 1
    connections.release(run)  # the room socket keeps the place (a reconnecting stream)
    assert connections.places("10.1.0.1") == 1
    run = connections.admit("10.1.0.1", "run", SEAT)
    assert run is not None and connections.places("10.1.0.1") == 1
    connections.release(room)
    connections.release(run)
    assert connections.places("10.1.0.1") == 0


def test_a_seat_holds_one_socket_of_each_kind_more_count_alone(limit: int) -> None:
    tickets = [connections.admit("10.1.0.2", "room", SEAT) for _ in range(3)]
    assert tickets[0] is not None and tickets[1] is not None
    assert tickets[1].seat is None  # the second room socket took a place of its own
    assert tickets[2] is None  # past the limit
    assert connections.places("10.1.0.2") == 2
    for ticket in tickets[:2]:
        assert ticket is not None
        connections.release(ticket)
    assert connections.places("10.1.0.2") == 0


def test_made_up_seats_get_at_most_two_sockets_a_place(limit: int) -> None:
    admitted = []
    for k in range(10):
        for kind in connections.KINDS:
            ticket = connections.admit("10.1.0.3", kind, f"made-up-seat-{k}")
            if ticket is not None:
                admitted.append(ticket)
    assert len(admitted) == 2 * limit
    for ticket in admitted:
        connections.release(ticket)
    assert connections.places("10.1.0.3") == 0


def socket(path: str, client: str) -> WebsocketCommunicator:
    made = WebsocketCommunicator(application, path, headers=[ORIGIN])
    made.scope["client"] = (client, 50000)
    return made


async def first_message(s: WebsocketCommunicator) -> dict[str, Any]:
    output = await s.receive_output(timeout=TIMEOUT)
    if output["type"] == "websocket.close":
        return {"type": "close", "code": output.get("code")}
    message: dict[str, Any] = json.loads(output["text"])
    return message


@pytest.mark.django_db(transaction=True)
async def test_two_participants_pages_behind_one_address_fit_in_two_places(limit: int) -> None:
    slug = await database_sync_to_async(scenarios.save)(builtin_scenario("java-auto-commit"))
    made, _ = await database_sync_to_async(rooms.create_for_scenario)(slug)
    pages = []
    for seat in ("ada-seat-0001", "bob-seat-0002"):
        run = socket(f"/ws/runs/{slug}?seat={seat}", "10.2.0.1")
        room = socket(f"/ws/rooms/{made.code}?seat={seat}", "10.2.0.1")
        for s in (run, room):
            assert (await s.connect(timeout=TIMEOUT))[0]
        await room.send_json_to({"type": "join", "name": seat[:3]})
        assert (await first_message(room))["type"] == "welcome"
        pages += [run, room]
    assert connections.places("10.2.0.1") == 2
    third = socket(f"/ws/runs/{slug}?seat=cid-seat-0003", "10.2.0.1")  # a third page: refused
    assert (await third.connect(timeout=TIMEOUT))[0]
    assert (await first_message(third))["field"] == "connections"
    assert await first_message(third) == {"type": "close", "code": consumers.CLOSE_TOO_MANY}
    for s in pages:
        await s.disconnect()
    assert connections.places("10.2.0.1") == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", ["runs", "rooms"])
async def test_a_malformed_seat_is_refused_naming_it(kind: str) -> None:
    s = socket(f"/ws/{kind}/ABCDEF?seat=%3Cb%3E", "10.3.0.1")
    assert (await s.connect(timeout=TIMEOUT))[0]
    error = await first_message(s)
    assert (error["type"], error["field"]) == ("error", "seat")
    assert "letters, digits" in error["allowed"]
    assert await first_message(s) == {"type": "close", "code": consumers.CLOSE_BAD_REQUEST}
    assert connections.places("10.3.0.1") == 0


@pytest.mark.django_db
def test_a_room_page_gives_both_sockets_the_same_new_seat(client: Client) -> None:
    slug = scenarios.save(builtin_scenario("java-auto-commit"))
    code = rooms.create_for_scenario(slug)[0].code
    seats = []
    for _ in range(2):
        page = text(client.get(f"/room/{code}"))
        run = re.search(rf'data-ws-path="/ws/runs/{slug}\?seat=([\w-]+)"', page)
        room = re.search(rf'data-ws-path="/ws/rooms/{code}\?seat=([\w-]+)"', page)
        assert run and room and run.group(1) == room.group(1)
        seats.append(run.group(1))
    assert seats[0] != seats[1]  # each page (a reload too) is a seat of its own
    assert "?seat=" not in text(client.get(f"/r/{slug}"))  # a scenario page has one socket
