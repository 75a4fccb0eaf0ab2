"""What a simulation job does, in a worker process: simulate, derive, encode.

The worker simulates (capped in events and wall time: simcore's `max_events` /
`should_stop`; the wall clock is read here, never in simcore), derives what the panels
read (`derived`), and encodes it all — the run's data as deflated JSON, and its websocket
stream (`streams`) — into an `Outcome` of bytes. The web process (`runner`) only stores
and copies those bytes, and decodes a run when a page needs it.

A run stopped by a cap is an outcome too, with the frames, ledger and panels up to where
it stopped (simcore raises `RunBudgetExceeded` from inside the run; the recorder's last
snapshot is taken here, as `simulate` would at the end).
"""

from __future__ import annotations

import gc
import json
import os
import resource
import select
import threading
import time
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from playground import captions, cost, derived, fates, focus, page_facts, streams
from simcore import Result, RunBudgetExceeded, Scenario, SimcoreError, scenario_digest
from simcore.run.simulation import Simulation

MAX_FRAMES = 2000
MIN_FRAMES = 100
FRAMES_JSON_BUDGET = 8_000_000  # bytes of frames' JSON: wide scenarios get fewer frames
EVENT_BUDGET = 3000  # events sent with a run's frames, in all: a big run's log is sampled
KEEP_SECONDS = 7 * 24 * 3600  # a finished run in Redis (it never changes; this frees space)
CAPPED_TTL_SECONDS = 600  # a run stopped by the wall-time cap: a quieter machine may finish it
# A worker's data per estimated record batch (cost.py), measured on a production-shaped run
# (600 k keyed records over 60 partitions, RF 3: ~360 k batches, ~260 MB beside the worker's
# own ~95 MB): what sizes the advice when a run is past the memory limit.
BYTES_PER_BATCH = 720
SECONDS_PER_BATCH = 20e-6  # of CPU, in a worker, same run (7.4 s)
# A run stops (jobs._fresh_run) when the worker's data passes MEMORY_STOP of the room above
# its own, keeping at least MEMORY_RESERVE: describing a run takes ~45 % more than
# simulating it, and frames and figures cost some memory whatever the run's size.
MEMORY_STOP = 0.6
MEMORY_RESERVE = 64_000_000
MEMORY_REASON = "the run needed more memory than one run may use (PLAYGROUND_RUN_MAX_MB)"

RunData = dict[str, Any]
FORMAT = 5  # of `Outcome.to_bytes` (2: the frames are only in the stream's chunks; 3: the
# run's blob holds the page's facts, `page_facts`; 4: rebalance captions carry their end,
# `until`, and the rebalance warning reads the groups' history: a blob of 3 is made again;
# 5: the run carries its broker faults' full history, `fault_events`, and a wide topic's
# focused partitions, `focus`)


# --- what a job produces ----------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """A finished run: its data (deflated JSON of RunData) and its stream, ready to send.

    `keep`: whether it may be cached (not a crash of the engine or of a worker);
    `ttl`: how long a shared copy lives (seconds)."""

    run: bytes
    stream: streams.Stream
    keep: bool = True
    ttl: int = KEEP_SECONDS

    @property
    def nbytes(self) -> int:
        return len(self.run) + self.stream.nbytes

    def to_bytes(self) -> bytes:
        """A self-describing container for Redis: a JSON header line, then the blobs."""
        header = {
            "v": FORMAT,
            "run": len(self.run),
            "chunks": [len(c) for c in self.stream.chunks],
            "ends": list(self.stream.ends),
            "total": self.stream.total,
            "ttl": self.ttl,
        }
        return b"".join([json.dumps(header).encode(), b"\n", self.run, *self.stream.chunks])

    @classmethod
    def from_bytes(cls, data: bytes) -> Outcome:
        line, _, body = data.partition(b"\n")
        header = json.loads(line)
        if header.get("v") != FORMAT:
            raise ValueError(f"unknown outcome format {header.get('v')!r}")
        run, at, chunks = body[: header["run"]], header["run"], []
        for size in header["chunks"]:
            chunks.append(body[at : at + size])
            at += size
        stream = streams.Stream(tuple(chunks), tuple(header["ends"]), header["total"])
        return cls(run, stream, True, header["ttl"])


def _encode(slug: str, scenario: Scenario, run: RunData, *, keep: bool, ttl: int) -> Outcome:
    """The frames are encoded once, in the stream's chunks (most of a big run's bytes);
    the run's blob holds everything else, with what a page reads off the frames
    (`page_facts`): `decode_page` reads only the blob, `decode` the frames too."""
    rest = {key: value for key, value in run.items() if key != "frames"}
    rest.update(page_facts.facts(scenario, run))
    blob = zlib.compress(streams.to_json(rest), streams.LEVEL)
    return Outcome(blob, streams.encode(slug, scenario, run), keep, ttl)


def encode_failure(scenario: Scenario, message: str) -> Outcome:
    """An outcome that is only an error message (never kept)."""
    return _encode(scenario_digest(scenario)[:16], scenario, _failed(message), keep=False, ttl=0)


def decode(outcome: Outcome) -> RunData:
    """The whole run: its blob and every frame (exports, metrics, the API)."""
    data = decode_page(outcome)
    data["frames"] = streams.frames(outcome.stream)
    return data


def decode_page(outcome: Outcome) -> RunData:
    """The run without its frames, with their `page_facts` (what a page shows): the
    heaviest built-in's blob decodes in ~3 ms, its frames in 40-200 ms."""
    data: RunData = json.loads(zlib.decompress(outcome.run))
    return data


