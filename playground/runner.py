"""Runs simulations off the event loop, admits the work, and keeps what it produced.

- **Workers.** A run is CPU-bound pure Python, so it goes to another process (threads would
  hold the GIL against every other visitor): a `ProcessPoolExecutor` of `RUN_WORKERS`
  running `jobs`, which hands back an `Outcome` of bytes (the run's data and its stream).
- **Admission.** At most `RUN_WORKERS` jobs run, in two lanes: a run `cost` calls heavy
  (seconds of CPU) waits in the heavy lane, which may use every worker but
  `RUN_SMALL_WORKERS` (at least one) and holds its workers' share of `RUN_QUEUE` waiting
  (2 workers, 1 kept for small runs: 4); small runs wait `RUN_QUEUE` deep and go first to
  any free worker — so a visitor's small run is never queued behind a room of heavy ones. Each
  client has at most `RUNS_PER_CLIENT` jobs waiting or running and starts at most
  `RATE_RUNS` new ones (`ratelimit`). Beyond that: `Busy` (503) or `TooMany` (429), with a
  Retry-After from the recent run times. A queued job whose callers have all gone
  (disconnected, gave up) is cancelled; a running one stops at its caps. Callers of a run
  already queued or running share it and are charged nothing. A caller waits at most the
  time the queue ahead of it may take, then gets `Busy` saying so.
- **Caches.** Outcomes by scenario digest, bounded by bytes (`STREAM_CACHE_BYTES`), and in
  Redis when REDIS_URL is set (`shared_cache`: another process serves them without
  simulating); a few decoded runs for the pages (one decode per run at a time:
  `singleflight`). A run stopped by a cap is kept like a finished one (see `jobs`).
- **One computation per run across processes** (REDIS_URL). A process claims a run in
  Redis before admitting its job; a process that finds the claim taken waits for the
  stored run instead (one follower job per process, polling Redis every 50 ms, joined by
  its local callers and charged nothing), and computes the run itself if the claim goes
  away without a stored run (a failed run is not stored) or its wait runs out. The claim
  expires by itself after the longest wait, should its process die.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import multiprocessing
import os
import socket
import threading
import time
import uuid
from collections import Counter, OrderedDict, deque
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from playground import admission, cost, ratelimit, shared_cache
from playground.admission import Busy, CallerGone, TooMany
from playground.jobs import (
    KEEP_SECONDS,
    Outcome,
    RunData,
    decode,
    decode_page,
    encode_failure,
    run_job,
    story_job,
    worker_init,
)
from playground.jobs import ready as jobs_ready
from playground.singleflight import SingleFlight
from simcore import Scenario, scenario_digest

logger = logging.getLogger(__name__)

DECODED_RUNS = 8  # decoded runs kept (the heaviest built-in is ~12 MB with its frames)
WAIT_MARGIN_SECONDS = 30  # beyond the time the queue ahead may take, before giving up
FIRST_GUESS_SECONDS = 2.0  # a run's duration before any has been measured
# How long a button's prefetched run (`prefetch`) waits in the queue for the page that opens
# it: the redirect's way back and the browser's navigation take well under a second.
PREFETCH_HOLD_SECONDS = 10.0

__all__ = ["Outcome", "RunData", "aoutcome", "outcome", "page_run", "prefetch", "run", "story"]

SMALL, HEAVY = "small", "heavy"  # the lanes (`cost`)


# --- in the web process: the queue in front of the pool -----------------------------------


@dataclass(eq=False)
class Job:
    key: str
    fn: Any
    args: tuple[Any, ...]
    client: str | None
    future: Future[Any] = field(default_factory=Future)
    waiters: int = 1
    started: float | None = None  # monotonic time it went to a worker
    shared_claim: bool = False  # holds the run's claim in Redis (one computation per run)
    lane: str = SMALL  # SMALL or HEAVY (`cost.estimate`): where it waits, which workers
    held_until: float = 0.0  # a prefetch keeps it queued without callers until then


_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None
_publisher: ThreadPoolExecutor | None = None  # writes to Redis off the pool's thread
_jobs: dict[str, Job] = {}
_queues: dict[str, deque[Job]] = {SMALL: deque(), HEAVY: deque()}
_running = 0
_running_heavy = 0
_per_client: Counter[str] = Counter()
_outcomes: OrderedDict[str, tuple[Outcome, float]] = OrderedDict()  # and when it expires
_outcome_bytes = 0
_decoded: OrderedDict[str, RunData] = OrderedDict()
_decoding: SingleFlight[RunData] = SingleFlight()  # one decode per run at a time
# per lane, a moving average of run times: the Retry-After
_recent_seconds = {SMALL: FIRST_GUESS_SECONDS, HEAVY: FIRST_GUESS_SECONDS}
prewarming: threading.Thread | None = None  # prewarm's thread (the tests join it)
simulations = 0  # runs simulated by this process (tests and the scale-out checks read it)


def _executor() -> ProcessPoolExecutor:
    global _pool
    if _pool is None:
        # forkserver: the web process has threads (Daphne, asgiref); forking it is unsafe.
        context = multiprocessing.get_context("forkserver")
        _pool = ProcessPoolExecutor(
            max_workers=settings.RUN_WORKERS,
            mp_context=context,
            initializer=worker_init,
            initargs=(os.getpid(), settings.RUN_MAX_MB * 1_000_000),
        )
    return _pool


def prewarm() -> threading.Thread:
    """Starts the run workers now, in the background, instead of on the first run.

    The pool is made on its first job, and a forkserver worker imports simcore and the
    playground before it runs anything: the first scenario page after `make run` waited
    0.6-1.5 s for that on a 5-record run that then simulates in milliseconds (measured on
    a 2-core machine; the next built-ins: 45-70 ms). The server (asgi.py, RUN_PREWARM) calls
    this once; each worker gets a job that does nothing, so all are up and imported."""

    def start() -> None:
        with _lock:
            pool = _executor()
        for future in [pool.submit(jobs_ready) for _ in range(settings.RUN_WORKERS)]:
            with contextlib.suppress(Exception):  # a failed start shows on the first run
                future.result()

    global prewarming
    prewarming = threading.Thread(target=start, name="run-workers-prewarm", daemon=True)
    prewarming.start()
    return prewarming


def _retry_after(ahead: int, lane: str = SMALL) -> float:
    """Seconds until `ahead` more jobs of `lane` have gone through its workers, by the
    lane's recent run times (a heavy run's 10 s are not averaged with a small run's 0.1 s)."""
    workers = _heavy_workers() if lane == HEAVY else settings.RUN_WORKERS
    return _recent_seconds[lane] * (ahead + 1) / workers


