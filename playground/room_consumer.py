"""A workshop room over a websocket: the instructor's actions reach every participant.

Route `ws/rooms/<code>`. The first message says who is connecting:

    client → {"type": "join", "name": "Ada", "key": "<kept by the browser, or absent>"}
    client → {"type": "host", "token": "<the instructor link's token>"}
    server → {"type": "welcome", "role": "participant", "key": ..., "name": ...}
             or {"type": "welcome", "role": "host"}, then the room's state

Then:

    server → {"type": "state", "version": v, "slug", "course", "step", "at_ms", "playing",
              "speed", "question", "revealed", "reveal"}   to everyone, after each change
    server → {"type": "host", "participants", "names", "answers", "questions"}  hosts only
    server → {"type": "outcome", "slug", "parts": {part: html}}   after a reveal's state;
             to a participant joining a revealed room, before its state
    participant → {"type": "answer", "poll": p, "value": 3 | "c4"}
    server → {"type": "answered", "poll": p, "value": ...}   to that participant
    host → {"type": "control", "action": "play" | "pause" | "seek", "step", "at_ms"[, "speed"]}
    host → {"type": "open", "question": "<id>"}  |  {"type": "reveal"}
    host → {"type": "goto", "position": k}      (a course's scenario, by its place)
    server → {"type": "error", "field", "message", "allowed"}   the connection stays open

The row (`rooms`) is the truth: each change is written, then the whole state is sent,
encoded once, to the room's Channels group (`room.<code>`; with REDIS_URL, across
processes), whose members are one reader per process (`Fanout`) passing it to that
process's connections in the room; a client keeps the highest `version` it has seen.
Answer counts and joins go to the hosts' group (`room.<code>.host`), each host connection
refreshing at most every HOST_REFRESH_SECONDS.

Limits as on the run stream (`consumers`): messages of at most 1,000 characters, JSON
objects; `RATE_WS_MESSAGES` per connection (past it: 4429); `WS_PER_CLIENT` connections
per address, counted with the run streams — a page's room socket and its run stream share
one place when both carry the page's `?seat=` (`connections`; a malformed one: 4400). A
participant's control message gets an error frame naming `type`; an unknown or ended room
closes with 4404.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import MutableMapping
from typing import Any, cast

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from playground import admission, connections, room_outcome, rooms
from playground.consumers import (
    CLOSE_NOT_FOUND,
    CLOSE_TOO_MANY,
    ProtocolError,
    read_json,
)
from playground.errors import error_payload
from playground.models import Room
from playground.rates import TokenBucket
from playground.room_answers import AnswerWriter
from playground.rooms import RoomError

HOST_REFRESH_SECONDS = 0.2
HOST_ACTIONS = ("control", "open", "reveal", "goto")
logger = logging.getLogger(__name__)


def group_of(code: str) -> str:
    return f"room.{code}"


def host_group_of(code: str) -> str:
    return f"room.{code}.host"


class RoomConsumer(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        self.code = rooms.normal_code(self.scope["url_route"]["kwargs"]["code"])
        # the stubs type a scope as a TypedDict; client_of reads it as a mapping
        self.client = admission.client_of(cast("MutableMapping[str, Any]", self.scope))
        self.bucket = TokenBucket(settings.RATE_WS_MESSAGES)
        self.role: str | None = None
        self.participant_id: int | None = None
        self.closing = False
        self.refresh: asyncio.Task[None] | None = None
        self.stale = False  # the hosts' counts have changed since they were last read
        self.groups_joined: list[str] = []
        self.ticket: connections.Ticket | None = None  # (disconnect may come meanwhile)
        self.ticket = await connections.take_place(self, "room")
        if self.ticket is None:
            return
        if await database_sync_to_async(rooms.find)(self.code) is None:
            await self.refuse(error_payload("code", f"no room {self.code!r} (or it has ended)"))

    async def disconnect(self, code: int) -> None:
        self.closing = True
        if self.refresh is not None:
            self.refresh.cancel()
        await fanout.leave(self.code, self)
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)
        if self.ticket is not None:
            connections.release(self.ticket)
            self.ticket = None

    async def refuse(self, payload: dict[str, Any], code: int = CLOSE_NOT_FOUND) -> None:
        if self.closing:
            return
        self.closing = True
        await self.send_json({"type": "error", **payload})
        await self.close(code=code)

    async def send_json(self, message: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(message))

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.closing:
            return
        if self.bucket.take():
            rate = settings.RATE_WS_MESSAGES
            said = f"more than {rate.capacity} messages in {rate.period:g} s"
            await self.refuse(error_payload("message", said), CLOSE_TOO_MANY)
            return
        try:
            await self.handle(read_json(text_data))
        except ProtocolError as err:
            await self.send_json({"type": "error", **err.payload})
        except RoomError as err:
            if err.payload["field"] == "room":  # ended under us
                await self.refuse(err.payload)
            else:
                await self.send_json({"type": "error", **err.payload})

    async def handle(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if self.role is None:
            if kind == "join":
                await self.join(message)
            elif kind == "host":
                await self.host(message)
            else:
                raise RoomError("type", "say who you are first", allowed="join, host")
        elif kind in HOST_ACTIONS:
            if self.role != "host":
                raise RoomError(
                    "type", f"{kind!r}: only the instructor controls the room", allowed="answer"
                )
            await self.act(kind, message)
        elif kind == "answer":
            if self.participant_id is None:
                raise RoomError("type", "only participants answer", allowed=", ".join(HOST_ACTIONS))
            await self.answer(message)
        elif kind in ("join", "host"):
            raise RoomError("type", "you have already joined this room")
        else:
            allowed = "answer" if self.role == "participant" else ", ".join(HOST_ACTIONS)
            raise RoomError("type", f"unknown message type {kind!r}"[:200], allowed=allowed)

    # --- joining -------------------------------------------------------------------------

    async def join(self, message: dict[str, Any]) -> None:
        name = rooms.clean_name(message.get("name"))
        key = message.get("key")
        if key is not None and (not isinstance(key, str) or len(key) > 64):
            raise RoomError("key", "must be the key this room gave your browser")
        participant, key = await database_sync_to_async(rooms.join)(self.code, key, name)
        self.role, self.participant_id = "participant", participant.pk
        await self.send_json(
            {"type": "welcome", "role": "participant", "key": key, "name": participant.name}
        )
        await fanout.enter(self.code, self)
        await self.send_state()
        await self.channel_layer.group_send(host_group_of(self.code), {"type": "room.changed"})

    async def host(self, message: dict[str, Any]) -> None:
        token = message.get("token")
        room = await database_sync_to_async(rooms.find)(self.code)
        if room is None:
            raise RoomError("room", "this room has ended")
        if not isinstance(token, str) or not rooms.is_host(room, token):
            raise RoomError("token", "is not this room's instructor token")
        self.role = "host"
        await self.send_json({"type": "welcome", "role": "host"})
        await fanout.enter(self.code, self)
        await self.enter(host_group_of(self.code))
        await self.send_state()
        await self.send_host_view()

    async def enter(self, group: str) -> None:
        await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined.append(group)

    async def send_state(self) -> None:
        state = await database_sync_to_async(_state_of)(self.code)
        if state["revealed"] and self.role == "participant":  # a page opened before it
            await self.send(
                text_data=await database_sync_to_async(room_outcome.message)(state["slug"])
            )
        await self.send_json(state)

    # --- the instructor ------------------------------------------------------------------

    async def act(self, kind: str, message: dict[str, Any]) -> None:
        if kind == "control":
            c = rooms.parse_control(message)
            room = await database_sync_to_async(rooms.control)(self.code, c)
        elif kind == "open":
            question = message.get("question")
            if not isinstance(question, str):
                raise RoomError("question", "must be the id of one of the scenario's questions")
            room = await database_sync_to_async(rooms.open_question)(self.code, question[:64])
        elif kind == "reveal":
            await answer_writer.drain(self.code)  # the answers this process has: counted
            room = await database_sync_to_async(rooms.reveal)(self.code)
            await broadcast(room)  # the histogram first: the outcome may be 100 kB
            await send_outcome(room)
            return
        else:
            position = rooms.whole(message, "position", rooms.MAX_STEP)
            room = await database_sync_to_async(rooms.goto)(self.code, position)
        await broadcast(room)

    # --- participants --------------------------------------------------------------------

    async def answer(self, message: dict[str, Any]) -> None:
        """Written with the other answers that arrive meanwhile (room_answers); "answered"
        once committed."""
        assert self.participant_id is not None
        poll = rooms.whole(message, "poll", 2**31)
        value = message.get("value")
        await answer_writer.submit(self.code, rooms.Answer(self.participant_id, poll, value))
        await self.send_json({"type": "answered", "poll": poll, "value": value})

    # --- group messages ------------------------------------------------------------------

    async def deliver(self, text: str) -> None:
        """A room state, from this process's fan-out (`Fanout`)."""
        if not self.closing:
            await self.send(text_data=text)

    async def dispatch(self, message: dict[str, Any]) -> None:
        """ "room.changed" only marks the counts stale: no database, so not through
        Channels' per-message `close_old_connections` hop (the one thread all sync calls
        share) — 200 answers queue 200 of these, and a queue that drains slowly fills
        (the in-memory layer holds 100 a channel and drops the rest)."""
        if message["type"] == "room.changed":
            await self.room_changed(message)
        else:
            await super().dispatch(message)

    async def room_changed(self, event: dict[str, Any]) -> None:
        """Someone joined or answered: the hosts' counts, at most every HOST_REFRESH_SECONDS."""
        if self.role != "host":
            return
        self.stale = True
        if self.refresh is None or self.refresh.done():
            self.refresh = asyncio.create_task(self.refresh_later())

    async def refresh_later(self) -> None:
        """Reads the counts until two reads agree with no news between them: a change
        whose news was dropped (a full channel) is still read."""
        previous = None
        while not self.closing:
            self.stale = False
            await asyncio.sleep(HOST_REFRESH_SECONDS)  # coalesce a burst: a delay, not a sync
            view = await self.send_host_view()
            if view == previous and not self.stale:
                return
            previous = view

    async def send_host_view(self) -> dict[str, Any] | None:
        view = await database_sync_to_async(_host_view_of)(self.code)
        if view is not None and not self.closing:
            await self.send_json(view)
        return view


