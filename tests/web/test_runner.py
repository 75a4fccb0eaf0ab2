"""The worker pool: shared runs, caps that stop a heavy run with a clear message."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from playground import runner, scenarios
from playground.jobs import run_job
from simcore import Scenario, parse_scenario
from tests.web.helpers import saved, text


def _variant(scenario: Scenario, seed: int, *, busy: bool = False) -> Scenario:
    """The same scenario under another seed: a run no other test has cached.

    `busy`: 20,000 messages, over 20,000 events; simcore checks its budget every few
    thousand events, so a cap of 5 stops such a run and lets a small one finish.
    """
    source = scenarios.source_of(scenario)
    source["seed"] = seed
    if busy:
        source["producers"][0].update(messages=20_000, rate_per_s=20_000)
        source["consumers"][0]["processing_ms"] = 0
    return parse_scenario(source)


def test_callers_of_the_same_scenario_share_one_run(calm_scenario: Scenario) -> None:
    scenario = _variant(calm_scenario, 101)
    key = runner.key_of(scenario)
    first = runner._claim(key, run_job, (scenario,), None)
    second = runner._claim(key, run_job, (scenario,), None)
    assert first is second
    assert first.future.result(timeout=60).stream.total > 0
    assert runner.run(scenario)["summary"]["ledger"]["groups"]["billing"]["processed_once"] == 3


def test_frames_carry_every_event_of_a_small_run(calm_scenario: Scenario) -> None:
    run = runner.run(_variant(calm_scenario, 102))
    assert all("skipped_events" not in f or f["skipped_events"] == 0 for f in run["frames"])


def test_the_event_cap_stops_a_run_with_a_message(settings: Any, calm_scenario: Scenario) -> None:
    settings.RUN_MAX_EVENTS = 5
    run = runner.run(_variant(calm_scenario, 103, busy=True))
    assert "Make the scenario smaller" in run["error"]
    assert "more than 5 events" in run["error"]


def test_a_stopped_run_shows_the_run_up_to_the_stop(settings: Any, calm_scenario: Scenario) -> None:
    settings.RUN_MAX_EVENTS = 5
    run = runner.run(_variant(calm_scenario, 107, busy=True))
    assert run["partial"] is True
    stopped_at = run["frames"][-1]["t"]
    assert f"at {stopped_at} ms of 60000 ms" in run["error"]
    assert 0 < stopped_at < 60000
    assert run["summary"]["ledger"]["topics"]["orders"]["sent"] > 0


def test_a_stopped_run_is_kept_as_that_outcome(settings: Any, calm_scenario: Scenario) -> None:
    scenario = _variant(calm_scenario, 104, busy=True)
    settings.RUN_MAX_EVENTS = 5
    first = runner.outcome(scenario)
    simulated = runner.cache_stats()["simulations"]
    assert runner.outcome(scenario) is first  # by digest: no second simulation
    assert runner.cache_stats()["simulations"] == simulated
    settings.RUN_MAX_EVENTS = 2_000_000  # under a higher cap it is another run, and finishes
    assert runner.run(scenario)["error"] is None


def test_a_run_stopped_by_the_wall_clock_is_kept_for_a_while_only(
    settings: Any, calm_scenario: Scenario
) -> None:
    settings.RUN_MAX_SECONDS = 0  # already past the deadline at the first budget check
    outcome = runner.outcome(_variant(calm_scenario, 108, busy=True))
    assert 0 < outcome.ttl <= 600  # the event cap's stop is kept for days


@pytest.mark.django_db
def test_the_page_and_the_api_explain_a_stopped_run(
    client: Client, settings: Any, calm_scenario: Scenario
) -> None:
    scenario = _variant(calm_scenario, 105, busy=True)
    slug = saved(scenario)
    settings.RUN_MAX_EVENTS = 5
    response = client.get(f"/r/{slug}")
    assert response.status_code == 200
    assert "This run could not finish" in text(response)
    assert "what is shown is the run up to there" in text(response)
    assert 'id="player"' in text(response)  # the run up to the stop plays
    assert "Outcome at the end of the run" in text(response)
    api = client.get(f"/api/scenarios/{slug}")
    assert api.status_code == 422
    assert api.json()["error"]["field"] == "scenario"


def test_the_wall_time_cap_stops_a_run_with_a_message(
    settings: Any, calm_scenario: Scenario
) -> None:
    settings.RUN_MAX_SECONDS = 0  # already past the deadline at the first budget check
    run = runner.run(_variant(calm_scenario, 106, busy=True))
    assert "took too long" in run["error"]


CHILD = """
import os, sys, django
os.environ["DJANGO_SETTINGS_MODULE"] = "playground.settings"
django.setup()
from simcore import builtin_scenario
from playground import runner
runner.run(builtin_scenario("librdkafka-auto-commit"))
print(" ".join(str(pid) for pid in runner._executor()._processes), flush=True)
sys.stdin.read()  # until killed
"""


def test_workers_exit_when_the_web_process_is_killed() -> None:
    with subprocess.Popen(
        [sys.executable, "-c", CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as child:
        assert child.stdout is not None
        workers = [int(pid) for pid in child.stdout.readline().split()]
        assert workers  # started on demand: one job, at least one worker
        pidfds = [os.pidfd_open(pid) for pid in workers]
        opened = list(pidfds)
        child.kill()  # no clean-up, no atexit: what a test server's terminate() or OOM does
    deadline = time.monotonic() + 20
    while pidfds and time.monotonic() < deadline:
        ready, _, _ = select.select(pidfds, [], [], deadline - time.monotonic())
        pidfds = [fd for fd in pidfds if fd not in ready]
    for fd in opened:
        os.close(fd)
    assert pidfds == [], "a pool worker outlived the process that started it"


ROOT = Path(__file__).resolve().parents[2]


def _worker_child(code: str) -> subprocess.CompletedProcess[str]:
    """Runs ``code`` in a fresh interpreter, as a pool worker would be (its own data limit)."""
    child = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'bench'}"},
    )
    assert child.returncode == 0, child.stderr[-2000:]
    return child


MEMORY_CHILD = """
import json, os, sys, zlib
from playground import jobs
from simcore import parse_scenario
jobs.worker_init(os.getppid(), 400_000_000)
wide = {  # 50 consumers on 64 partitions, recorded event by event: ~1 GB by 24,000 events
    "name": "wide", "seed": 1, "duration_ms": 3_600_000,
    "topics": [{"name": "t", "partitions": 64}],
    "producers": [{"id": "p1", "topic": "t", "messages": 5000, "rate_per_s": 2}],
    "consumers": [{"id": f"c{i}", "group": f"g{i % 5}", "topics": ["t"], "processing_ms": 1}
                  for i in range(50)],
}
outcome = jobs.run_job(parse_scenario(wide), 2_000_000, 120)
print(json.dumps([json.loads(zlib.decompress(outcome.run))["error"], outcome.keep]))
"""


def test_a_run_over_the_memory_limit_stops_with_a_message() -> None:
    child = _worker_child(MEMORY_CHILD)
    error, keep = json.loads(child.stdout)
    assert "needed more memory than one run may use" in error
    assert keep  # kept (for a while), like a run stopped by the clock


SHAPED_CHILD = """
import json, os, sys, zlib
from playground import jobs
from simcore import parse_scenario
from scaling import scenario  # bench/scaling.py: 6 brokers, 20,000 keyed records/s, 6 consumers
jobs.worker_init(os.getppid(), 180_000_000)
keyed = scenario(200_000, 60, 3, True)  # ~120,000 record batches, past 180 MB of data
outcome = jobs.run_job(parse_scenario(keyed), 2_000_000, 120)
data = json.loads(zlib.decompress(outcome.run))
print(json.dumps(data["error"]))
"""


def test_a_production_shaped_run_over_the_memory_limit_is_told_how_much_smaller() -> None:
    child = _worker_child(SHAPED_CHILD)
    error = json.loads(child.stdout)
    assert "the run needed more memory than one run may use (PLAYGROUND_RUN_MAX_MB)" in error
    assert "what is shown is the run up to there" in error  # stopped in time: shown
    assert "Its records make about 120,000 record batches" in error
    fits = int(error.split("messages about ")[1].split(" ")[0].replace(",", ""))
    assert 0 < fits < 200_000 and "of 200,000 (with duration_ms to match)" in error
    assert "python -m simcore run scenario.yaml" in error


PRODUCTION_CHILD = """
import json, os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "playground.settings")
from django.conf import settings
from playground import jobs
from simcore import parse_scenario
from scaling import scenario
jobs.worker_init(os.getppid(), settings.RUN_MAX_MB * 1_000_000)  # as runner._executor does
topic = scenario(1_200_000, 60, 3, True)  # issue 16: a minute of a keyed 60-partition topic
# a generous clock: whether it fits in a worker's memory is what is tested, not this machine
outcome = jobs.run_job(parse_scenario(topic), settings.RUN_MAX_EVENTS, 600)
data = jobs.decode(outcome)
summary = data["summary"]
ledger = [summary["ledger"]["topics"]["t"], summary["ledger"]["groups"]["g"]] if summary else None
print(json.dumps([data["error"], ledger, len(data["frames"])]))
"""


def test_the_production_topic_of_issue_16_runs_whole_within_a_workers_memory() -> None:
    """A team's production topic (1.2 M keyed records in a minute over 60 partitions, RF 3,
    six consumers) plays in the web: under the default PLAYGROUND_RUN_MAX_MB it is not
    stopped for memory, and its ledger is whole."""
    child = _worker_child(PRODUCTION_CHILD)
    error, ledger, frames = json.loads(child.stdout)
    assert error is None
    topic, group = ledger
    assert topic["acked"] == topic["in_log"] == 1_200_000 and topic["lost_acked"] == 0
    assert group["processed_once"] == 1_200_000 and group["processed_never"] == 0
    assert 100 <= frames <= 2000  # sampled: as many as fit the frames' budget


RETRY_CHILD = """
import json, os, sys, zlib
from playground import jobs
from simcore import parse_scenario
from scaling import scenario
jobs.worker_init(os.getppid(), 400_000_000)
for name in ("kept-1", "kept-2"):  # two earlier runs the worker keeps: 300 MB of the 400
    jobs._worker_results[name] = (bytearray(150_000_000), None)
