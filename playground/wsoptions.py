"""Daphne's websocket options that its command line does not expose.

`failByDrop=False`: when a client breaks a limit (a message over Daphne's 1 MiB, a
protocol error), autobahn sends a close frame with the reason's code — 1009 "message too
big" — instead of dropping the TCP connection (which the client sees as 1006, no
reason). Daphne builds its factory in `Server.run()`, after importing the application,
so `install()` from the ASGI module is in time, for `daphne` and for the test servers.

Lazy debug text: autobahn pretty-prints its options into a debug log line at every new
connection (`WebSocketProtocol._connectionMade`), whether or not debug is logged — 2 ms
of the event loop per websocket, 0.4 s for 200 visitors arriving together (measured with
cProfile under `bench/load.py`) — and colours the names of its methods and values
(`hltype`, `hlval`: `click.style`) for a debug line at every connection, every message
received and every write: 2.3 s of the loop in two 200-visitor rounds. `install()` makes
that text lazy: formatted only if a debug observer writes it.
"""

from __future__ import annotations

from collections.abc import Callable
from pprint import pformat
from typing import Any

from autobahn import util
from autobahn.twisted import websocket as twisted_websocket
from autobahn.websocket import protocol
from daphne.ws_protocol import WebSocketFactory  # type: ignore[import-untyped]

_MARK = "_playground_close_on_failure"


def install() -> None:
    if getattr(WebSocketFactory, _MARK, False):
        return
    original = WebSocketFactory.setProtocolOptions

    def set_protocol_options(self: WebSocketFactory, *args: Any, **options: Any) -> None:
        options.setdefault("failByDrop", False)
        original(self, *args, **options)

    WebSocketFactory.setProtocolOptions = set_protocol_options
    protocol.pformat = _LazyText  # type: ignore[assignment,attr-defined]
    for module in (protocol, twisted_websocket):  # each imported them by name
        module.hltype = _lazy("hltype")  # type: ignore[attr-defined]
        module.hlval = _lazy("hlval")  # type: ignore[attr-defined]
    setattr(WebSocketFactory, _MARK, True)


class _LazyText:
    """`text(value)` (`pformat` by default), computed when a log line is formatted."""

    def __init__(self, value: Any, text: Callable[[Any], str] = pformat) -> None:
        self.value = value
        self.text = text

    def __format__(self, spec: str) -> str:
        return format(self.text(self.value), spec)

    def __str__(self) -> str:
        return self.text(self.value)


def _lazy(name: str) -> Callable[[Any], _LazyText]:
    """autobahn.util's `name` (hltype, hlval), called when its text is written."""
    return lambda value: _LazyText(value, lambda v: str(getattr(util, name)(v)))