class Fanout:
    """One member of a room's group per process, which passes each state to the room's
    connections in this process.

    With a member per connection, Channels delivers every state once per participant
    through the layer and the consumer's dispatch (a task, a queue, and for the in-memory
    layer a sweep of every channel on each send: quadratic in the room's size). Here the
    layer carries one message per process and room; the rest is a loop over sockets.
    """

    def __init__(self) -> None:
        self.members: dict[str, set[RoomConsumer]] = {}
        # per room: the loop it runs on, the reader, and its channel once in the group
        self.readers: dict[
            str, tuple[asyncio.AbstractEventLoop, asyncio.Task[None], asyncio.Future[str]]
        ] = {}

    async def enter(self, code: str, consumer: RoomConsumer) -> None:
        """Returns once this process's reader is in the room's group."""
        self.members.setdefault(code, set()).add(consumer)
        loop = asyncio.get_running_loop()
        reader = self.readers.get(code)
        if reader is None or reader[0] is not loop or reader[1].done():
            joined: asyncio.Future[str] = loop.create_future()
            task = asyncio.create_task(self.read(code, consumer.channel_layer, joined))
            reader = self.readers[code] = (loop, task, joined)  # no await since the check
        await asyncio.shield(reader[2])

    async def leave(self, code: str, consumer: RoomConsumer) -> None:
        members = self.members.get(code)
        if members is None or consumer not in members:
            return
        members.discard(consumer)
        if members:
            return
        del self.members[code]
        reader = self.readers.pop(code, None)
        if reader is not None:
            reader[1].cancel()
            if reader[2].done() and not reader[2].cancelled():
                await consumer.channel_layer.group_discard(group_of(code), reader[2].result())

    async def read(self, code: str, layer: Any, joined: asyncio.Future[str]) -> None:
        try:
            # the default prefix: channels_redis receives every "specific" channel of a
            # process through one BZPOPMIN on one key; another prefix is another key that
            # waits behind it for ever
            channel = await layer.new_channel()
            await layer.group_add(group_of(code), channel)
        except BaseException as err:
            if not joined.done():
                joined.set_exception(err)
            raise
        joined.set_result(channel)
        while True:
            event = await layer.receive(channel)
            for consumer in list(self.members.get(code, ())):
                try:
                    await consumer.deliver(event["text"])
                except Exception:  # one broken socket must not stop the room's news
                    logger.exception("room %s: a state was not delivered", code)


