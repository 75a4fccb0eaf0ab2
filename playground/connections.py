"""Open websockets per client address (`settings.WS_PER_CLIENT`), shared by the run
streams (`consumers`) and the rooms (`room_consumer`), counted per process on its event loop.

A room's page holds two sockets: its run's stream and the room. Both carry the page's
seat (`?seat=<nonce>`, drawn when the page is rendered: `new_seat`), and a seat counts
once against the limit while it holds at most one socket of each kind; another socket of
a kind the seat already holds counts on its own. So a class behind one NAT address needs
the limit at its size, not twice it. A client that makes up seats gets at most two sockets
per place — what one room page needs anyway.
"""

from __future__ import annotations

import re
import secrets
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import parse_qs

from django.conf import settings

from playground.errors import error_payload

SEAT = re.compile(r"[A-Za-z0-9_-]{8,32}")
SEAT_ALLOWED = "8 to 32 letters, digits, '-' or '_'"
KINDS = ("run", "room")

_open: Counter[str] = Counter()  # places taken per client address
_seats: dict[tuple[str, str], set[str]] = {}  # (address, seat) → the kinds of socket in it


class SeatError(Exception):
    """A malformed `seat` in a websocket's query string."""

    def __init__(self, raw: str) -> None:
        super().__init__(raw)
        self.payload = error_payload("seat", f"{raw[:40]!r} is not a seat", SEAT_ALLOWED)


@dataclass(frozen=True)
class Ticket:
    """One admitted socket: what `release` gives back."""

    key: str  # the client's address
    kind: str  # run, room
    seat: str | None  # the seat it shares a place in; None: a place of its own


def new_seat() -> str:
    """A page's seat, for both of its sockets' URLs."""
    return secrets.token_urlsafe(9)


def seat_of(scope: Mapping[str, Any]) -> str | None:
    """The `seat` of a websocket's query string; None without one; SeatError if malformed."""
    query = parse_qs(bytes(scope.get("query_string", b"")).decode("latin-1"))
    raw = query.get("seat", [None])[-1]
    if raw is None:
        return None
    if not SEAT.fullmatch(raw):
        raise SeatError(raw)
    return raw


class Refusing(Protocol):
    """What `take_place` needs of a websocket consumer (RunConsumer, RoomConsumer)."""

    scope: Any
    client: str | None

    async def accept(self, subprotocol: str | None = None) -> None: ...

    async def refuse(self, payload: dict[str, Any], code: int) -> None: ...


CLOSE_BAD_REQUEST = 4400  # a malformed query string (seat_of)
CLOSE_TOO_MANY = 4429  # too many messages, or too many connections from one address


async def take_place(consumer: Refusing, kind: str) -> Ticket | None:
    """Accepts the socket and counts it against WS_PER_CLIENT (with its page's seat); a
    malformed seat, or no place left, is refused with an error frame naming why, and
    None is returned: the consumer then stops connecting."""
    try:
        seat = seat_of(consumer.scope)
    except SeatError as err:
        await consumer.accept()
        await consumer.refuse(err.payload, CLOSE_BAD_REQUEST)
        return None
    ticket = admit(consumer.client, kind, seat)
    await consumer.accept()
    if ticket is None:
        await consumer.refuse(too_many_connections(), CLOSE_TOO_MANY)
    return ticket


def admit(client: str | None, kind: str, seat: str | None = None) -> Ticket | None:
    """Counts a new socket from `client`; None (not counted) past WS_PER_CLIENT places."""
    key = client or "?"
    if seat is not None:
        kinds = _seats.get((key, seat))
        if kinds is not None and kind not in kinds:  # the page's other socket: its place
            kinds.add(kind)
            return Ticket(key, kind, seat)
        if kinds is not None:  # the seat has one of these already: a place of its own
            seat = None
    if _open[key] >= settings.WS_PER_CLIENT:
        return None
    _open[key] += 1
    if seat is not None:
        _seats[(key, seat)] = {kind}
    return Ticket(key, kind, seat)


def release(ticket: Ticket) -> None:
    if ticket.seat is not None:
        kinds = _seats[(ticket.key, ticket.seat)]
        kinds.discard(ticket.kind)
        if kinds:  # the other socket keeps the place
            return
        del _seats[(ticket.key, ticket.seat)]
    _open[ticket.key] -= 1
    if _open[ticket.key] <= 0:
        del _open[ticket.key]


def places(client: str | None) -> int:
    """The places `client` holds (tests)."""
    return _open[client or "?"]


def too_many_connections() -> dict[str, Any]:
    return error_payload(
        "connections",
        f"too many open connections from your address (at most"
        f" {settings.WS_PER_CLIENT}): close other tabs of the playground",
    )
