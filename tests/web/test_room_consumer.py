"""A workshop room's websocket (room_consumer), through Channels' WebsocketCommunicator on
the in-memory layer: follow mode, questions and the reveal, and what is refused.

`django_db(transaction=True)`: Channels closes old connections on each message, and the
ORM runs in a thread outside any test transaction (stack-notes).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from playground import rooms, scenarios
from playground.asgi import application
from playground.models import RoomAnswer
from playground.rates import Rate
from simcore import builtin_scenario

pytestmark = pytest.mark.django_db(transaction=True)
ORIGIN = (b"origin", b"http://localhost")
TIMEOUT = 30  # a reveal may start the worker pool for the run's answer
QUESTION = "acked-lost"  # acks-1-leader-dies: "How many acknowledged orders are lost?"


def communicator(code: str, client: str = "10.0.0.1") -> WebsocketCommunicator:
    socket = WebsocketCommunicator(application, f"/ws/rooms/{code}", headers=[ORIGIN])
    socket.scope["client"] = (client, 50000)
    return socket


async def receive(socket: WebsocketCommunicator) -> dict[str, Any]:
    output = await socket.receive_output(timeout=TIMEOUT)
    if output["type"] == "websocket.close":
        return {"type": "close", "code": output.get("code")}
    message: dict[str, Any] = json.loads(output["text"])
    return message


async def next_of(socket: WebsocketCommunicator, kind: str) -> dict[str, Any]:
    """The next message of this type, skipping others (the hosts' counts, say)."""
    while True:
        message = await receive(socket)
        if message["type"] in (kind, "close"):
            return message


@pytest.fixture
async def room() -> tuple[str, str]:
    slug = await database_sync_to_async(scenarios.save)(builtin_scenario("acks-1-leader-dies"))
    made, token = await database_sync_to_async(rooms.create_for_scenario)(slug)
    return made.code, token


@pytest.fixture
async def host(room: tuple[str, str]) -> AsyncIterator[WebsocketCommunicator]:
    code, token = room
    socket = communicator(code, "10.0.0.9")
    assert (await socket.connect(timeout=TIMEOUT))[0]
    await socket.send_json_to({"type": "host", "token": token})
    assert (await receive(socket)) == {"type": "welcome", "role": "host"}
    assert (await next_of(socket, "state"))["question"] is None
    assert (await next_of(socket, "host"))["participants"] == 0
    yield socket
    await socket.disconnect()


async def participant(code: str, name: str, client: str, key: str | None = None) -> Any:
    socket = communicator(code, client)
    assert (await socket.connect(timeout=TIMEOUT))[0]
    await socket.send_json_to({"type": "join", "name": name, **({"key": key} if key else {})})
    welcome = await receive(socket)
    assert welcome["type"] == "welcome" and welcome["role"] == "participant", welcome
    state = await receive(socket)
    assert state["type"] == "state"
    return socket, welcome, state


async def test_the_instructors_controls_reach_every_participant_and_late_joiners(
    room: tuple[str, str], host: WebsocketCommunicator
) -> None:
    code, _ = room
    ada, _, first = await participant(code, "Ada", "10.0.0.1")
    bob, _, _ = await participant(code, "Bob", "10.0.0.2")
    assert first["step"] == 0 and first["playing"] is False
    await host.send_json_to({"type": "control", "action": "seek", "step": 7, "at_ms": 40})
    await host.send_json_to(
        {"type": "control", "action": "play", "step": 7, "at_ms": 40, "speed": "20"}
    )
    for socket in (ada, bob, host):
        seek = await next_of(socket, "state")
        play = await next_of(socket, "state")
        assert (seek["step"], seek["playing"]) == (7, False)
        assert (play["step"], play["playing"], play["speed"]) == (7, True, "20")
        assert play["version"] == seek["version"] + 1
    late, _, state = await participant(code, "", "10.0.0.3")
    assert (state["step"], state["at_ms"], state["playing"]) == (7, 40, True)
    joined = await next_of(host, "host")
    while joined["participants"] < 3:  # counts are coalesced: a burst may come in one
        joined = await next_of(host, "host")
    assert joined["names"] == ["Bob", "Ada"]  # the latest first; nameless ones not listed
    for socket in (ada, bob, late):
        await socket.disconnect()


async def test_a_question_is_answered_once_each_then_revealed_with_the_runs_answer(
    room: tuple[str, str], host: WebsocketCommunicator
) -> None:
    code, _ = room
    ada, ada_welcome, _ = await participant(code, "Ada", "10.0.0.1")
    bob, _, _ = await participant(code, "Bob", "10.0.0.2")
    await host.send_json_to({"type": "open", "question": QUESTION})
    opened = await next_of(ada, "state")
    question = opened["question"]
    assert question["kind"] == "number" and "acknowledged orders are lost" in question["ask"]
    assert opened["reveal"] is None and "answer" not in question  # no spoiler before
    await ada.send_json_to({"type": "answer", "poll": question["poll"], "value": 5})
    assert (await receive(ada)) == {"type": "answered", "poll": question["poll"], "value": 5}
    assert (await next_of(bob, "state"))["question"] == question
    await bob.send_json_to({"type": "answer", "poll": question["poll"], "value": 0})
    assert (await receive(bob))["type"] == "answered"
    # twice: refused, even from a new connection with the same key (a reload)
    await ada.send_json_to({"type": "answer", "poll": question["poll"], "value": 4})
    assert (await receive(ada))["field"] == "answer"
    again, _, _ = await participant(code, "Ada", "10.0.0.1", key=ada_welcome["key"])
    await again.send_json_to({"type": "answer", "poll": question["poll"], "value": 4})
    refused = await receive(again)
    assert refused["type"] == "error" and refused["field"] == "answer"
    counts = await next_of(host, "host")
    while counts["answers"] < 2:
        counts = await next_of(host, "host")
    assert counts["answers"] == 2 and counts["participants"] == 2  # the reload is still Ada
    await host.send_json_to({"type": "reveal"})
    states = [await next_of(socket, "state") for socket in (ada, bob, host)]
    assert states[0] == states[1] == states[2]  # everyone sees the same histogram
    reveal = states[0]["reveal"]
    assert reveal["answer"] == "5" and reveal["total"] == 2 and reveal["right"] == 1
    assert {b["value"]: b["count"] for b in reveal["bars"]} == {"0": 1, "5": 1}
    assert states[0]["title"].startswith("acks=1")  # the name is no spoiler any more
    await bob.send_json_to({"type": "answer", "poll": question["poll"], "value": 5})
    assert (await next_of(bob, "error"))["field"] == "question"  # closed at the reveal
    assert await database_sync_to_async(RoomAnswer.objects.count)() == 2
    for socket in (ada, bob, again):
        await socket.disconnect()


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ({"type": "control", "action": "play", "step": 1, "at_ms": 1}, "type"),
        ({"type": "reveal"}, "type"),
        ({"type": "goto", "position": 1}, "type"),
        ({"type": "open", "question": QUESTION}, "type"),
        ({"type": "answer", "poll": 0, "value": 1}, "question"),
        ({"type": "dance"}, "type"),
        ({"type": "join", "name": "again"}, "type"),
    ],
)
async def test_a_participant_cannot_control_the_room(
    room: tuple[str, str], message: dict[str, Any], field: str
) -> None:
    socket, _, before = await participant(room[0], "Eve", "10.0.0.4")
    await socket.send_json_to(message)
    error = await receive(socket)
    assert error["type"] == "error" and error["field"] == field, error
    state = await database_sync_to_async(rooms.find)(room[0])
    assert state is not None and state.version == before["version"]  # nothing changed
    await socket.disconnect()


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ({"type": "control", "action": "rewind", "step": 1, "at_ms": 1}, "action"),
        ({"type": "control", "action": "seek", "step": -1, "at_ms": 1}, "step"),
        ({"type": "control", "action": "seek", "step": True, "at_ms": 1}, "step"),
        ({"type": "control", "action": "seek", "step": 1, "at_ms": 10**12}, "at_ms"),
        ({"type": "control", "action": "play", "step": 1, "at_ms": 1, "speed": "7"}, "speed"),
        ({"type": "open", "question": "nope"}, "question"),
        ({"type": "open", "question": 3}, "question"),
        ({"type": "goto", "position": 1}, "position"),  # a scenario's room has no course
        ({"type": "answer", "poll": 1, "value": 1}, "type"),
    ],
)
async def test_bad_instructor_messages_name_the_field(
    host: WebsocketCommunicator, message: dict[str, Any], field: str
) -> None:
    await host.send_json_to(message)
    error = await next_of(host, "error")
    assert error["field"] == field, error