# --- in the worker process ---------------------------------------------------------------

_worker_results: OrderedDict[str, tuple[Result, RunBudgetExceeded | None]] = OrderedDict()


def _simulate(
    scenario: Scenario, max_events: int, max_seconds: float
) -> tuple[Result, RunBudgetExceeded | None]:
    """The result, and the cap that stopped it (then the result is the run up to there).
    A run stopped for memory while the worker kept earlier runs is run again without them:
    whether a big run fits must not depend on what the worker ran before."""
    key = f"{scenario_digest(scenario)}-{max_events}"
    if key in _worker_results:
        _worker_results.move_to_end(key)
        return _worker_results[key]
    done = _fresh_run(scenario, max_events, max_seconds)
    if done[1] is not None and done[1].reason == MEMORY_REASON and _worker_results:
        _worker_results.clear()
        del done
        gc.collect()
        done = _fresh_run(scenario, max_events, max_seconds)
    stopped = done[1]
    if stopped is None or stopped.reason.startswith("more than"):  # the others may not recur
        _worker_results[key] = done
        while len(_worker_results) > 2:
            _worker_results.popitem(last=False)
    return done


def _fresh_run(
    scenario: Scenario, max_events: int, max_seconds: float
) -> tuple[Result, RunBudgetExceeded | None]:
    deadline = time.monotonic() + max_seconds
    sim: Simulation | None = None

    def should_stop() -> bool:
        """The wall-time cap, and the memory one: a run stops while the worker's data is
        under MEMORY_STOP of its room, so that describing the run up to the stop fits too
        (the compiled engine cannot raise MemoryError everywhere: where it boxes an int,
        a failed allocation aborts the process, and every run of the pool with it)."""
        if time.monotonic() > deadline:
            return True
        if _memory_stop and _data_bytes() > _memory_stop:
            assert sim is not None
            raise RunBudgetExceeded(sim.engine.events_run, MEMORY_REASON)
        return False

    sim = Simulation(scenario, max_events=max_events, should_stop=should_stop)
    stopped = None
    try:
        sim.run()
    except RunBudgetExceeded as err:
        stopped = err
        sim.recorder.final()  # the last snapshot: where the run stopped
    return Result(sim), stopped


def _failed(message: str, partial: RunData | None = None) -> RunData:
    if partial is not None:
        return {**partial, "error": message, "partial": True}
    return {
        "error": message,
        "partial": False,
        "summary": None,
        "frames": [],
        "series": None,
        "messages": None,
        "lost": [],
        "log_order": None,
        "metric_keys": [],
        "fates": None,
        "captions": [],
    }


GC_GEN0_THRESHOLD = 10_000  # allocations between young collections (Python's default: 700)


def ready() -> None:
    """A job that does nothing: `runner.prewarm` sends one to each worker so that it is up,
    with this module and simcore imported, before the first visitor's run."""


_max_bytes = 0  # the worker's data limit (worker_init)
_own_bytes = 0  # the worker's data before any run: interpreter, Django, simcore, NumPy
_memory_stop = 0  # a run stops when the worker's data passes this (0: never)


