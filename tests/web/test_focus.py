"""A wide topic's focused partitions (playground/focus.py): which partitions the strips, the
chart and the cluster panel show first, the label saying why, and none when the topic is
narrow enough to show whole."""

from __future__ import annotations

from typing import Any

import pytest

from playground import focus, jobs, streams
from simcore import builtin_scenario
from simcore.report.result import LOST_ACKED


def _partition(n: int, leader: int, replicas: list[int]) -> dict[str, Any]:
    return {
        "topic": "t",
        "partition": n,
        "leader": leader,
        "replicas": [{"broker": b} for b in replicas],
    }


def _run(count: int, *, lags: dict[int, int] | None = None, messages: Any = ()) -> dict[str, Any]:
    """`count` partitions on brokers 0-3 (partition n led by n % 4, followed by the next two)."""
    parts = [_partition(n, n % 4, [n % 4, (n + 1) % 4, (n + 2) % 4]) for n in range(count)]
    groups = [
        {"group": "g", "topic": "t", "partition": n, "lag": lag} for n, lag in (lags or {}).items()
    ]
    frames = [
        {"t": 0, "partitions": parts, "groups": []},
        {"t": 9000, "partitions": parts, "groups": groups},
    ]
    return {"frames": frames, "messages": list(messages)}


DOWN = [{"t": 5000, "kind": "broker_down", "actor": "broker-1"}]


def test_it_shows_every_partition_of_a_narrow_topic() -> None:
    assert focus.focus(_run(focus.FOCUS_OVER), DOWN) is None
    assert focus.focus(_run(1), DOWN) is None
    assert focus.focus({"frames": []}, DOWN) is None


def test_it_takes_the_partitions_a_dead_broker_led_and_followed_in_turn() -> None:
    chosen = focus.focus(_run(20), DOWN)
    assert chosen is not None
    # broker-1 leads 1, 5, 9, 13, 17 and follows 0, 3, 4, 7, 8, 11, ... (n % 4 in {0, 3})
    assert chosen["partitions"] == ["t-0", "t-1", "t-3", "t-4", "t-5", "t-7", "t-9", "t-13"]
    assert chosen["total"] == 20
    assert chosen["label"] == (
        "Showing 8 of 20 partitions: 4 of the 5 that broker-1 led, 4 of the 10 it followed"
    )


def test_records_that_went_wrong_come_before_the_brokers_partitions() -> None:
    lost = {"topic": "t", "partition": 14, "outcome": LOST_ACKED, "offsets": [], "processed": {}}
    twice = {"topic": "t", "partition": 2, "outcome": "processed 2 times", "offsets": [7]}
    twice["processed"] = {"g": 2}
    fine = {"topic": "t", "partition": 6, "outcome": "processed once", "offsets": [3]}
    fine["processed"] = {"g": 1}
    chosen = focus.focus(_run(20, messages=[lost, lost, twice, fine]), DOWN)
    assert chosen is not None
    assert chosen["partitions"] == ["t-0", "t-1", "t-2", "t-3", "t-4", "t-5", "t-9", "t-14"]
    assert chosen["label"].startswith(
        "Showing 8 of 20 partitions: 2 with records lost, duplicated, skipped or expired,"
        " 3 of the 5 that broker-1 led, 3 of the 10 it followed"
    )


def test_without_a_fault_it_takes_the_largest_lag() -> None:
    chosen = focus.focus(_run(12, lags={3: 50, 7: 900, 11: 50, 0: 0}), [])
    assert chosen is not None
    assert chosen["partitions"] == ["t-3", "t-7", "t-11"]  # ties by name; no lag: not chosen
    assert chosen["label"] == "Showing 3 of 12 partitions: 3 with the largest lag"


@pytest.mark.django_db
def test_the_production_topic_focuses_on_broker_2s_partitions() -> None:
    scenario = builtin_scenario("production-topic-broker-dies")
    run = jobs.decode(jobs.run_job(scenario, 10**8, 120))
    chosen = run["focus"]
    assert chosen == streams.meta("slug", scenario, run)["focus"]  # the player gets it
    assert chosen["total"] == 60 and len(chosen["partitions"]) == focus.FOCUS_SHOW
    assert chosen["label"] == (
        "Showing 8 of 60 partitions: 4 of the 10 that broker-2 led, 4 of the 20 it followed"
    )
    before = [f for f in run["frames"] if f["t"] <= 8000][-1]["partitions"]
    by_name = {f"{p['topic']}-{p['partition']}": p for p in before}
    led = [name for name in chosen["partitions"] if by_name[name]["leader"] == 2]
    followed = [
        name
        for name in chosen["partitions"]
        if by_name[name]["leader"] != 2 and 2 in [r["broker"] for r in by_name[name]["replicas"]]
    ]
    assert len(led) == 4 and len(followed) == 4
    # in the strips' order (the frames'), not the order chosen
    order = list(by_name)
    assert chosen["partitions"] == sorted(chosen["partitions"], key=order.index)


def test_a_narrow_built_in_has_no_focus() -> None:
    run = jobs.decode(jobs.run_job(builtin_scenario("acks-1-leader-dies"), 10**8, 60))
    assert run["focus"] is None


def test_the_largest_lag_is_the_peak_over_the_run_summed_over_groups() -> None:
    run = _run(12, lags={7: 5})  # the last frame: only t-7 lags
    run["series"] = {
        "groups": {
            "a/t-2": {"lag": [0, 400, 0]},
            "b/t-2": {"lag": [0, 300, 0]},
            "a/t-9": {"lag": [0, 600, 0]},
            "a/t-7": {"lag": [0, 0, 5]},
        }
    }
    chosen = focus.focus(run, [])
    assert chosen is not None
    assert chosen["partitions"] == ["t-2", "t-7", "t-9"]  # in the strips' order
    assert chosen["label"] == "Showing 3 of 12 partitions: 3 with the largest lag"


def test_a_wide_topic_where_nothing_stands_out_is_shown_whole() -> None:
    assert focus.focus(_run(12), []) is None
