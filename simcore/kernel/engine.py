"""The discrete-event engine: a clock, a calendar of scheduled calls and RNG streams derived
from the seed.

Events run in ``(time_ms, seq)`` order, where ``seq`` is the order they were scheduled
in, so events at the same millisecond run in the order they were scheduled (SimPy's rule).
The queue is a calendar: each millisecond that has calls waiting holds them in a list, in
scheduling order, and a heap holds the distinct milliseconds (as plain ints). A call
scheduled for the millisecond being run joins the end of its list, after every call
scheduled before it. A busy run has a dozen or more events per millisecond (network
latency, linger, fetch answers land on the same ms), so the heap sees one push and one pop
per millisecond instead of per event: a ``heappop`` compares big ints through rich compare
at every level (about 1,350 instructions a pop, 4 % of a keyed 60-partition run).
Nothing here reads the wall clock; a caller that wants a wall-time cap passes a
``should_stop`` callable, which the engine polls every few thousand events.
"""

from __future__ import annotations

import functools
import hashlib
import heapq
import random
from collections.abc import Callable
from typing import Any, Final

from simcore.kernel.errors import RunBudgetExceeded

# heapq's functions as this module's final names: a name imported with ``from`` is looked
# up in the module's globals at every call under mypyc, a ``Final`` one is a C static
_heappush: Final = heapq.heappush
_heappop: Final = heapq.heappop
STOP_CHECK_EVERY: Final = 4096


class Timer:
    """A call scheduled with ``Engine.timer`` or ``TimerGroup.timer``. ``cancel()`` before
    it is due and it does nothing when its turn comes; it keeps its place in the event
    order either way, so cancelling a timer never reorders the rest of a run (the one way
    to drop scheduled work: no token counters, no generation checks in the handler). A
    timer of a group is also dropped once its group is cancelled."""

    __slots__ = ("cancelled", "fired", "group")

    def __init__(self, group: TimerGroup | None = None) -> None:
        self.cancelled = False  # by this handle's own cancel()
        self.fired = False
        self.group = group

    def cancel(self) -> None:
        self.cancelled = True

    @property
    def pending(self) -> bool:
        """Neither run nor cancelled yet (by itself or with its group)."""
        if self.cancelled or self.fired:
            return False
        return self.group is None or self.group.open


def _fire(timer: Timer, handler: Callable[..., Any], args: tuple[Any, ...]) -> None:
    timer.fired = True
    if not timer.cancelled:
        handler(*args)


def _fire_in_group(
    timer: Timer, group: TimerGroup, handler: Callable[..., Any], args: tuple[Any, ...]
) -> None:
    timer.fired = True
    if not timer.cancelled and group.open:
        handler(*args)


def _call_if_open(group: TimerGroup, handler: Callable[..., Any], args: tuple[Any, ...]) -> None:
    if group.open:
        handler(*args)