def _heavy_workers() -> int:
    """How many workers heavy runs may hold at once: all but the small runs' own, or one."""
    return max(1, settings.RUN_WORKERS - settings.RUN_SMALL_WORKERS)


def _queue_bound(lane: str) -> int:
    """How many may wait in a lane: `RUN_QUEUE` for small runs; for heavy ones the same
    share of it as their share of the workers, so that neither lane waits longer."""
    if lane == SMALL:
        return int(settings.RUN_QUEUE)
    return max(1, settings.RUN_QUEUE * _heavy_workers() // settings.RUN_WORKERS)


def _queued() -> int:
    return sum(len(queue) for queue in _queues.values())


def _lane(fn: Any, args: tuple[Any, ...]) -> str:
    """The lane of a job: runs and stories simulate their scenario (`args[0]`)."""
    if fn in (run_job, story_job) and cost.estimate(args[0]).heavy:
        return HEAVY
    return SMALL


# The jobs `_admit` or `_dispatch` started (with their worker's future), or dropped from
# the queue (None: a prefetch nobody opened); `_watch` settles them outside `_lock`.
Started = list[tuple[Job, "Future[Any] | None"]]


def _unheld(job: Job, now: float) -> bool:
    """Queued with no caller, and no prefetch holding it any more."""
    return job.waiters <= 0 and job.held_until <= now


def _drop_unheld() -> Started:
    """Under `_lock`: take every queued job that nobody waits for out of the queues."""
    now = time.monotonic()
    dropped: Started = []
    for queue in _queues.values():
        for job in [j for j in queue if _unheld(j, now)]:
            queue.remove(job)
            _forget(job)
            dropped.append((job, None))
    return dropped


def _admit(job: Job) -> Started:
    """Queue `job` or refuse it; under `_lock`. Returns the jobs this started (`_watch`)."""
    dropped = _drop_unheld()  # a prefetch nobody opened holds no place
    if job.client is not None and _per_client[job.client] >= settings.RUNS_PER_CLIENT:
        raise TooMany(
            f"you already have {_per_client[job.client]} run(s) waiting or running"
            f" (at most {settings.RUNS_PER_CLIENT} per address): wait for it to finish",
            _retry_after(0, job.lane),
        )
    queue = _queues[job.lane]
    busy = _running_heavy >= _heavy_workers() if job.lane == HEAVY else None
    if busy is None:
        busy = _running >= settings.RUN_WORKERS
    if len(queue) >= _queue_bound(job.lane) and busy:
        what = "heavy runs (seconds each) are" if job.lane == HEAVY else "runs are"
        raise Busy(
            f"every simulation worker is busy and {len(queue)} {what} waiting",
            _retry_after(len(queue), job.lane),
        )
    _jobs[job.key] = job
    if job.client is not None:
        _per_client[job.client] += 1
    queue.append(job)
    return dropped + _dispatch()


def _next_job() -> Job | None:
    """Under `_lock`: the job a free worker takes — a small run first; a heavy one only
    while heavy runs hold fewer than `_heavy_workers()`."""
    if _queues[SMALL]:
        return _queues[SMALL].popleft()
    if _queues[HEAVY] and _running_heavy < _heavy_workers():
        return _queues[HEAVY].popleft()
    return None


def _dispatch() -> Started:
    """Start queued jobs while a worker is free; under `_lock`. Returns what it started."""
    global _running, _running_heavy, _pool
    started: Started = _drop_unheld()
    while _running < settings.RUN_WORKERS:
        job = _next_job()
        if job is None:
            break
        limits = (settings.RUN_MAX_EVENTS, settings.RUN_MAX_SECONDS)
        try:
            pool_future = _executor().submit(job.fn, *job.args, *limits)
        except BrokenProcessPool:  # a worker died (e.g. killed for memory): start afresh
            _pool = None
            pool_future = _executor().submit(job.fn, *job.args, *limits)
        job.started = time.monotonic()
        _running += 1
        _running_heavy += int(job.lane == HEAVY)
        started.append((job, pool_future))
    return started


def _watch(started: Started) -> None:
    """Outside `_lock`: a future already done runs its callback at once, in this thread; a
    job dropped from the queue is cancelled."""
    for job, pool_future in started:
        if pool_future is None:
            job.future.cancel()
            _unclaim(job)
        else:
            pool_future.add_done_callback(functools.partial(_finished, job))


def _forget(job: Job) -> None:
    """Under `_lock`: the job holds no place any more."""
    if _jobs.get(job.key) is job:
        del _jobs[job.key]
    if job.client is not None:
        _per_client[job.client] -= 1
        if _per_client[job.client] <= 0:
            del _per_client[job.client]


def _finished(job: Job, done: Future[Any]) -> None:
    """In the pool's thread: record the outcome, start the next job, wake the callers."""
    global _running, _running_heavy, _pool, simulations
    try:
        value = done.result()
    except BrokenProcessPool:
        with _lock:
            _pool = None
        value = _lost_worker(job)
    except Exception as err:  # e.g. a result that could not be pickled: a bug, shown
        logger.exception("simulation job %s failed", job.key)
        value = _lost_worker(job, f"{type(err).__name__}: {err}")
    with _lock:
        _running -= 1
        _running_heavy -= int(job.lane == HEAVY)
        _forget(job)
        if job.started is not None:
            took = time.monotonic() - job.started
            _recent_seconds[job.lane] = 0.7 * _recent_seconds[job.lane] + 0.3 * took
        if isinstance(value, Outcome):
            simulations += 1
            if value.keep:
                _store(job.key, value)
        started = _dispatch()
    _watch(started)
    if isinstance(value, Outcome) and shared_cache.enabled():
        _publish(job, value)  # then answers: whoever is told is sure another process can read it
    else:
        job.future.set_result(value)


def _lost_worker(job: Job, detail: str = "") -> Any:
    message = (
        "the simulation worker stopped before the run ended (out of memory?)"
        + (f": {detail}" if detail else "")
        + ". Try again; a smaller scenario needs less."
    )
    if job.fn is story_job:
        return []
    scenario: Scenario = job.args[0]
    return encode_failure(scenario, message)


def _publish(job: Job, outcome: Outcome) -> None:
    """Stores the outcome in Redis and counts the simulation, off the pool's thread; then
    answers the job's callers."""
    global _publisher
    with _lock:
        if _publisher is None:
            _publisher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="redis-publish")
        publisher = _publisher

    def put() -> None:
        try:
            if outcome.keep:
                shared_cache.put_run(job.key, outcome.to_bytes(), outcome.ttl)
            shared_cache.count_simulation()
        except shared_cache.RedisError as err:
            logger.warning("run %s not shared: %s", job.key, err)
        finally:
            _unclaim(job)  # after the run is stored: a process waiting for it finds it
            job.future.set_result(outcome)

    publisher.submit(put)


