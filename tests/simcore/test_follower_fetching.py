"""Follower fetching (KIP-392): the leader's RackAwareReplicaSelector, reads below the
follower's own high watermark, the way back to the leader, and the chapter's built-ins."""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import simcore
from simcore.kernel.errors import ScenarioError
from simcore.report.result import Result
from tests.simcore import fault_strategies


@cache
def run(slug: str) -> Result:
    return simcore.simulate(simcore.builtin_scenario(slug), check_invariants=True)


def kinds(result: Result, *names: str) -> list[tuple[int, str, dict[str, Any]]]:
    return [(t, k, f) for t, k, _a, f in result.events if k in names]


def scenario(**changes: Any) -> simcore.Scenario:
    consumer = {
        "id": "c",
        "group": "g",
        "topics": ["t"],
        "config": {"client.rack": "b", "auto.offset.reset": "earliest"},
    }
    data: dict[str, Any] = {
        "name": "ff",
        "duration_ms": 20_000,
        "brokers": 3,
        "broker_racks": ["a", "b", "c"],
        "broker_config": {"replica.selector.class": "RackAwareReplicaSelector"},
        "topics": [{"name": "t", "partitions": 1, "replication_factor": 3}],
        "producers": [{"id": "p", "topic": "t", "messages": 100, "rate_per_s": 10}],
        "consumers": [consumer],
    }
    data.update(changes)
    return simcore.parse_scenario(data)


def test_the_leader_names_the_follower_in_the_consumers_rack() -> None:
    result = simcore.simulate(scenario(), check_invariants=True)
    named = kinds(result, "preferred_replica")
    assert [(f["broker"], f["rack"], f["leader"]) for _t, _k, f in named] == [(1, "b", 0)]
    reads = result.summary()["follower_fetching"]["c"]
    assert reads["read_replicas"] == {"t-0": 1}
    assert reads["bytes_cross_rack"] == 0 and reads["bytes_same_rack"] > 0
    assert reads["fetches_from_leaders"] == 0 < reads["fetches_from_followers"]
    group = result.summary()["ledger"]["groups"]["g"]
    assert group["processed_once"] + group["unread"] == 100 and group["processed_multiple"] == 0


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"broker_config": {}}, "no replica.selector.class: the leader serves"),
        ({"broker_racks": ["a", "a", "c"]}, "no replica in the client's rack"),
        ({"broker_racks": ["b", "b", "c"]}, "the leader is in the client's rack"),
    ],
)
def test_the_leader_serves_when_the_selector_says_so(changes: dict[str, Any], why: str) -> None:
    result = simcore.simulate(scenario(**changes), check_invariants=True)
    assert not kinds(result, "preferred_replica"), why
    reads = result.summary()["follower_fetching"]["c"]
    assert reads["fetches_from_followers"] == 0 < reads["fetches_from_leaders"]


def test_a_consumer_without_a_rack_reads_from_the_leader_and_counts_nothing() -> None:
    consumer = {"id": "c", "group": "g", "topics": ["t"]}
    result = simcore.simulate(scenario(consumers=[consumer]))
    assert not kinds(result, "preferred_replica")
    assert "follower_fetching" not in result.summary()


def test_the_most_caught_up_in_sync_replica_of_the_rack_is_named() -> None:
    # two in-sync followers in rack b; broker-2 is cut off and its log trails: broker-1,
    # the most caught-up, is the one named
    result = simcore.simulate(
        scenario(
            broker_racks=["a", "b", "b"],
            faults=[
                {
                    "action": "isolate_broker",
                    "target": "broker-2",
                    "at_ms": 0,
                    "duration_ms": 20_000,
                }
            ],
        ),
        check_invariants=True,
    )
    assert {f["broker"] for _t, _k, f in kinds(result, "preferred_replica")} == {1}


def test_a_slow_in_sync_follower_makes_its_zones_readers_late_not_wrong() -> None:
    result = run("follower-fetching-slow-follower")
    reads = result.summary()["follower_fetching"]
    billing, audit = reads["billing-1"], reads["audit-1"]
    assert billing["bytes_cross_rack"] == audit["bytes_cross_rack"] == 0
    assert billing["staleness_ms"]["follower"]["max"] >= 4000  # the 4 s slow fetches
    assert 90 <= billing["staleness_ms"]["follower"]["avg"] < 1000
    assert audit["staleness_ms"]["leader"]["max"] <= 2 * 2  # two network hops
    before = [
        late
        for t, _part, late, follower in result.sim.consumers[0].reads.staleness
        if follower and 5_000 < t < 20_000
    ]
    assert before and max(before) <= 100  # one round behind the leader at 10 orders/s
    named = kinds(result, "preferred_replica")
    assert len(named) == 3 and {f["broker"] for _t, _k, f in named} == {1}  # every 15 s
    assert len(kinds(result, "read_replica_expired")) == 2
    groups = result.summary()["ledger"]["groups"]
    assert all(g["processed_multiple"] == 0 and g["skipped"] == 0 for g in groups.values())