class TimerGroup:
    """Scheduled work that ends together: a client process's life (everything it
    scheduled dies when it crashes or closes), a heartbeat thread's run. ``cancel()``
    drops every call still pending in the group, and those of its child groups, and
    closes it for good: what is scheduled on a closed group never runs. A fresh life
    is a fresh group (``Engine.group()``), never a reopened one.

    Answers that come back from elsewhere (a request's response, handed to a callback)
    are not timers: ``guard(handler)`` wraps such a callback so that it does nothing
    once the group is closed, and ``call_if_open`` is the same check, called directly.

    Like ``Timer``, a call dropped this way keeps its place in the event order."""

    __slots__ = ("_children", "engine", "open")

    def __init__(self, engine: Engine, open_: bool = True) -> None:
        self.engine = engine
        self.open = open_
        self._children: list[TimerGroup] = []

    def after(self, delay_ms: int, handler: Callable[..., Any], *args: Any) -> None:
        """``Engine.after`` for as long as the group is open, without a handle."""
        self.engine.after(delay_ms, _call_if_open, self, handler, args)

    def timer(self, delay_ms: int, handler: Callable[..., Any], *args: Any) -> Timer:
        """``Engine.timer`` for as long as the group is open: the handle cancels this
        one call, ``cancel()`` on the group all of them."""
        timer = Timer(self)
        self.engine.after(delay_ms, _fire_in_group, timer, self, handler, args)
        return timer

    def group(self) -> TimerGroup:
        """A child group: cancelled with this one, or alone (closed from the start if
        this one is closed already)."""
        child = TimerGroup(self.engine, self.open)
        if self.open:
            self._children = [c for c in self._children if c.open]
            self._children.append(child)
        return child

    def cancel(self) -> None:
        self.open = False
        children, self._children = self._children, []
        for child in children:
            child.cancel()

    def call_if_open(self, handler: Callable[..., Any], *args: Any) -> None:
        """Runs ``handler(*args)`` now, if the group is still open."""
        if self.open:
            handler(*args)

    def guard(self, handler: Callable[..., Any]) -> Callable[..., None]:
        """``handler`` as a callback that does nothing once the group is closed (for
        answers from the cluster to requests sent while it was open)."""
        return functools.partial(self.call_if_open, handler)


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
        # the calendar: the milliseconds with calls waiting (a heap of ints), and each one's
        # calls in scheduling order (an entry is None once it ran: its arguments are freed)
        self._times: list[int] = []
        self._slots: dict[int, list[tuple[Callable[..., Any], tuple[Any, ...]] | None]] = {}
        # the slot the last call joined: most calls are scheduled for the same millisecond
        # as the one before (now + the network latency), found here without a dict lookup
        self._last_time = -1
        self._last_slot: list[tuple[Callable[..., Any], tuple[Any, ...]] | None] = []
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
        self._push(time_ms, (handler, args))

    def after(self, delay_ms: int, handler: Callable[..., Any], *args: Any) -> None:
        assert delay_ms >= 0, (delay_ms, handler)
        self._push(self.now + delay_ms, (handler, args))

    def timer(self, delay_ms: int, handler: Callable[..., Any], *args: Any) -> Timer:
        """Like ``after``, and returns a handle that can cancel the call."""
        assert delay_ms >= 0, (delay_ms, handler)
        timer = Timer()
        self._push(self.now + delay_ms, (_fire, (timer, handler, args)))
        return timer

    def _push(self, time_ms: int, call: tuple[Callable[..., Any], tuple[Any, ...]]) -> None:
        if time_ms == self._last_time:
            self._last_slot.append(call)
            return
        slot = self._slots.get(time_ms)
        if slot is None:
            slot = self._slots[time_ms] = [call]
            _heappush(self._times, time_ms)
        else:
            slot.append(call)
        self._last_time = time_ms
        self._last_slot = slot

    def group(self) -> TimerGroup:
        """A new, open ``TimerGroup`` of calls cancelled together."""
        return TimerGroup(self)

    def run(self) -> None:
        times, slots = self._times, self._slots
        horizon = self.horizon_ms
        hook = self.after_event
        on_time = self.on_time
        mark = self.time_mark if on_time is not None else horizon + 1
        while times and times[0] <= horizon:
            time_ms = times[0]
            self.now = time_ms
            slot = slots[time_ms]
            index = 0
            while index < len(slot):  # (it grows while it runs: calls for this very ms)
                call = slot[index]
                slot[index] = None
                index += 1
                assert call is not None  # (each call is run once)
                handler, args = call
                handler(*args)
                self.events_run += 1
                if hook is not None:
                    hook()
                elif time_ms >= mark:
                    mark = on_time()  # type: ignore[misc]
                if self.events_run % STOP_CHECK_EVERY == 0:
                    self._check_budget()
            del slots[time_ms]
            _heappop(times)
            if self._last_time == time_ms:  # (no call can be scheduled in the past anyway)
                self._last_time = -1
        self.now = max(self.now, horizon)

    def _check_budget(self) -> None:
        if self._max_events is not None and self.events_run >= self._max_events:
            raise RunBudgetExceeded(self.events_run, f"more than {self._max_events} events")
        if self._should_stop is not None and self._should_stop():
            raise RunBudgetExceeded(self.events_run, "the run took too long")