def _release(job: Job) -> None:
    """One caller stopped waiting; the last one's leaving cancels a job not yet started
    (unless a prefetch still holds it: its page is on the way)."""
    with _lock:
        job.waiters -= 1
        if not _unheld(job, time.monotonic()) or job.started is not None or job.future.done():
            return
        try:
            _queues[job.lane].remove(job)
        except ValueError:
            return
        _forget(job)
    job.future.cancel()
    _unclaim(job)


# --- the caches ------------------------------------------------------------------------------


def _store(key: str, outcome: Outcome) -> None:
    """Under `_lock`: keep `outcome`, dropping the least recently used beyond the budget."""
    global _outcome_bytes
    if outcome.nbytes > settings.STREAM_CACHE_BYTES:
        return  # served to whoever waits for it now, not kept
    old = _outcomes.pop(key, None)
    if old is not None:
        _outcome_bytes -= old[0].nbytes
    _outcomes[key] = (outcome, time.monotonic() + outcome.ttl)
    _outcome_bytes += outcome.nbytes
    while _outcome_bytes > settings.STREAM_CACHE_BYTES:
        _, (dropped, _expires) = _outcomes.popitem(last=False)
        _outcome_bytes -= dropped.nbytes


def _cached(key: str) -> Outcome | None:
    global _outcome_bytes
    with _lock:
        entry = _outcomes.get(key)
        if entry is None:
            return None
        if entry[1] < time.monotonic():  # a run the wall-time cap stopped: try it again
            del _outcomes[key]
            _outcome_bytes -= entry[0].nbytes
            return None
        _outcomes.move_to_end(key)
        return entry[0]