attempts = []
run_once = jobs._fresh_run
def counted(*args):
    attempts.append(len(jobs._worker_results))
    return run_once(*args)
jobs._fresh_run = counted
keyed = scenario(100_000, 60, 3, True)  # ~40 MB of data: fits, not beside what it keeps
outcome = jobs.run_job(parse_scenario(keyed), 2_000_000, 120)
data = json.loads(zlib.decompress(outcome.run))
acked = data["summary"]["ledger"]["topics"]["t"]["acked"] if "summary" in data else None
print(json.dumps([data.get("error"), acked, attempts, list(jobs._worker_results)]))
"""


def test_a_run_that_fits_only_without_the_workers_kept_runs_is_retried_without_them() -> None:
    """Whether a big run fits must not depend on what the worker ran before: stopped for
    memory, the run is tried once more without the runs the worker keeps."""
    child = _worker_child(RETRY_CHILD)
    error, acked, attempts, kept = json.loads(child.stdout)
    assert error is None and acked == 100_000
    assert attempts == [2, 0]  # failed beside the two kept runs, then ran alone
    assert not [name for name in kept if name.startswith("kept-")]


def test_a_runs_frames_are_encoded_once_and_decode_to_the_streamed_frames(
    calm_scenario: Scenario,
) -> None:
    """The run's blob leaves the frames to the stream's chunks (the worker encodes them
    once); decoding puts back exactly the frames every viewer is streamed."""
    import zlib

    from playground import jobs, streams

    outcome = jobs.run_job(_variant(calm_scenario, 109), 1_000_000, 60.0)
    assert "frames" not in json.loads(zlib.decompress(outcome.run))
    streamed = [
        frame for chunk in outcome.stream.chunks[1:] for frame in streams.inflate(chunk)["frames"]
    ]
    decoded = jobs.decode(outcome)
    assert len(streamed) == outcome.stream.total > 0
    assert decoded["frames"] == streamed
    assert jobs.decode(jobs.Outcome.from_bytes(outcome.to_bytes())) == decoded


PREWARM_CHILD = """
import os, django
os.environ["DJANGO_SETTINGS_MODULE"] = "playground.settings"
django.setup()
import playground.asgi  # noqa: F401  (the server's module: it starts the workers)
from playground import runner
if runner.prewarming is not None:
    runner.prewarming.join(120)
pool = runner._pool
print(0 if pool is None else len(pool._processes), runner.simulations, flush=True)
"""


@pytest.mark.parametrize(("prewarm", "workers"), [("1", 2), ("0", 0)])
def test_the_server_starts_its_run_workers_before_the_first_run(prewarm: str, workers: int) -> None:
    # The first scenario page after `make run` waited 0.6-1.5 s for the pool's processes
    # to start and import simcore: with PLAYGROUND_RUN_PREWARM (make run, the Dockerfile,
    # compose.yaml) playground.asgi starts them, and no run is simulated for it.
    env = {**os.environ, "PLAYGROUND_RUN_PREWARM": prewarm, "PLAYGROUND_RUN_WORKERS": "2"}
    out = subprocess.run(
        [sys.executable, "-c", PREWARM_CHILD], env=env, capture_output=True, text=True, timeout=180
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [str(workers), "0"]