async def test_a_wrong_token_and_bad_first_messages_are_refused(room: tuple[str, str]) -> None:
    socket = communicator(room[0])
    assert (await socket.connect(timeout=TIMEOUT))[0]
    await socket.send_json_to({"type": "host", "token": room[1] + "x"})
    assert (await receive(socket))["field"] == "token"
    await socket.send_to(text_data="{not json")
    assert (await receive(socket))["field"] == "message"
    await socket.send_json_to({"type": "answer", "poll": 1, "value": 1})
    assert (await receive(socket))["field"] == "type"  # say who you are first
    await socket.send_json_to({"type": "join", "name": "x" * 41})
    assert (await receive(socket))["field"] == "name"
    await socket.disconnect()


async def test_names_are_kept_as_text_without_control_characters(room: tuple[str, str]) -> None:
    socket, welcome, _ = await participant(room[0], "<b>Ada</b>\u202e\x00", "10.0.0.1")
    assert welcome["name"] == "<b>Ada</b>"  # inert: the page writes it with textContent
    await socket.disconnect()


async def test_an_unknown_room_closes_with_4404() -> None:
    socket = communicator("ZZZZZZ")
    assert (await socket.connect(timeout=TIMEOUT))[0]
    error = await receive(socket)
    assert error["type"] == "error" and error["field"] == "code"
    assert (await receive(socket)) == {"type": "close", "code": 4404}


