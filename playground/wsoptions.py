"""Daphne's websocket options that its command line does not expose.

`failByDrop=False`: when a client breaks a limit (a message over Daphne's 1 MiB, a
protocol error), autobahn sends a close frame with the reason's code — 1009 "message too
big" — instead of dropping the TCP connection (which the client sees as 1006, no
reason). Daphne builds its factory in `Server.run()`, after importing the application,
so `install()` from the ASGI module is in time, for `daphne` and for the test servers.
"""

from __future__ import annotations

from typing import Any

from daphne.ws_protocol import WebSocketFactory

_MARK = "_playground_close_on_failure"


def install() -> None:
    if getattr(WebSocketFactory, _MARK, False):
        return
    original = WebSocketFactory.setProtocolOptions

    def set_protocol_options(self: WebSocketFactory, *args: Any, **options: Any) -> None:
        options.setdefault("failByDrop", False)
        original(self, *args, **options)

    WebSocketFactory.setProtocolOptions = set_protocol_options  # type: ignore[method-assign]
    setattr(WebSocketFactory, _MARK, True)