def _data_bytes() -> int:
    """This process's data segment (Linux's /proc/self/statm), 0 if unknown."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[5]) * resource.getpagesize()
    except (OSError, IndexError, ValueError):
        return 0


def worker_init(parent_pid: int, max_bytes: int) -> None:
    """Worker initializer: at most `max_bytes` of memory for the worker's data (a run stops
    well before, `_fresh_run`; past it, MemoryError: `run_job` says so), and exit with the
    web process.

    A run allocates millions of objects that live until it ends, so Python's cyclic
    collector, at its default threshold, keeps walking a growing heap it cannot free:
    ~25 % of a heavy built-in's job (its crash variant: 250-310 ms -> 185-250 ms of CPU,
    about what turning the collector off gives). A higher young-generation threshold
    keeps the collector on, for garbage cycles, at a negligible cost in memory."""
    global _max_bytes, _own_bytes, _memory_stop
    _max_bytes, _own_bytes = max_bytes, _data_bytes()
    if _own_bytes:
        stop = _own_bytes + int((max_bytes - _own_bytes) * MEMORY_STOP)
        _memory_stop = max(_own_bytes, min(stop, max_bytes - MEMORY_RESERVE))
    gc.set_threshold(GC_GEN0_THRESHOLD, 10, 10)
    _, hard = resource.getrlimit(resource.RLIMIT_DATA)
    if hard == resource.RLIM_INFINITY or max_bytes < hard:
        resource.setrlimit(resource.RLIMIT_DATA, (max_bytes, hard))
    exit_with(parent_pid)


def exit_with(parent_pid: int) -> None:
    """Exit when the web process does, however it dies.

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


def _stopped_message(
    err: RunBudgetExceeded, scenario: Scenario, result: Result, max_seconds: float
) -> str:
    at = result.sim.engine.now
    where = f"{err}, at {at} ms of {scenario.duration_ms} ms; what is shown is the run up to there."
    if err.reason == MEMORY_REASON:
        return f"{where} {_memory_advice(scenario, max_seconds)}"
    return f"{where} Make the scenario smaller (fewer messages, shorter duration_ms) to see it all."


def _smaller(scenario: Scenario, share: float) -> str:
    """How much smaller a run must be to fit, when about ``share`` of it does."""
    records = sum(p.messages for p in scenario.producers)
    fits = _rounded(records * share)
    if not 0 < fits < records:
        return "make the scenario smaller (fewer messages, shorter duration_ms)."
    return (
        f"send fewer records: messages about {fits:,} of {records:,} (with duration_ms to"
        " match), or run it whole on your machine: python -m simcore run scenario.yaml."
    )


def _rounded(value: float) -> int:
    return int(float(f"{value:.2g}"))  # two significant digits


def run_job(scenario: Scenario, max_events: int, max_seconds: float) -> Outcome:
    """The run's outcome. Past the worker's data limit, the runs the worker keeps for
    later requests (`_simulate`) give their memory back and the run is tried once more:
    whether a big run fits must not depend on what the worker ran before."""
    for _attempt in range(2):
        held = len(_worker_results)
        try:
            return _run_job(scenario, max_events, max_seconds)
        except MemoryError:  # the worker's data limit (worker_init)
            pass
        # Outside the handler: the traceback, and the run it held on to, are gone now.
        _worker_results.clear()
        gc.collect()
        if not held:
            break
    slug = scenario_digest(scenario)[:16]
    message = f"{MEMORY_REASON}. {_memory_advice(scenario, max_seconds)}"
    return _encode(slug, scenario, _failed(message), keep=True, ttl=CAPPED_TTL_SECONDS)


def _memory_advice(scenario: Scenario, max_seconds: float) -> str:
    """How much smaller, when its record batches are what fills the memory (a production-
    shaped topic), else the generic advice. What a web run holds: the batches that fit in
    MEMORY_STOP of the room beside the worker's own data, and that the wall-time cap lets
    through (~20 µs of CPU a batch; 600 k keyed records over 60 partitions: 7.4 s)."""
    room = max(0, _max_bytes - _own_bytes) * MEMORY_STOP
    holds = min(int(room / BYTES_PER_BATCH), int(max_seconds * 0.8 / SECONDS_PER_BATCH))
    batches = cost.estimate(scenario).batches
    if not holds or batches <= holds:
        return "Make the scenario smaller (fewer consumers or partitions, shorter duration_ms)."
    return (
        f"Its records make about {_rounded(batches):,} record batches, and a web run holds"
        f" about {_rounded(holds):,}. To run it, {_smaller(scenario, holds / batches)}"
    )


