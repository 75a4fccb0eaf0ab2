"""Answers written in batches (room_answers, rooms.answer_many): a burst is one
transaction, each answer still gets its own verdict, none is lost or counted twice, and
the reveal counts every answer the server had acknowledged.

`django_db(transaction=True)`: the writer's ORM calls run in Channels' thread, outside any
test transaction.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from channels.db import database_sync_to_async

from playground import rooms, scenarios
from playground.models import RoomAnswer, RoomParticipant
from playground.room_answers import AnswerWriter
from playground.rooms import Answer, RoomError
from simcore import builtin_scenario
from tests.web.test_room_consumer import (  # noqa: F401 (host and room are fixtures)
    QUESTION,
    host,
    next_of,
    participant,
    receive,
    room,
)

pytestmark = pytest.mark.django_db(transaction=True)


def open_room(participants: int) -> tuple[str, str, int, list[int]]:
    """A room on acks-1-leader-dies with its question open: (code, token, poll, ids)."""
    slug = scenarios.save(builtin_scenario("acks-1-leader-dies"))
    made, token = rooms.create_for_scenario(slug)
    ids = [rooms.join(made.code, None, f"p{k}")[0].pk for k in range(participants)]
    poll = rooms.open_question(made.code, QUESTION).poll
    return made.code, token, poll, ids


def test_a_batch_gets_one_verdict_per_answer_with_the_rules_of_one_answer() -> None:
    code, _, poll, ids = open_room(4)
    rooms.answer(code, ids[3], poll, 9)  # already in the table
    results = rooms.answer_many(
        code,
        [
            Answer(ids[0], poll, 5),
            Answer(ids[0], poll, 6),  # twice in the same batch
            Answer(ids[1], poll - 1, 5),  # an older opening
            Answer(ids[2], poll, "five"),  # not a number
            Answer(ids[3], poll, 1),  # answered before
            Answer(ids[2], poll, 0),
        ],
    )
    fields = [None if r is None else r.payload["field"] for r in results]
    assert fields == [None, "answer", "poll", "value", "answer", None]
    stored = dict(RoomAnswer.objects.filter(room_id=code).values_list("participant_id", "value"))
    assert stored == {ids[0]: "5", ids[2]: "0", ids[3]: "9"}
    rooms.reveal(code)
    closed = rooms.answer_many(code, [Answer(ids[1], poll, 5)])
    assert closed[0] is not None and closed[0].payload["field"] == "question"


async def test_a_burst_of_answers_is_one_transaction_and_each_waiter_hears_its_own() -> None:
    code, _, poll, ids = await database_sync_to_async(open_room)(40)
    notified: list[str] = []

    async def written(room_code: str) -> None:
        notified.append(room_code)

    writer = AnswerWriter(written)
    answers = [Answer(pid, poll, k % 3) for k, pid in enumerate(ids)]
    answers.append(Answer(ids[0], poll, 2))  # a second answer from the first participant
    results = await asyncio.gather(
        *(writer.submit(code, a) for a in answers), return_exceptions=True
    )
    assert results[:40] == [None] * 40
    assert isinstance(results[40], RoomError) and results[40].payload["field"] == "answer"
    assert writer.batches == 1 and notified == [code]  # one commit, one news for the hosts
    assert await database_sync_to_async(rooms.answer_count)(code, poll) == 40
    assert writer.writers == {}  # nothing left behind


async def test_answers_that_arrive_during_a_write_are_the_next_batch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The writer goes again for what came during its transaction, and `drain` (the
    reveal) returns only once those are written too."""
    code, _, poll, ids = await database_sync_to_async(open_room)(30)
    inside, release = threading.Event(), threading.Event()
    sizes: list[int] = []
    write = rooms.answer_many

    def held(room_code: str, batch: list[Answer]) -> list[RoomError | None]:
        sizes.append(len(batch))
        if len(sizes) == 1:  # the first transaction waits until the rest have arrived
            inside.set()
            release.wait(timeout=30)
        return write(room_code, batch)

    monkeypatch.setattr(rooms, "answer_many", held)
    writer = AnswerWriter(lambda _code: asyncio.sleep(0))
    first = asyncio.create_task(writer.submit(code, Answer(ids[0], poll, 1)))
    await asyncio.to_thread(inside.wait, 30)
    later = [asyncio.create_task(writer.submit(code, Answer(pid, poll, 1))) for pid in ids[1:]]
    await asyncio.sleep(0)  # each has handed its answer over
    drained = asyncio.create_task(writer.drain(code))  # what the reveal waits for
    await asyncio.sleep(0)
    assert not drained.done()
    release.set()
    await drained
    assert await database_sync_to_async(rooms.answer_count)(code, poll) == 30
    assert sizes == [1, 29] and writer.batches == 2
    await asyncio.gather(first, *later)


async def test_the_reveal_counts_every_acknowledged_answer_and_refuses_the_rest(
    host: Any,  # noqa: F811 (the fixture)
    room: tuple[str, str],  # noqa: F811
) -> None:
    """Answers and the reveal race: each answer is either acknowledged and in the reveal's
    count, or refused with an error — never lost, never counted twice."""
    code, _ = room
    sockets = [(await participant(code, f"p{k}", f"10.0.1.{k}"))[0] for k in range(12)]
    await host.send_json_to({"type": "open", "question": QUESTION})
    poll = (await next_of(host, "state"))["question"]["poll"]
    for socket in sockets:
        await next_of(socket, "state")
    for k, socket in enumerate(sockets[:6]):  # acknowledged before the reveal
        await socket.send_json_to({"type": "answer", "poll": poll, "value": k})
        assert (await receive(socket))["type"] == "answered"
    for k, socket in enumerate(sockets[6:], start=6):  # racing it
        await socket.send_json_to({"type": "answer", "poll": poll, "value": k})
        if k == 8:
            await host.send_json_to({"type": "reveal"})
    revealed = await next_of(host, "state")
    while not revealed["revealed"]:
        revealed = await next_of(host, "state")
    acknowledged = 6
    for socket in sockets[6:]:
        verdict = await receive(socket)
        while verdict["type"] in ("state", "outcome"):  # the reveal itself
            verdict = await receive(socket)
        assert verdict["type"] in ("answered", "error"), verdict
        if verdict["type"] == "answered":
            acknowledged += 1
        else:
            assert verdict["field"] == "question", verdict
    for socket in sockets:
        await socket.disconnect()
    assert revealed["reveal"]["total"] == acknowledged
    stored = await database_sync_to_async(RoomAnswer.objects.filter(poll=poll).count)()
    assert stored == acknowledged
    assert await database_sync_to_async(RoomParticipant.objects.count)() == 12