def key_of(scenario: Scenario) -> str:
    """What an outcome is kept under: the scenario, and the event cap it was run with (a
    run stopped by the cap would finish under a higher one; a finished run is the same
    under any, and simcore's version is in the shared key)."""
    return f"{scenario_digest(scenario)}-{settings.RUN_MAX_EVENTS}"


def _shared(key: str) -> Outcome | None:
    """The outcome another process stored in Redis, now kept here too."""
    if not shared_cache.enabled():
        return None
    try:
        data = shared_cache.get_run(key)
    except shared_cache.RedisError as err:
        logger.warning("shared runs not read: %s", err)
        return None
    if data is None:
        return None
    try:
        outcome = Outcome.from_bytes(data)
    except (ValueError, KeyError, TypeError) as err:
        logger.warning("shared run %s unreadable: %s", key, err)
        return None
    with _lock:
        _store(key, outcome)
    return outcome


def cache_stats() -> dict[str, int]:
    with _lock:
        return {
            "outcomes": len(_outcomes),
            "outcome_bytes": _outcome_bytes,
            "decoded": len(_decoded),
            "queued": _queued(),
            "queued_heavy": len(_queues[HEAVY]),
            "running": _running,
            "running_heavy": _running_heavy,
            "simulations": simulations,
        }


# --- what callers use -------------------------------------------------------------------------


def _claim(key: str, fn: Any, args: tuple[Any, ...], client: str | None) -> Outcome | Job:
    """A cached outcome, or the job that will make it (joined, or new and admitted).

    May block briefly (Redis): call it from a thread, never on the event loop."""
    found = _cached(key) if fn is run_job else None
    if found is None and fn is run_job:
        found = _shared(key)
    if found is not None:
        return found
    with _lock:
        job = _jobs.get(key)
        if job is not None:
            job.waiters += 1
            return job
    shared_claim = False
    if fn is run_job and shared_cache.enabled():
        shared_claim = _claim_shared(key)
        if not shared_claim:
            found = _shared(key)  # stored just now by the process that held the claim
            if found is not None:
                return found
            if _claimed_elsewhere(key):
                return _await_elsewhere(key, args)
    try:
        return _new_job(key, fn, args, client, shared_claim)
    except BaseException:
        if shared_claim:
            _unclaim(Job(key, fn, args, client, shared_claim=True))
        raise


