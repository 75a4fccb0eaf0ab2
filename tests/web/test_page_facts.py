"""A run's page is built from its blob alone: the worker reads what the page shows off the
frames once (`page_facts`), so no page decodes a run's frames (issue 10, "crash here")."""

from __future__ import annotations

import pytest
from django.test import Client

from playground import jobs, page_facts, runner, streams
from simcore import Scenario, builtin_scenario, parse_scenario
from tests.web.helpers import saved, text

pytestmark = pytest.mark.django_db


def test_no_page_decodes_the_frames(
    client: Client,
    calm_scenario: Scenario,
    loss_scenario: Scenario,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before, after = saved(calm_scenario), saved(loss_scenario)
    runner.reset()  # nothing decoded by an earlier test
    runner.outcome(calm_scenario), runner.outcome(loss_scenario)  # simulated in a worker

    def no_frames(stream: streams.Stream) -> list[dict[str, object]]:
        raise AssertionError("a page decoded the run's frames")

    monkeypatch.setattr(streams, "frames", no_frames)
    page = client.get(f"/r/{after}?compare={before}")
    assert page.status_code == 200
    body = text(page)
    assert "Before and after" in body
    assert "message p1#0: processed once → never processed" in body
    # the last events (the log without JavaScript) and the crash default come from the facts
    assert 'class="t">' in body and 'name="at_ms"' in body
    for url in (f"/r/{after}", f"/embed/{after}?step=3", f"/compare/{before}/{after}"):
        assert client.get(url).status_code == 200, url


def test_the_facts_are_read_off_the_frames() -> None:
    scenario = builtin_scenario("eager-scale-out")
    run = jobs.decode(jobs.run_job(scenario, 10**8, 60))
    frames = run["frames"]
    assert run["last_frame"] == frames[-1]
    assert run["frame_times"] == [frame["t"] for frame in frames]
    events = [event for frame in frames for event in frame["events"]]
    assert run["last_events"] == events[-page_facts.LAST_EVENTS :]
    assert len(run["last_events"]) == page_facts.LAST_EVENTS
    assert run["warnings"] == page_facts.run_warnings(scenario, run)


def test_a_run_that_ends_before_the_failover_is_warned_in_its_facts() -> None:
    source = {
        "name": "Kill the leader, stop too soon",
        "duration_ms": 10000,
        "brokers": 3,
        "topics": [{"name": "t", "partitions": 1, "replication_factor": 3}],
        "producers": [{"id": "p", "topic": "t", "messages": 50, "rate_per_s": 10}],
        "faults": [{"action": "kill_broker", "target": "broker-0", "at_ms": 5000}],
    }
    facts = jobs.decode_page(jobs.run_job(parse_scenario(source), 10**8, 60))
    assert "frames" not in facts
    assert len(facts["warnings"]) == 1
    assert "before the controller fences it" in facts["warnings"][0]


def test_the_streams_json_is_the_standard_librarys() -> None:
    """ujson (streams.to_json) writes what `json.dumps(..., separators=(",", ":"))` writes for
    a heavy built-in's blob, meta and frames, byte for byte; and the same values for text
    that needs escaping and numbers it spells differently (1e-7 for 1e-07)."""
    import json

    scenario = builtin_scenario("consumer-protocol-scale-out")
    run = jobs.decode(jobs.run_job(scenario, 10**8, 60))
    for value in (run, streams.meta("slug", scenario, run)):
        assert streams.to_json(value) == json.dumps(value, separators=(",", ":")).encode()
    tricky = {"text": 'a/b "c" \\ é \u2028 <x>', "n": [0.1, 1e-7, 12345678901234567890, -0.0]}
    assert json.loads(streams.to_json(tricky)) == tricky
    assert b"<x>" in streams.to_json(tricky) and b"a/b" in streams.to_json(tricky)


def test_a_rebalance_is_warned_of_by_the_groups_history_not_the_frames_sampled_events() -> None:
    # the production topic's frames keep only their latest events: its rebalance_end (at
    # 6005 ms) was not among them, and its page said the rebalance was still running
    scenario = builtin_scenario("production-topic-broker-dies")
    run = jobs.decode(jobs.run_job(scenario, 10**8, 120))
    kinds = {event["kind"] for frame in run["frames"] for event in frame["events"]}
    assert "rebalance_start" in kinds and "rebalance_end" not in kinds  # what misled it
    assert not [w for w in run["warnings"] if "rebalance" in w], run["warnings"]


def test_a_rebalance_still_open_at_the_end_is_warned() -> None:
    scenario = builtin_scenario("eager-scale-out")
    rebalances = {"list": [{"start_ms": 3, "end_ms": 6005}, {"start_ms": 16500, "end_ms": None}]}
    run = {
        "frames": [{"t": 30000, "events": []}],
        "summary": {"consumer_groups": {"billing": {"rebalances": rebalances}}},
    }
    assert page_facts.run_warnings(scenario, run) == [
        f"The run ends at {scenario.duration_ms} ms while group billing's rebalance (started at"
        " 16500 ms) is still running: lengthen duration_ms to see the consumers recover."
    ]
    rebalances["list"][-1]["end_ms"] = 19000
    assert page_facts.run_warnings(scenario, run) == []


def test_broker_fault_warnings_read_the_full_fault_history_not_the_frames_sampled_events() -> None:
    # a big run's frames keep only their latest events: here the fencing and the election
    # were left out of them, and the page warned that the run ends before the failover
    scenario = builtin_scenario("acks-1-leader-dies")
    down = {"t": 5000, "kind": "broker_down", "actor": "broker-0"}
    fenced = {"t": 14000, "kind": "broker_fenced", "actor": "controller", "broker": 0}
    elected = {"t": 14000, "kind": "leader_elected", "actor": "controller", "part": "t-0"}
    run: dict[str, object] = {
        "frames": [{"t": 5000, "events": [down]}, {"t": 30000, "events": []}],
        "summary": {"consumer_groups": {}},
        "fault_events": [down, fenced, elected],
    }
    assert page_facts.run_warnings(scenario, run) == []
    run["fault_events"] = [down]  # the history itself says no fencing yet: warned
    assert "before the controller fences it" in page_facts.run_warnings(scenario, run)[0]


def test_the_fault_history_is_every_fault_fencing_and_election_of_the_run() -> None:
    scenario = builtin_scenario("production-topic-broker-dies")
    run = jobs.decode(jobs.run_job(scenario, 10**8, 120))
    kinds = [e["kind"] for e in run["fault_events"]]
    assert kinds == ["broker_down", "broker_fenced"] + ["leader_elected"] * 10 + ["broker_up"]
    assert run["fault_events"][1] == {
        "t": 17000,
        "kind": "broker_fenced",
        "actor": "controller",
        "broker": 2,
    }
    assert run["warnings"] == []