async def test_a_flood_closes_the_connection(room: tuple[str, str]) -> None:
    settings.RATE_WS_MESSAGES = Rate(5, 60)
    try:
        socket, _, _ = await participant(room[0], "", "10.0.0.5")
        for _ in range(5):
            await socket.send_json_to({"type": "answer", "poll": 0, "value": 1})
        while (message := await receive(socket))["type"] == "error" and (
            message["field"] != "message"
        ):
            pass
        assert message["field"] == "message"
        assert (await receive(socket)) == {"type": "close", "code": 4429}
    finally:
        settings.RATE_WS_MESSAGES = Rate(60, 10)


async def test_a_course_room_goes_to_another_scenario_and_everyone_follows() -> None:
    made, token = await database_sync_to_async(rooms.create_for_course)("kafka-semantics")
    host = communicator(made.code, "10.0.0.9")
    assert (await host.connect(timeout=TIMEOUT))[0]
    await host.send_json_to({"type": "host", "token": token})
    ada, _, _ = await participant(made.code, "Ada", "10.0.0.1")
    await host.send_json_to({"type": "goto", "position": 11})
    state = await next_of(ada, "state")
    expected = await database_sync_to_async(scenarios.save)(builtin_scenario("acks-1-leader-dies"))
    assert state["slug"] == expected and state["course"]["position"] == 11
    assert (state["step"], state["playing"], state["question"]) == (0, False, None)
    await host.send_json_to({"type": "goto", "position": 99})
    assert (await next_of(host, "error"))["field"] == "position"
    await ada.disconnect()
    await host.disconnect()


fuzz_values = st.one_of(
    st.text(max_size=12),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(),
    st.booleans(),
    st.none(),
    st.lists(st.integers(min_value=-1, max_value=3), max_size=2),
)
room_messages = st.one_of(
    st.text(max_size=30),
    st.builds(
        json.dumps,
        st.fixed_dictionaries(
            {"type": st.sampled_from(["control", "open", "reveal", "goto", "answer", "join", "x"])},
            optional={
                "action": st.sampled_from(["play", "pause", "seek", "", "PLAY"]),
                "step": fuzz_values,
                "at_ms": fuzz_values,
                "speed": st.one_of(st.sampled_from(["1", "5", "100", "3"]), fuzz_values),
                "question": st.one_of(st.just(QUESTION), fuzz_values),
                "position": fuzz_values,
                "poll": fuzz_values,
                "value": fuzz_values,
                "name": fuzz_values,
            },
        ),
    ),
    st.builds(json.dumps, fuzz_values),
)


def test_the_room_takes_any_message_from_its_instructor() -> None:
    """Whatever the instructor's connection sends, each message is answered with a new
    state or an error frame naming a field; the connection stays open."""
    slug = scenarios.save(builtin_scenario("acks-1-leader-dies"))
    made, token = rooms.create_for_scenario(slug)

    async def talk(messages: list[str]) -> None:
        socket = communicator(made.code, "10.0.0.9")
        assert (await socket.connect(timeout=TIMEOUT))[0]
        await socket.send_json_to({"type": "host", "token": token})
        await next_of(socket, "state")
        try:
            for message in messages:
                await socket.send_input({"type": "websocket.receive", "text": message})
                while (answer := await receive(socket))["type"] == "host":
                    pass
                assert answer["type"] in ("state", "error"), answer
                if answer["type"] == "error":
                    assert answer["field"] and answer["message"], answer
        finally:
            await socket.disconnect()

    @hypothesis_settings(
        max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )
    @given(st.lists(room_messages, min_size=1, max_size=5))
    def fuzz(messages: list[str]) -> None:
        asyncio.run(talk(messages))

    fuzz()


async def test_the_reveal_sends_what_participants_pages_left_out_right_after_its_state(
    room: tuple[str, str], host: WebsocketCommunicator
) -> None:
    code, _ = room
    ada, _, _ = await participant(code, "Ada", "10.0.0.1")
    await host.send_json_to({"type": "reveal"})
    state = await receive(ada)
    assert state["type"] == "state" and state["revealed"] is True
    outcome = await receive(ada)
    assert outcome["type"] == "outcome", outcome
    assert outcome["slug"] == state["slug"]
    assert set(outcome["parts"]) == {"headline", "outcome", "warnings", "description"}
    assert "data-verdict=" in outcome["parts"]["headline"]
    assert 'id="outcome"' in outcome["parts"]["outcome"]
    # a page opened before the reveal that joins now gets them first, then the state
    socket = communicator(code, "10.0.0.2")
    assert (await socket.connect(timeout=TIMEOUT))[0]
    await socket.send_json_to({"type": "join", "name": "Bob"})
    assert (await receive(socket))["type"] == "welcome"
    assert (await receive(socket)) == outcome
    assert (await receive(socket))["type"] == "state"
    for s in (ada, socket):
        await s.disconnect()