def _new_job(
    key: str, fn: Any, args: tuple[Any, ...], client: str | None, shared_claim: bool
) -> Job:
    wait = ratelimit.take("runs", client)  # a new simulation: this client's to pay for
    if wait:
        rate = ratelimit.rate_for("runs")
        raise TooMany(
            f"too many new runs from your address: at most {rate.capacity} every {rate.period:g} s",
            wait,
        )
    lane = _lane(fn, args)
    with _lock:
        job = _jobs.get(key)
        if job is not None:  # someone else started it meanwhile
            job.waiters += 1
            if shared_claim:
                _unclaim(Job(key, fn, args, client, shared_claim=True))
            return job
        job = Job(key, fn, args, client, shared_claim=shared_claim, lane=lane)
        started = _admit(job)
    _watch(started)
    return job


# --- one computation per run across processes (REDIS_URL) --------------------------------------

OWNER = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
ELSEWHERE_POLL_SECONDS = 0.05  # how often a process waiting for another's run looks for it


def _claim_shared(key: str) -> bool:
    """True if this process now computes the run (or Redis cannot say: compute anyway)."""
    try:
        return shared_cache.claim_run(key, OWNER, math.ceil(_wait_seconds()))
    except shared_cache.RedisError as err:
        logger.warning("run %s not claimed: %s", key, err)
        return False


def _claimed_elsewhere(key: str) -> bool:
    try:
        return shared_cache.run_claimed(key)
    except shared_cache.RedisError:
        return False


def _unclaim(job: Job) -> None:
    if not job.shared_claim:
        return
    job.shared_claim = False
    try:
        shared_cache.release_run(job.key, OWNER)
    except shared_cache.RedisError as err:  # it expires by itself
        logger.warning("run %s not released: %s", job.key, err)


def _await_elsewhere(key: str, args: tuple[Any, ...]) -> Job:
    """A job that waits for the run another process is computing: callers here join it
    like any job (and are charged nothing); it ends with the stored run, or computes the
    run here if the other process's claim goes away without one."""
    with _lock:
        job = _jobs.get(key)
        if job is not None:
            job.waiters += 1
            return job
        job = Job(key, None, args, None, started=time.monotonic())
        _jobs[key] = job
    with contextlib.suppress(shared_cache.RedisError):
        shared_cache.count_wait()
    threading.Thread(
        target=_follow_elsewhere, args=(job,), name="run-elsewhere", daemon=True
    ).start()
    return job


def _follow_elsewhere(job: Job) -> None:
    deadline = time.monotonic() + _wait_seconds()
    pause = threading.Event()
    while time.monotonic() < deadline and not job.future.done():
        found = _shared(job.key)
        if found is not None:
            with _lock:
                _forget(job)
            job.future.set_result(found)
            return
        if not _claimed_elsewhere(job.key):
            break
        pause.wait(ELSEWHERE_POLL_SECONDS)  # polling Redis: no notification to wait on
    with _lock:
        _forget(job)
    _take_over(job)


def _take_over(job: Job) -> None:
    """The other process stopped without storing the run (or took too long): compute it
    here, for whoever still waits on `job`."""
    try:
        claimed = _claim(job.key, run_job, job.args, None)
    except Exception as err:  # Busy: the waiting callers are told so
        job.future.set_exception(err)
        return
    if isinstance(claimed, Outcome):
        job.future.set_result(claimed)
        return

    def relay(done: Future[Any]) -> None:
        if done.cancelled():
            job.future.cancel()
        elif done.exception() is not None:
            job.future.set_exception(done.exception())
        else:
            job.future.set_result(done.result())

    claimed.future.add_done_callback(relay)


def _wait_seconds() -> float:
    """How long a caller waits for a job: the queue ahead of it, its own run, a margin
    (either lane: its queue is its workers' share of `RUN_QUEUE`)."""
    rounds = math.ceil(settings.RUN_QUEUE / settings.RUN_WORKERS) + 1
    return float(settings.RUN_MAX_SECONDS * rounds + WAIT_MARGIN_SECONDS)


def _gave_up(job: Job, seconds: float) -> Busy:
    _release(job)
    state = "is still running" if job.started is not None else "is still waiting for a worker"
    return Busy(
        f"the run {state} after {seconds:.0f} s: the server is busy",
        _retry_after(len(_queues[job.lane]), job.lane),
    )


