"""Built-in 20, `production-topic-broker-dies`: a production-shaped topic (issue 16).

Six brokers, 60 partitions, RF 3, min ISR 2, 60,000 keyed orders at 20,000 a second with
acks=all, six consumers; broker-2 dies at 8 s, is fenced at 17 s and returns at 19 s.
Each test pins a claim of the scenario's description. The run is large (sampled frames,
counted data-path events), so invariants are not checked after every event here (that
takes ~20 s); the replication properties check them on small clusters
(`test_replication_properties.py`).
"""

from __future__ import annotations

from functools import cache
from typing import Any

import simcore

SLUG = "production-topic-broker-dies"
DEAD = 2
KILLED_MS, FENCED_MS, BACK_MS = 8000, 17000, 19000
RECORDS = 60_000


@cache
def run() -> simcore.Result:
    return simcore.simulate(simcore.builtin_scenario(SLUG))


@cache
def frames() -> list[dict[str, Any]]:
    return run().frames()


def frame_at(t: int) -> dict[str, Any]:
    """The last frame at or before ``t``."""
    return [f for f in frames() if f["t"] <= t][-1]


def events(kind: str) -> list[tuple[int, dict[str, Any]]]:
    return [(t, fields) for t, k, _actor, fields in run().events if k == kind]


def test_it_is_the_production_shape_of_issue_16() -> None:
    scenario = run().scenario
    assert scenario.brokers == 6
    (topic,) = scenario.topics
    assert (topic.partitions, topic.replication_factor, topic.min_insync_replicas) == (60, 3, 2)
    (producer,) = scenario.producers
    assert (producer.messages, producer.rate_per_s, producer.acks) == (RECORDS, 20_000, -1)
    assert producer.key is not None and "{i}" in producer.key
    assert len(scenario.consumers) == 6


def test_nothing_acknowledged_is_lost_duplicated_or_reordered() -> None:
    ledger = run().summary()["ledger"]
    topic = ledger["topics"]["orders"]
    assert topic["sent"] == topic["acked"] == topic["in_log"] == RECORDS
    assert topic["lost_acked"] == topic["log_duplicates"] == topic["out_of_order"] == 0
    assert ledger["groups"]["billing"]["processed_once"] == RECORDS


def test_the_controller_fences_the_dead_broker_and_elects_leaders_for_its_partitions() -> None:
    assert [t for t, f in events("broker_fenced") if f["broker"] == DEAD] == [FENCED_MS]
    elected = events("leader_elected")
    assert {t for t, _f in elected} == {FENCED_MS}
    assert sorted(int(f["part"].split("-")[1]) for _t, f in elected) == list(range(2, 60, 6))
    assert all(f["previous"] == DEAD and not f["unclean"] for _t, f in elected)


def test_half_the_topic_stalls_until_the_fencing_the_partitions_it_led_and_followed() -> None:
    """8-17 s: the HW of every partition broker-2 led or followed stays put (acks=all
    waits for it in the ISR), the others' HW reaches their final LEO."""
    during, end = frame_at(FENCED_MS - 1), frames()[-1]
    assert frame_at(11_000)["t"] < during["t"]
    stalled = {
        p["partition"]
        for p in during["partitions"]
        if p["hw"] == frame_at(11_000)["partitions"][p["partition"]]["hw"]
        and p["hw"] < end["partitions"][p["partition"]]["leo"]
    }
    holds_replica = {
        p["partition"] for p in end["partitions"] if DEAD in [r["broker"] for r in p["replicas"]]
    }
    assert len(holds_replica) == 30
    assert stalled == holds_replica
    done = [p for p in during["partitions"] if p["partition"] not in holds_replica]
    assert all(p["hw"] == end["partitions"][p["partition"]]["leo"] for p in done)


def test_the_producer_acknowledges_nothing_while_stalled_and_everything_after() -> None:
    acked = {t: frame_at(t)["producers"][0]["acked"] for t in (11_000, FENCED_MS - 1, 18_000)}
    assert 35_000 < acked[11_000] == acked[FENCED_MS - 1] < RECORDS
    assert acked[18_000] == RECORDS


def test_the_requests_in_flight_fail_are_retried_and_the_broker_rejoins_every_isr() -> None:
    errors = events("produce_error")
    assert errors and all(t == KILLED_MS + 1 for t, _f in errors)
    assert all(f["error"] == "NETWORK_EXCEPTION" for _t, f in errors)
    assert frames()[-1]["producers"][0]["retries"] == len(errors)
    rejoined = {f["part"] for t, f in events("isr_expand") if f["follower"] == DEAD}
    assert len(rejoined) == 30
    assert all(t > BACK_MS for t, f in events("isr_expand") if f["follower"] == DEAD)


def test_its_frames_are_sampled() -> None:
    """A large run: about one frame per 1/1000 of the duration, at most, and no
    per-message rows."""
    assert 100 < len(frames()) <= 1001
    assert run().messages() is None
