"""The discrete-event engine: a clock, a heap and RNG streams derived from the seed.

Heap entries are ``(time_ms, seq, handler, args)``; ``seq`` comes from a counter so
events at the same millisecond run in the order they were scheduled (SimPy's rule).
Nothing here reads the wall clock; a caller that wants a wall-time cap passes a
``should_stop`` callable, which the engine polls every few thousand events.
"""

from __future__ import annotations

import hashlib
import itertools
import random
from collections.abc import Callable
from heapq import heappop, heappush
from typing import Any

from simcore.kernel.errors import RunBudgetExceeded

STOP_CHECK_EVERY = 4096


class Timer:
    """A call scheduled with ``Engine.timer``. ``cancel()`` before it is due and it does
    nothing when its turn comes; it keeps its place in the event order either way, so
    cancelling a timer never reorders the rest of a run (the one way to drop scheduled
    work: no token counters, no generation checks in the handler)."""

    __slots__ = ("cancelled", "fired")

    def __init__(self) -> None:
        self.cancelled = False
        self.fired = False

    def cancel(self) -> None:
        self.cancelled = True

    @property
    def pending(self) -> bool:
        """Neither run nor cancelled yet."""
        return not (self.cancelled or self.fired)


def _fire(timer: Timer, handler: Callable[..., Any], args: tuple[Any, ...]) -> None:
    timer.fired = True
    if not timer.cancelled:
        handler(*args)


def derive_seed(seed: int, stream: str) -> int:
    """A 64-bit seed for one named stream, stable across processes and platforms."""
    digest = hashlib.sha256(f"{seed}/{stream}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


class Engine:
    """Runs handlers in (time, seq) order until the horizon or an empty heap."""

    def __init__(
        self,
        seed: int,
        horizon_ms: int,
        *,
        max_events: int | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> None:
        self.seed = seed
        self.horizon_ms = horizon_ms
        self.now = 0
        self.events_run = 0
        self._heap: list[tuple[int, int, Callable[..., Any], tuple[Any, ...]]] = []
        self._seq = itertools.count()
        self._max_events = max_events
        self._should_stop = should_stop
        # observers: after every event (small runs, test mode) or when time reaches a mark
        self.after_event: Callable[[], None] | None = None
        self.on_time: Callable[[], int] | None = None  # returns the next mark
        self.time_mark = horizon_ms + 1

    def rng(self, stream: str) -> random.Random:
        return random.Random(derive_seed(self.seed, stream))

    def at(self, time_ms: int, handler: Callable[..., Any], *args: Any) -> None:
        assert time_ms >= self.now, (time_ms, self.now, handler)
        heappush(self._heap, (time_ms, next(self._seq), handler, args))

    def after(self, delay_ms: int, handler: Callable[..., Any], *args: Any) -> None:
        assert delay_ms >= 0, (delay_ms, handler)
        heappush(self._heap, (self.now + delay_ms, next(self._seq), handler, args))

    def timer(self, delay_ms: int, handler: Callable[..., Any], *args: Any) -> Timer:
        """Like ``after``, and returns a handle that can cancel the call."""
        assert delay_ms >= 0, (delay_ms, handler)
        timer = Timer()
        heappush(self._heap, (self.now + delay_ms, next(self._seq), _fire, (timer, handler, args)))
        return timer

    def run(self) -> None:
        heap = self._heap
        horizon = self.horizon_ms
        hook = self.after_event
        on_time = self.on_time
        mark = self.time_mark if on_time is not None else horizon + 1
        while heap and heap[0][0] <= horizon:
            time_ms, _, handler, args = heappop(heap)
            self.now = time_ms
            handler(*args)
            self.events_run += 1
            if hook is not None:
                hook()
            elif time_ms >= mark:
                mark = on_time()  # type: ignore[misc]
            if self.events_run % STOP_CHECK_EVERY == 0:
                self._check_budget()
        self.now = max(self.now, horizon)

    def _check_budget(self) -> None:
        if self._max_events is not None and self.events_run >= self._max_events:
            raise RunBudgetExceeded(self.events_run, f"more than {self._max_events} events")
        if self._should_stop is not None and self._should_stop():
            raise RunBudgetExceeded(self.events_run, "the run took too long")