def _wait(job: Job) -> Any:
    caller = admission.current()
    unregister = caller.on_gone(lambda: _release(job)) if caller else (lambda: None)
    seconds = _wait_seconds()
    try:
        return job.future.result(timeout=seconds)
    except FutureTimeout:
        raise _gave_up(job, seconds) from None
    except CancelledError:  # the caller left and the job was dropped from the queue
        raise CallerGone() from None
    finally:
        unregister()


def outcome(scenario: Scenario) -> Outcome:
    """Blocking: for sync views (each request has its own thread under Daphne)."""
    key = key_of(scenario)
    caller = admission.current()
    found = _claim(key, run_job, (scenario,), caller.client if caller else None)
    return found if isinstance(found, Outcome) else _wait(found)


async def aoutcome(scenario: Scenario, client: str | None) -> Outcome:
    """For consumers: the quick parts in a thread (Redis, the lock), then waits on the
    event loop. Cancelling the caller (a closed websocket) releases its claim."""
    key = key_of(scenario)
    found = _cached(key)
    if found is not None:
        return found
    claimed = await asyncio.to_thread(_claim, key, run_job, (scenario,), client)
    if isinstance(claimed, Outcome):
        return claimed
    seconds = _wait_seconds()
    try:
        # shield: cancelling this caller must not cancel the job others may share
        done: Outcome = await asyncio.wait_for(
            asyncio.shield(asyncio.wrap_future(claimed.future)), seconds
        )
        return done
    except TimeoutError:
        raise _gave_up(claimed, seconds) from None
    except asyncio.CancelledError:
        _release(claimed)
        raise


def prefetch(scenario: Scenario) -> None:
    """Start the run of a scenario whose page the caller opens next (a button's redirect to
    the new run), without waiting: the simulation overlaps the answer's way back and the
    browser's navigation, and the page's request joins it. A refusal (busy, the client's
    limits) is left for that request to answer.

    The prefetch is no caller: it holds a queued job for `PREFETCH_HOLD_SECONDS`, after which
    a job nobody has joined is dropped before it takes a worker (a visitor who never opens
    the page costs nothing). A job already running goes on to its caps, and is cached."""
    caller = admission.current()
    try:
        claimed = _claim(key_of(scenario), run_job, (scenario,), caller.client if caller else None)
    except Busy:  # TooMany too
        return
    if isinstance(claimed, Job):
        with _lock:
            claimed.waiters -= 1
            claimed.held_until = max(claimed.held_until, time.monotonic() + PREFETCH_HOLD_SECONDS)


def page_run(scenario: Scenario) -> RunData:
    """The run's data without its frames, with what a page reads off them (`page_facts`):
    a page never decodes the frames (the player gets them over the websocket)."""
    return decode_page(outcome(scenario))


def run(scenario: Scenario) -> RunData:
    """The run's data with every frame, decoded (a few are kept decoded: exports, metrics,
    the API)."""
    found = outcome(scenario)
    key = key_of(scenario)
    with _lock:
        data = _decoded.get(key)
        if data is not None:
            _decoded.move_to_end(key)
            return data
    return _decoding.do(key, lambda: _decode_and_keep(key, found))


def _decode_and_keep(key: str, found: Outcome) -> RunData:
    with _lock:
        data = _decoded.get(key)
    if data is not None:  # decoded by a thread that finished just before this one began
        return data
    data = decode(found)
    if found.keep:
        with _lock:
            _decoded[key] = data
            while len(_decoded) > DECODED_RUNS:
                _decoded.popitem(last=False)
    return data


def finished(scenario: Scenario) -> bool:
    """Whether the run (cached: call after `run`) ended on its own, not stopped by a cap
    that a quieter machine might not hit (HTTP caching keeps only those)."""
    found = _cached(key_of(scenario))
    return found is not None and found.keep and found.ttl >= KEEP_SECONDS


def story(scenario: Scenario, msg_id: str) -> list[dict[str, Any]]:
    key = f"story:{key_of(scenario)}:{msg_id}"
    caller = admission.current()
    claimed = _claim(key, story_job, (scenario, msg_id), caller.client if caller else None)
    events: list[dict[str, Any]] = _wait(claimed) if isinstance(claimed, Job) else []
    return events


def reset() -> None:
    """Forget every cached outcome and decoded run (tests)."""
    global _outcome_bytes
    with _lock:
        _outcomes.clear()
        _decoded.clear()
        _outcome_bytes = 0