def _run_job(scenario: Scenario, max_events: int, max_seconds: float) -> Outcome:
    slug = scenario_digest(scenario)[:16]
    try:
        result, stopped = _simulate(scenario, max_events, max_seconds)
        if stopped is None:
            return _encode(slug, scenario, _run_data(result), keep=True, ttl=KEEP_SECONDS)
    except MemoryError:
        raise
    except SimcoreError as err:  # an invariant violation: a simcore bug, shown, not hidden
        return _encode(slug, scenario, _failed(str(err)), keep=False, ttl=0)
    except Exception as err:  # any other engine bug: shown on the page instead of a 500
        message = f"the simulation failed (a simcore bug): {type(err).__name__}: {err}"
        return _encode(slug, scenario, _failed(message), keep=False, ttl=0)
    # Stopped by a cap: kept like a finished run, with what was simulated up to the stop.
    # The event cap stops at the same point on any machine; the wall-time cap depends on
    # the load, and the memory one on the worker, so those outcomes are kept for a while only.
    ttl = KEEP_SECONDS if stopped.reason.startswith("more than") else CAPPED_TTL_SECONDS
    try:
        message = _stopped_message(stopped, scenario, result, max_seconds)
        partial = _run_data(result)
    except MemoryError:
        raise
    except Exception:  # simcore could not describe the run up to the stop: the cap alone
        message, partial = (
            f"{stopped}. Make the scenario smaller (fewer messages, shorter duration_ms).",
            None,
        )
    return _encode(slug, scenario, _failed(message, partial), keep=True, ttl=ttl)


def _frame_count(result: Result) -> int:
    """As many frames as fit FRAMES_JSON_BUDGET (50 consumers on 64 partitions make 75 kB
    frames: 2000 of them took 30 s to derive and 160 MB), at most MAX_FRAMES."""
    sample = result.frames(max_frames=2)
    if not sample:
        return MAX_FRAMES
    last = sample[-1]
    _keys, values = derived.metrics_per_frame(result, [last["snapshot"]])
    last["metrics"], last["events"] = values[0], []
    size = len(json.dumps(last, separators=(",", ":"))) + 1
    return max(MIN_FRAMES, min(MAX_FRAMES, FRAMES_JSON_BUDGET // size))


def _run_data(result: Result) -> RunData:
    frames = _trim_events(result.frames(max_frames=_frame_count(result)), EVENT_BUDGET)
    derived.strip_injected_suffix(frames)
    snapshots = [frame["snapshot"] for frame in frames]  # frame k shows this snapshot
    metric_keys, metric_values = derived.metrics_per_frame(result, snapshots)
    for frame, counts, values in zip(
        frames, derived.produce_counts(result, snapshots), metric_values, strict=True
    ):
        frame["produce"] = counts  # the producer panel: retries, acks, errors by name
        frame["metrics"] = values  # in the order of metric_keys
    messages = derived.unread_outcomes(result)
    lost = derived.lost_messages(result, messages)
    record_fates = fates.record_fates(result, {m["id"] for m in lost})
    messages = derived.expired_outcomes(messages, record_fates)
    lost = derived.lost_messages(result, messages)
    fault_events = page_facts.fault_events(result)
    run = {
        "error": None,
        "partial": False,
        "summary": result.summary(),
        "frames": frames,
        "series": result.series(),
        "messages": messages,
        "lost": lost,
        "log_order": derived.log_order(messages),
        "metric_keys": metric_keys,
        "fates": record_fates,  # each record's fate over time, for the strip (small runs)
        "captions": captions.captions(result, record_fates),
        "fault_events": fault_events,  # every broker fault, fencing and election (warnings)
    }
    run["focus"] = focus.focus(run, fault_events)  # a wide topic's strips and chart
    return run


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


def story_job(scenario: Scenario, msg_id: str, max_events: int, max_seconds: float) -> Any:
    try:
        return _simulate(scenario, max_events, max_seconds)[0].message_story(msg_id)
    except SimcoreError:
        return []
