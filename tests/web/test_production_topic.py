"""Issue 16: the production-shaped built-in runs in the web within its caps, frames sampled.

`production-topic-broker-dies` (60 partitions, RF 3, 60,000 keyed records, six consumers,
a broker crash) is a small run for admission (`cost`), ends inside the event cap, and its
frames — 60 partitions each — are thinned to the frames' JSON budget. How long it takes
is a benchmark (`bench/run.py`), not a test; this test gives the wall-time cap room.
"""

from __future__ import annotations

import json

from django.conf import settings

from playground import cost, jobs
from simcore import builtin_scenario, simulate

SLUG = "production-topic-broker-dies"


def test_it_waits_in_the_small_lane() -> None:
    estimate = cost.estimate(builtin_scenario(SLUG))
    assert not estimate.heavy
    assert estimate.records == 60_000


def test_it_plays_to_its_end_inside_the_event_cap_with_sampled_frames() -> None:
    scenario = builtin_scenario(SLUG)
    run = jobs.decode(jobs.run_job(scenario, settings.RUN_MAX_EVENTS, 120.0))
    assert run.get("error") is None  # not stopped by a cap
    frames = run["frames"]
    assert frames[-1]["t"] == scenario.duration_ms
    assert len(frames[-1]["partitions"]) == 60
    every = len(simulate(scenario).frames())
    assert jobs.MIN_FRAMES <= len(frames) < every  # thinned to the budget
    # the budget is sized from the last frame (and a frame's events vary): about it
    assert len(json.dumps(frames, separators=(",", ":"))) <= 1.05 * jobs.FRAMES_JSON_BUDGET
    assert run["summary"]["ledger"]["topics"]["orders"]["lost_acked"] == 0
