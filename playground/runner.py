"""Runs simulations off the event loop: a small process pool and an LRU cache by digest.

A run is CPU-bound pure Python, so it goes to another process (threads would hold the GIL
against every other visitor). Each run is capped in events and wall time; the cap is
simcore's `max_events` / `should_stop` (the wall clock is read here, never in simcore).
What comes back is plain data — summary, frames, series, messages, and what
`derived` reads off the result for the panels — ready to render or send as JSON.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import select
import threading
import time
from collections import OrderedDict
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from django.conf import settings

from playground import derived
from simcore import Result, RunBudgetExceeded, Scenario, SimcoreError, scenario_digest, simulate

CACHE_SIZE = 16
MAX_FRAMES = 2000
EVENT_BUDGET = 3000  # events sent with a run's frames, in all: a big run's log is sampled
WAIT_MARGIN_SECONDS = 30  # beyond the run's own wall-time cap, before a caller gives up

RunData = dict[str, Any]

_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None
_cache: OrderedDict[str, Future[RunData]] = OrderedDict()


# --- in the worker process ------------------------------------------------------------

_worker_results: OrderedDict[str, Result] = OrderedDict()


def _simulate(scenario: Scenario, max_events: int, max_seconds: float) -> Result:
    key = scenario_digest(scenario)
    if key in _worker_results:
        _worker_results.move_to_end(key)
        return _worker_results[key]
    deadline = time.monotonic() + max_seconds
    result = simulate(
        scenario, max_events=max_events, should_stop=lambda: time.monotonic() > deadline
    )
    _worker_results[key] = result
    while len(_worker_results) > 2:
        _worker_results.popitem(last=False)
    return result


def _failed(message: str) -> RunData:
    return {
        "error": message,
        "summary": None,
        "frames": [],
        "series": None,
        "messages": None,
        "lost": [],
        "log_order": None,
        "metric_keys": [],
    }


def _exit_with(parent_pid: int) -> None:
    """Worker initializer: exit when the web process does, however it dies.

    A pool worker blocks on its job queue, and holds that queue's write end itself, so it
    never sees the web process go away after a SIGKILL/SIGTERM without clean-up (a test
    server's `terminate()`, an OOM kill). A pidfd turns the parent's exit into an event.
    """
    try:
        pidfd = os.pidfd_open(parent_pid)
    except (AttributeError, OSError):  # not Linux ≥ 5.3: rely on a clean shutdown
        return

    def wait() -> None:
        select.select([pidfd], [], [])
        os._exit(0)

    threading.Thread(target=wait, name="exit-with-parent", daemon=True).start()


def _run_job(scenario: Scenario, max_events: int, max_seconds: float) -> RunData:
    try:
        result = _simulate(scenario, max_events, max_seconds)
    except RunBudgetExceeded as err:
        return _failed(f"{err}. Make the scenario smaller (fewer messages, shorter duration_ms).")
    except SimcoreError as err:  # an invariant violation: a simcore bug, shown, not hidden
        return _failed(str(err))
    except Exception as err:  # any other engine bug: shown on the page instead of a 500
        return _failed(f"the simulation failed (a simcore bug): {type(err).__name__}: {err}")
    return _run_data(result)


def _run_data(result: Result) -> RunData:
    frames = _trim_events(result.frames(max_frames=MAX_FRAMES), EVENT_BUDGET)
    derived.strip_injected_suffix(frames)
    snapshots = [frame["snapshot"] for frame in frames]  # frame k shows this snapshot
    metric_keys, metric_values = derived.metrics_per_frame(result, snapshots)
    for frame, counts, values in zip(
        frames, derived.produce_counts(result, snapshots), metric_values, strict=True
    ):
        frame["produce"] = counts  # the producer panel: retries, acks, errors by name
        frame["metrics"] = values  # in the order of metric_keys
    messages = derived.unread_outcomes(result)
    return {
        "error": None,
        "summary": result.summary(),
        "frames": frames,
        "series": result.series(),
        "messages": messages,
        "lost": derived.lost_messages(result, messages),
        "log_order": derived.log_order(messages),
        "metric_keys": metric_keys,
    }


def _trim_events(frames: list[dict[str, Any]], budget: int) -> list[dict[str, Any]]:
    """Keep at most `budget` events over all frames (the latest of each frame).

    A small run keeps every event. A firehose has thousands of frames of 50 events each
    (megabytes over the websocket); its player gets a sample, and `skipped_events` counts
    what was left out so the log can say so.
    """
    per_frame = max(3, budget // max(1, len(frames)))
    for frame in frames:
        events = frame["events"]
        if len(events) > per_frame:
            frame["skipped_events"] = frame.get("skipped_events", 0) + len(events) - per_frame
            frame["events"] = events[-per_frame:]
    return frames


def _story_job(scenario: Scenario, msg_id: str, max_events: int, max_seconds: float) -> Any:
    try:
        return _simulate(scenario, max_events, max_seconds).message_story(msg_id)
    except RunBudgetExceeded:
        return []


# --- in the web process -----------------------------------------------------------------


def _executor() -> ProcessPoolExecutor:
    global _pool
    if _pool is None:
        # forkserver: the web process has threads (Daphne, asgiref); forking it is unsafe.
        context = multiprocessing.get_context("forkserver")
        _pool = ProcessPoolExecutor(
            max_workers=settings.RUN_WORKERS,
            mp_context=context,
            initializer=_exit_with,
            initargs=(os.getpid(),),
        )
    return _pool


def _submit(fn: Any, *args: Any) -> Future[Any]:
    global _pool
    limits = (settings.RUN_MAX_EVENTS, settings.RUN_MAX_SECONDS)
    try:
        return _executor().submit(fn, *args, *limits)
    except BrokenProcessPool:  # a worker died (e.g. killed for memory): start afresh
        _pool = None
        return _executor().submit(fn, *args, *limits)


def _forget_failures(key: str, future: Future[RunData]) -> None:
    # A wall-time stop depends on the machine's load, and a dead worker on bad luck:
    # neither is the scenario's fault, so neither is remembered.
    global _pool
    failed = future.cancelled() or future.exception() is not None
    if failed or future.result()["error"]:
        with _lock:
            if _cache.get(key) is future:
                del _cache[key]
            if not future.cancelled() and isinstance(future.exception(), BrokenProcessPool):
                _pool = None


def submit(scenario: Scenario) -> Future[RunData]:
    """The run of `scenario`, shared with any caller already waiting for the same one."""
    key = scenario_digest(scenario)
    with _lock:
        future = _cache.get(key)
        if future is not None:
            _cache.move_to_end(key)
            return future
        future = _submit(_run_job, scenario)
        _cache[key] = future
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    future.add_done_callback(lambda done: _forget_failures(key, done))
    return future


def run(scenario: Scenario) -> RunData:
    """Blocking: for sync views (each request has its own thread under Daphne)."""
    timeout = settings.RUN_MAX_SECONDS + WAIT_MARGIN_SECONDS
    try:
        return submit(scenario).result(timeout=timeout)
    except BrokenProcessPool:  # once more, on a fresh pool
        return submit(scenario).result(timeout=timeout)


async def arun(scenario: Scenario) -> RunData:
    """For consumers: waits without blocking the event loop."""
    try:
        return await asyncio.wrap_future(submit(scenario))
    except BrokenProcessPool:
        return await asyncio.wrap_future(submit(scenario))


def story(scenario: Scenario, msg_id: str) -> list[dict[str, Any]]:
    future = _submit(_story_job, scenario, msg_id)
    events: list[dict[str, Any]] = future.result(
        timeout=settings.RUN_MAX_SECONDS + WAIT_MARGIN_SECONDS
    )
    return events
