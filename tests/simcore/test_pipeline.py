"""Consume-transform-produce pipelines: exactly-once with transactions against
at-least-once, under crashes at each step; the end-to-end ledger; KIP-447's offsets in
the transaction. Every run checks the invariants after each event."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import simcore
from tests.simcore.helpers import run, scenario


def pipeline(eos: bool, faults: list[dict[str, Any]] | None = None, **changes: Any) -> dict:
    config: dict[str, Any] = {
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 2000,
    }
    if eos:
        config["isolation.level"] = "read_committed"
    block: dict[str, Any] = {"output": "out", "commit_every_ms": 200}
    if eos:
        block["transactional_id"] = "etl"
    data = scenario(
        brokers=3,
        duration_ms=20000,
        topics=[
            {"name": "in", "partitions": 2, "replication_factor": 3},
            {"name": "out", "partitions": 2, "replication_factor": 3},
        ],
        producers=[
            {"id": "source", "topic": "in", "messages": 100, "rate_per_s": 50, "key": "k{i}"}
        ],
        consumers=[
            {"id": "etl", "group": "etl", "topics": ["in"], "config": config, "pipeline": block}
        ],
        faults=faults or [],
    )
    data.update(changes)
    return data


def crash(point: str, offset: int = 20, partition: int = 0) -> list[dict[str, Any]]:
    return [
        {
            "action": "crash",
            "target": "etl",
            "point": point,
            "offset": offset,
            "partition": partition,
            "restart_after_ms": 1000,
        }
    ]


def e2e(result: simcore.Result) -> dict[str, Any]:
    return result.summary()["end_to_end"]["etl"]


def test_without_faults_both_modes_write_each_result_once() -> None:
    for eos in (True, False):
        ledger = e2e(run(pipeline(eos)))
        assert (ledger["inputs"], ledger["exactly_once"]) == (100, 100), eos
        assert ledger["commits"] > 5


@pytest.mark.parametrize("point", ["after_poll", "after_process", "before_commit"])
def test_a_crash_before_the_commit_duplicates_results_only_at_least_once(point: str) -> None:
    alo, eos = e2e(run(pipeline(False, crash(point)))), e2e(run(pipeline(True, crash(point))))
    assert alo["never"] == 0 and alo["more_than_once"] > 0, alo
    assert (eos["exactly_once"], eos["never"], eos["more_than_once"]) == (100, 0, 0), eos
    if point != "after_poll":
        assert eos["aborted_results"] > 0  # the dead instance's results, aborted


def test_a_crash_after_the_commit_loses_and_duplicates_nothing() -> None:
    for eos in (True, False):
        ledger = e2e(run(pipeline(eos, crash("after_commit", offset=30))))
        assert (ledger["exactly_once"], ledger["never"], ledger["more_than_once"]) == (
            100,
            0,
            0,
        ), eos


def test_the_offsets_commit_with_the_transaction_marker() -> None:
    result = run(pipeline(True))
    stored = [e[0] for e in result.events if e[1] == "commit_stored"]
    prepared = [
        e[0] for e in result.events if e[1] == "txn_state" and e[3]["state"] == "PrepareCommit"
    ]
    assert stored and all(any(p <= t <= p + 5 for p in prepared) for t in stored)
    parts = {p for e in result.events if e[1] == "txn_state" for p in e[3]["parts"]}
    assert any(p.startswith("__consumer_offsets-") for p in parts)


def test_the_restarted_instance_fences_and_aborts_the_dead_ones_transaction() -> None:
    result = run(pipeline(True, crash("after_process")))
    inits = [e[3]["epoch"] for e in result.events if e[1] == "txn_init"]
    assert inits == [0, 2]
    aborts = [
        e[3] for e in result.events if e[1] == "txn_state" and e[3]["state"] == "PrepareAbort"
    ]
    assert len(aborts) == 1 and "fences" in aborts[0]["why"]


def test_a_pipeline_needs_manual_commits_and_another_output_topic() -> None:
    data = pipeline(True)
    data["consumers"][0]["config"]["enable.auto.commit"] = True
    with pytest.raises(simcore.ScenarioError, match=r"enable\.auto\.commit: false"):
        simcore.parse_scenario(data)
    data = pipeline(True)
    data["consumers"][0]["pipeline"]["output"] = "in"
    with pytest.raises(simcore.ScenarioError, match="also an input"):
        simcore.parse_scenario(data)


def test_before_commit_is_a_pipeline_crash_point() -> None:
    data = scenario(
        faults=[{"action": "crash", "target": "c1", "point": "before_commit", "offset": 1}]
    )
    with pytest.raises(simcore.ScenarioError, match="consumer with a pipeline"):
        simcore.parse_scenario(data)


crashes_st = st.lists(
    st.one_of(
        st.fixed_dictionaries(
            {
                "point": st.sampled_from(
                    [
                        "after_poll",
                        "before_process",
                        "after_process",
                        "before_commit",
                        "after_commit",
                    ]
                ),
                "offset": st.integers(0, 45),
                "partition": st.integers(0, 1),
                "restart_after_ms": st.integers(0, 2000),
            }
        ),
        st.fixed_dictionaries(
            {"at_ms": st.integers(0, 8000), "restart_after_ms": st.integers(0, 2000)}
        ),
    ),
    max_size=3,
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(crashes=crashes_st, seed=st.integers(0, 10_000))
def test_exactly_once_after_recovery_whatever_the_crashes(
    crashes: list[dict[str, Any]], seed: int
) -> None:
    faults = [{"action": "crash", "target": "etl", **c} for c in crashes]
    data = pipeline(True, faults, seed=seed, duration_ms=40000)
    data["producers"][0]["messages"] = 60
    ledger = e2e(run(data))
    seen = (ledger["inputs"], ledger["exactly_once"], ledger["never"], ledger["more_than_once"])
    assert seen == (60, 60, 0, 0), ledger


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(crashes=crashes_st, seed=st.integers(0, 10_000))
def test_at_least_once_loses_nothing_whatever_the_crashes(
    crashes: list[dict[str, Any]], seed: int
) -> None:
    faults = [{"action": "crash", "target": "etl", **c} for c in crashes]
    data = pipeline(False, faults, seed=seed, duration_ms=40000)
    data["producers"][0]["messages"] = 60
    ledger = e2e(run(data))
    assert (ledger["inputs"], ledger["never"]) == (60, 0), ledger
    assert ledger["exactly_once"] + ledger["more_than_once"] == 60


def test_the_coordinators_broker_dies_mid_run_and_every_result_is_still_seen_once() -> None:
    from simcore.broker.transactions import partition_for

    broker = partition_for("etl") % 3  # the first replica of the id's state partition
    kill = {"action": "kill_broker", "target": f"broker-{broker}", "at_ms": 1500,
            "restart_after_ms": 15000}  # fmt: skip
    result = run(pipeline(True, [kill], duration_ms=30000))
    ledger = e2e(result)
    assert (ledger["exactly_once"], ledger["never"], ledger["more_than_once"]) == (100, 0, 0)
    coordinators = [e[2] for e in result.events if e[1] == "txn_state"]
    assert coordinators[0] == f"broker-{broker}"
    assert any(c != f"broker-{broker}" for c in coordinators), "the coordinator moved"
