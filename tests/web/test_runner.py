"""The worker pool: shared runs, caps that stop a heavy run with a clear message."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from typing import Any

import pytest
from django.test import Client

from playground import runner, scenarios
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
    first, second = runner.submit(scenario), runner.submit(scenario)
    assert first is second
    assert first.result(timeout=60)["summary"]["ledger"]["groups"]["billing"]["processed_once"] == 3


def test_frames_carry_every_event_of_a_small_run(calm_scenario: Scenario) -> None:
    run = runner.run(_variant(calm_scenario, 102))
    assert all("skipped_events" not in f or f["skipped_events"] == 0 for f in run["frames"])


def test_the_event_cap_stops_a_run_with_a_message(settings: Any, calm_scenario: Scenario) -> None:
    settings.RUN_MAX_EVENTS = 5
    run = runner.run(_variant(calm_scenario, 103, busy=True))
    assert run["summary"] is None
    assert "Make the scenario smaller" in run["error"]


def test_a_stopped_run_is_not_remembered(settings: Any, calm_scenario: Scenario) -> None:
    scenario = _variant(calm_scenario, 104, busy=True)
    settings.RUN_MAX_EVENTS = 5
    assert runner.run(scenario)["error"]
    settings.RUN_MAX_EVENTS = 2_000_000
    assert runner.run(scenario)["error"] is None


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