def test_a_dead_read_replica_sends_the_consumer_to_the_leader_and_back() -> None:
    result = run("follower-fetching-replica-dies")
    cleared = kinds(result, "read_replica_cleared")
    assert [(f["broker"], f["error"]) for _t, _k, f in cleared] == [(1, "NETWORK_EXCEPTION")]
    assert 15_000 <= cleared[0][0] <= 16_000
    named = [t for t, _k, _f in kinds(result, "preferred_replica")]
    assert len(named) == 2 and named[1] > 25_000  # after broker-1 rejoined the ISR
    expanded = [t for t, _k, f in kinds(result, "isr_expand") if f["follower"] == 1]
    assert expanded and expanded[0] <= named[1]
    reads = result.summary()["follower_fetching"]["billing-1"]
    assert reads["bytes_cross_rack"] > 0 and reads["fetches_from_leaders"] > 0
    assert reads["read_replicas"] == {"orders-0": 1}
    group = result.summary()["ledger"]["groups"]["billing"]
    assert (group["processed_once"], group["processed_multiple"], group["unread"]) == (400, 0, 0)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"broker_racks": ["a", "b"]}, "broker_racks"),
        ({"broker_racks": ["a", "b", "c d"]}, "broker_racks[2]"),
        ({"broker_config": {"replica.selector.class": "Nearest"}}, "replica.selector.class"),
    ],
)
def test_bad_rack_settings_name_the_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        scenario(**changes)
    assert field in str(caught.value)


def test_client_rack_on_librdkafka_says_it_is_not_modelled() -> None:
    consumer = {
        "id": "c",
        "group": "g",
        "topics": ["t"],
        "client": "librdkafka",
        "config": {"client.rack": "b"},
    }
    with pytest.raises(ScenarioError) as caught:
        scenario(consumers=[consumer])
    assert "Java consumer only" in str(caught.value)


healing_faults = fault_strategies.broker_faults(
    healing=True, longest_ms=30_000, max_delay_ms=20_000, max_size=4
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32),
    faults=healing_faults,
    racks=st.sampled_from([["a", "b", "c"], ["a", "b", "b"], ["a", "a", "b"]]),
    max_age=st.sampled_from([1_000, 15_000, 300_000]),
    gone=st.one_of(st.none(), st.tuples(st.sampled_from([0, 1, 2]), st.integers(0, 40_000))),
)
def test_follower_reads_lose_nothing_and_catch_up_once_faults_heal(
    seed: int,
    faults: list[dict[str, Any]],
    racks: list[str],
    max_age: int,
    gone: tuple[int, int] | None,
) -> None:
    """Safety: with acks=all and min.insync.replicas=2, no acknowledged order is lost and
    no consumer is ever handed a record above every replica's HW (the invariant checker,
    after every event). Liveness: faults end by 70 s, except that one broker may die for
    good (``gone``); by 150 s every group has read every order in the log, wherever it
    reads from — a consumer whose read replica is gone must go back to the leader."""
    if gone is not None:
        faults = [
            *faults,
            {"action": "kill_broker", "target": f"broker-{gone[0]}", "at_ms": gone[1]},
        ]
    consumers = [
        {
            "id": f"c-{rack}",
            "group": f"g-{rack}",
            "topics": ["t"],
            "config": {
                "client.rack": rack,
                "metadata.max.age.ms": max_age,
                "auto.offset.reset": "earliest",
            },
        }
        for rack in ("a", "b", "c")
    ]
    data = {
        "name": "follower fetching under faults",
        "seed": seed,
        "duration_ms": 150_000,
        "brokers": 3,
        "broker_racks": racks,
        "broker_config": {
            "replica.selector.class": "RackAwareReplicaSelector",
            "replica.lag.time.max.ms": 10_000,
        },
        "topics": [
            {
                "name": "t",
                "partitions": 2,
                "replication_factor": 3,
                "config": {"min.insync.replicas": 2},
            }
        ],
        "producers": [
            {
                "id": "p",
                "topic": "t",
                "messages": 120,
                "rate_per_s": 2,
                "key": "k{i}",
                "config": {"delivery.timeout.ms": 120_000},
            }
        ],
        "consumers": consumers,
        "faults": faults,
    }
    result = simcore.simulate(simcore.parse_scenario(data), check_invariants=True)
    topic = result.ledger["topics"]["t"]
    assert topic["lost_acked"] == 0
    for group in result.ledger["groups"].values():
        assert group["unread"] == 0 and group["skipped"] == 0, result.summary()
        assert group["processed_never"] == 0