fanout = Fanout()


async def notify_hosts(code: str) -> None:
    """Answers were written: the instructors' counts are stale (`room_changed`)."""
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    assert layer is not None  # settings.CHANNEL_LAYERS always has a default
    await layer.group_send(host_group_of(code), {"type": "room.changed"})


answer_writer = AnswerWriter(notify_hosts)


def _state_of(code: str) -> dict[str, Any]:
    room = rooms.find(code)
    if room is None:
        raise RoomError("room", "this room has ended")
    return rooms.state(room)


def _host_view_of(code: str) -> dict[str, Any] | None:
    room = rooms.find(code)
    return None if room is None else rooms.host_view(room)


async def send_outcome(room: Room) -> None:
    """What participants' pages left out until the reveal (room_outcome), to everyone in
    the room, in every process, right after the revealed state (room.js shows it then)."""
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    assert layer is not None
    text = await database_sync_to_async(room_outcome.message)(room.slug)
    await layer.group_send(group_of(room.code), {"type": "room.state", "text": text})


async def broadcast(room: Room) -> None:
    """Sends the room's new state to everyone in it, in every process, and the hosts'
    counts (a question opened: no answers yet)."""
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    assert layer is not None  # settings.CHANNEL_LAYERS always has a default
    state = await database_sync_to_async(rooms.state)(room)
    text = json.dumps(state)
    await layer.group_send(group_of(room.code), {"type": "room.state", "text": text})
    await layer.group_send(host_group_of(room.code), {"type": "room.changed"})
