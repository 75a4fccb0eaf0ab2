"""The run's timeline: typed events in order, and its digest (the identity of a run).

An event is ``(time_ms, kind, actor, fields)`` with ``fields`` a dict built in code
order, so the canonical encoding below is the same in every process.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

Event = tuple[int, str, str, dict[str, Any]]


# The data path's per-batch and per-poll steps: itemised in small runs (step through
# them), left out of large ones, whose frames are sampled anyway: every frame carries each
# producer's request, retry and ack counts, and the ledger counts every record. (Errors,
# dedups and failures stay itemised.)
QUIET_IN_LARGE_RUNS = frozenset(
    {"send", "ack", "append", "hw", "poll", "processed", "consumer_fetch_session"}
)


class Timeline:
    def __init__(self, clock: Callable[[], int], quiet: frozenset[str] = frozenset()) -> None:
        self._clock = clock
        self.events: list[Event] = []
        self.quiet = quiet

    def itemises(self, kind: str) -> bool:
        """False for a quiet kind: lets hot callers skip building fields."""
        return kind not in self.quiet

    def record(self, kind: str, actor: str, **fields: Any) -> None:
        if kind not in self.quiet:
            self.events.append((self._clock(), kind, actor, fields))

    def __len__(self) -> int:
        return len(self.events)


def digest(events: list[Event], header: str) -> str:
    """SHA-256 of the header and one line per event: ``time|kind|actor|{fields}``. Field
    values are ints, strings, booleans, None or lists of those
    (``tests/simcore/test_engine.py`` checks it), whose ``repr`` is the same in every
    process; the dict keeps the order the code wrote."""
    h = hashlib.sha256(header.encode())
    for start in range(0, len(events), 4096):
        lines = [
            f"{t}|{kind}|{actor}|{fields!r}\n"
            for t, kind, actor, fields in events[start : start + 4096]
        ]
        h.update("".join(lines).encode())
    return h.hexdigest()
