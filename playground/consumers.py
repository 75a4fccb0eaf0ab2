"""The run as a websocket stream: a thin consumer over `runner` and `streams`.

Protocol:

    client → {"type": "run", "from": 0}      start, or resume at a step after a reconnect
    server → binary: 8-byte token + deflated JSON {"type": "meta", ...}, then
             binary: 8-byte token + deflated JSON {"type": "frames", "start": i, "frames": [...]}
    client → {"type": "ack", "chunks": k, "token": "<hex of the k-th binary message's token>"}
    server → {"type": "end", "total": n}
    server → {"type": "error", "field": ..., "message": ..., "allowed": ...[, "retry_after": s]}

The binary messages are the same bytes for every viewer (encoded once per scenario by
the worker, `streams`), behind a token drawn for this connection. The server keeps at
most `STREAM_WINDOW` of them unacknowledged, and an acknowledgement must echo the token
of the message it acknowledges: a client that does not read cannot know it, so whatever
it does the server holds at most a window of chunks for it (a few tens of kB). A client
that acknowledges nothing for `STREAM_ACK_SECONDS` is closed with 4408.

One stream at a time per connection: a "run" while one is being sent gets an error frame
(the stream goes on). A busy server answers "run" with an error frame carrying
`retry_after` and keeps the connection open. A malformed message gets an error frame
and the connection stays open; more than `RATE_WS_MESSAGES` messages close it (4429), as
does opening more than `WS_PER_CLIENT` connections from one address (the extra one;
`connections`: a room page's stream and room socket, sharing a `?seat=`, count once; a
malformed seat closes with 4400).
An unknown slug gets an error frame and close code 4404. Daphne refuses a message over
1 MiB; it closes with 1009 (`wsoptions`) instead of dropping the connection.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections import OrderedDict
from collections.abc import MutableMapping
from typing import Any, cast

from autobahn.exception import Disconnected  # Daphne's; any other server never raises it
from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from playground import admission, connections, runner, scenarios
from playground.admission import Busy, CallerGone
from playground.errors import error_payload, scenario_error_payload
from playground.rates import TokenBucket
from simcore import Scenario, ScenarioError

MAX_MESSAGE_CHARS = 1000  # control messages are tiny
TOKEN_BYTES = 8
CLOSE_BAD_REQUEST = connections.CLOSE_BAD_REQUEST  # a malformed query string (seat_of)
CLOSE_NOT_FOUND = 4404
CLOSE_TOO_SLOW = 4408  # no acknowledgement within STREAM_ACK_SECONDS
CLOSE_TOO_MANY = connections.CLOSE_TOO_MANY  # too many messages, or connections per address
CLOSE_INTERNAL = 1011
KNOWN_SLUGS = 1024  # slug → scenario, kept: a slug is content-addressed, it never changes

logger = logging.getLogger(__name__)
_known: OrderedDict[str, Scenario] = OrderedDict()


class ProtocolError(Exception):
    def __init__(self, field: str, message: str, allowed: str | None = None) -> None:
        super().__init__(message)
        self.payload = error_payload(field, message, allowed)


def _count(message: dict[str, Any], field: str, minimum: int, allowed: str) -> int:
    value = message.get(field, minimum)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ProtocolError(field, f"must be a whole number ≥ {minimum}, got {value!r}", allowed)
    return value


def read_json(text: str | None) -> dict[str, Any]:
    """A client's text message as a JSON object, or ProtocolError naming the fault (the
    run stream and the rooms share it)."""
    if text is None:
        raise ProtocolError("message", "binary frames are not accepted: send JSON text")
    if len(text) > MAX_MESSAGE_CHARS:
        raise ProtocolError("message", f"is {len(text)} characters; at most {MAX_MESSAGE_CHARS}")
    try:
        message = json.loads(text)
    except ValueError:
        raise ProtocolError("message", "is not valid JSON") from None
    if not isinstance(message, dict):
        raise ProtocolError("message", "must be a JSON object")
    return message


def parse_message(text: str | None) -> tuple[str, int, str]:
    """("run", from step, "") or ("ack", chunks, token), or ProtocolError naming the fault."""
    message = read_json(text)
    kind = message.get("type")
    if kind == "run":
        return "run", _count(message, "from", 0, "0, 1, 2, …"), ""
    if kind == "ack":
        token = message.get("token")
        if not isinstance(token, str) or len(token) != 2 * TOKEN_BYTES:
            raise ProtocolError("token", "must be the 16 hex digits the message started with")
        return "ack", _count(message, "chunks", 1, "1, 2, 3, …"), token
    raise ProtocolError("type", f"unknown message type {kind!r}", "run, ack")


class _Closed(Exception):
    """The stream ended the connection (it has sent its close already)."""


class RunConsumer(AsyncWebsocketConsumer):
    # A run's socket only answers its own client: with no channel layer (an alias that names
    # none), Channels gives it no channel and no task waiting on the layer (200 viewers: 200
    # queues on the in-memory layer, 200 pending reads on Redis's).
    channel_layer_alias = "none: a run socket sends to its own client only"

    async def dispatch(self, message: dict[str, Any]) -> None:
        """As Channels' `AsyncConsumer.dispatch`, without closing stale database
        connections before every message (a hop to a thread and back: with 200 viewers
        acknowledging chunks, 1 s of the event loop in a `bench/load.py` round, measured
        with cProfile). This consumer reaches the database only through
        `database_sync_to_async`, which closes them itself, before and after."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self) -> None:
        self.slug = self.scope["url_route"]["kwargs"]["slug"]
        self.client = admission.client_of(cast("MutableMapping[str, Any]", self.scope))
        self.bucket = TokenBucket(settings.RATE_WS_MESSAGES)
        self.task: asyncio.Task[None] | None = None
        self.tokens: list[bytes] = []  # of the binary messages sent in the current stream
        self.acked = 0
        self.acked_event = asyncio.Event()
        self.closing = False  # once it has said why it closes, it only drops what comes
        self.ticket: connections.Ticket | None = None  # (disconnect may come meanwhile)
        self.ticket = await connections.take_place(self, "run")

    async def disconnect(self, code: int) -> None:
        self.closing = True
        if self.task is not None:
            self.task.cancel()  # a queued run nobody else waits for is dropped (runner)
        if self.ticket is not None:
            connections.release(self.ticket)
            self.ticket = None

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.closing:  # messages the client sent before it got the close
            return
        wait = self.bucket.take()
        if wait:
            rate = settings.RATE_WS_MESSAGES
            message = f"more than {rate.capacity} messages in {rate.period:g} s"
            await self.refuse(error_payload("message", message), CLOSE_TOO_MANY)
            return
        try:
            kind, number, token = parse_message(text_data)
        except ProtocolError as err:
            await self.send_error(err.payload)
            return
        if kind == "ack":
            await self.acknowledge(number, token)
        elif self.task is not None and not self.task.done():
            await self.send_error(
                error_payload(
                    "type",
                    "a stream is already being sent on this connection: wait for its end",
                )
            )
        else:
            self.task = asyncio.create_task(self.stream(number))

    async def acknowledge(self, chunks: int, token: str) -> None:
        if not self.acked < chunks <= len(self.tokens):
            await self.send_error(
                error_payload("chunks", f"{chunks} is not a message waiting for its ack")
            )
        elif self.tokens[chunks - 1].hex() != token.lower():
            await self.send_error(error_payload("token", "is not the token of that message"))
        else:
            self.acked = chunks
            self.acked_event.set()

    async def send_error(self, payload: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps({"type": "error", **payload}))

    async def refuse(self, payload: dict[str, Any], code: int) -> None:
        if self.closing:
            return
        self.closing = True
        if self.task is not None and self.task is not asyncio.current_task():
            self.task.cancel()
        await self.send_error(payload)
        await self.close(code=code)

    # --- the stream --------------------------------------------------------------------

    async def stream(self, start: int) -> None:
        try:
            await self._stream(start)
        except (_Closed, CallerGone, Disconnected):  # Disconnected: the client just left
            pass
        except Exception:  # a bug: said on the connection, logged, not silently lost
            if self.closing:
                return
            logger.exception("stream of %s failed", self.slug)
            await self.refuse(error_payload("run", "the server failed to send it"), CLOSE_INTERNAL)

    async def _stream(self, start: int) -> None:
        scenario = await self.scenario()
        try:
            outcome = await runner.aoutcome(scenario, self.client)
        except Busy as err:  # the connection stays open: ask again after retry_after
            await self.send_error(err.payload())
            return
        self.tokens, self.acked = [], 0
        for chunk in outcome.stream.from_step(start):
            await self.window_open()
            token = os.urandom(TOKEN_BYTES)
            self.tokens.append(token)
            await self.send(bytes_data=token + chunk)
        await self.send(text_data=json.dumps({"type": "end", "total": outcome.stream.total}))

    async def window_open(self) -> None:
        """Returns once fewer than STREAM_WINDOW messages wait for their ack."""
        while len(self.tokens) - self.acked >= settings.STREAM_WINDOW:
            self.acked_event.clear()
            try:
                await asyncio.wait_for(self.acked_event.wait(), settings.STREAM_ACK_SECONDS)
            except TimeoutError:
                message = f"no acknowledgement for {settings.STREAM_ACK_SECONDS} s"
                await self.refuse(error_payload("ack", message), CLOSE_TOO_SLOW)
                raise _Closed() from None

    async def scenario(self) -> Scenario:
        known = _known.get(self.slug)
        if known is not None:
            _known.move_to_end(self.slug)
            return known
        try:
            found = await database_sync_to_async(scenarios.find)(self.slug)
        except ScenarioError as err:
            found, problem = None, scenario_error_payload(err)
        else:
            problem = error_payload("slug", f"no scenario with the link {self.slug!r}")
        if found is None:
            await self.refuse(problem, CLOSE_NOT_FOUND)
            raise _Closed()
        _known[self.slug] = found
        while len(_known) > KNOWN_SLUGS:
            _known.popitem(last=False)
        return found
