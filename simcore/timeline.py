"""The run's timeline: typed events in order, and its digest (the identity of a run).

An event is ``(time_ms, kind, actor, fields)`` with ``fields`` a dict built in code
order, so the canonical encoding below is the same in every process.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

Event = tuple[int, str, str, dict[str, Any]]


class Timeline:
    def __init__(self, clock: Callable[[], int]) -> None:
        self._clock = clock
        self.events: list[Event] = []

    def record(self, kind: str, actor: str, **fields: Any) -> None:
        self.events.append((self._clock(), kind, actor, fields))

    def __len__(self) -> int:
        return len(self.events)


def canonical_line(event: Event) -> str:
    time_ms, kind, actor, fields = event
    body = ",".join(f"{k}={_canon(v)}" for k, v in fields.items())
    return f"{time_ms}|{kind}|{actor}|{body}\n"


def _canon(value: Any) -> str:
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return repr(value)
    if isinstance(value, (list, tuple, range)):
        return "[" + ";".join(_canon(v) for v in value) + "]"
    raise TypeError(f"timeline field of type {type(value).__name__} has no canonical form")


def digest(events: list[Event], header: str) -> str:
    h = hashlib.sha256(header.encode())
    chunk: list[str] = []
    for event in events:
        chunk.append(canonical_line(event))
        if len(chunk) >= 4096:
            h.update("".join(chunk).encode())
            chunk.clear()
    h.update("".join(chunk).encode())
    return h.hexdigest()
