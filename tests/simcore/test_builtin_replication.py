"""The built-in scenarios of the producer-durability and replication chapter (11..19).

Each test pins what the scenario's description promises: the ledger counts a user relies
on (`lost_acked`, `log_duplicates`, per-partition `out_of_order`), which message ids are
lost or written twice, and the timeline events that carry the lesson (elections clean or
unclean, ISR shrink and expand, truncation, dedup, NOT_ENOUGH_REPLICAS). Every run checks
the invariants after each event. Digests are not pinned; determinism is.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest

import simcore
from simcore.producer.partitioner import librdkafka_partition, partition_for_key
from simcore.scenario.builtins import SCENARIO_DIR

CHAPTER = [
    "acks-0-fire-and-forget",
    "acks-1-leader-dies",
    "acks-all-min-isr-1-unclean",
    "acks-all-min-isr-2",
    "retries-duplicates-reordering",
    "retries-max-in-flight-1",
    "idempotent-producer",
    "keys-same-partition",
    "slow-follower-leaves-isr",
]

NOT_ENOUGH_REPLICAS = "NOT_ENOUGH_REPLICAS"
AFTER_APPEND = "NOT_ENOUGH_REPLICAS_AFTER_APPEND"


@cache
def run(slug: str) -> simcore.Result:
    return simcore.simulate(simcore.builtin_scenario(slug), check_invariants=True)


def counts(slug: str, topic: str = "orders") -> dict[str, Any]:
    return run(slug).summary()["ledger"]["topics"][topic]


def events(slug: str, kind: str) -> list[tuple[int, dict[str, Any]]]:
    return [(t, fields) for t, k, _actor, fields in run(slug).events if k == kind]


def first_time(slug: str, kind: str) -> int:
    return events(slug, kind)[0][0]


def rows(slug: str) -> dict[str, dict[str, Any]]:
    return {row["id"]: row for row in run(slug).messages() or []}


def lost_ids(slug: str) -> list[str]:
    return [i for i, row in rows(slug).items() if row["acked"] and not row["offsets"]]


def log_order(slug: str) -> list[str]:
    """Message ids of the (single-partition) topic in offset order, copies included."""
    placed = sorted((o, i) for i, row in rows(slug).items() for o in row["offsets"])
    assert [o for o, _ in placed] == list(range(len(placed)))
    return [i for _, i in placed]


def ids(first: int, last: int, producer: str = "p1") -> list[str]:
    return [f"{producer}#{n}" for n in range(first, last + 1)]


def ack_latencies(slug: str) -> list[tuple[int, int]]:
    """(first send time, ms until its ack) per batch."""
    sent = {f["batch"]: t for t, f in reversed(events(slug, "send"))}
    return sorted((sent[f["batch"]], t - sent[f["batch"]]) for t, f in events(slug, "ack"))


def most_in_flight(slug: str) -> int:
    """The most produce requests p1 had out at once (a send opens one, an answer closes it)."""
    out = most = 0
    for _t, kind, actor, _fields in run(slug).events:
        if actor == "p1" and kind == "send":
            out += 1
        elif actor == "p1" and kind in ("ack", "produce_error", "produce_failed"):
            out -= 1
        most = max(most, out)
    return most


def assert_ledger(slug: str, **expected: int) -> None:
    topic = counts(slug)
    assert {k: topic[k] for k in expected} == expected


# --- the chapter as a whole -------------------------------------------------------------------


def test_it_lists_the_chapter_as_scenarios_11_to_19() -> None:
    slugs = [slug for slug, _ in simcore.builtin_scenarios()]
    assert [s for s in slugs if s in CHAPTER] == CHAPTER
    numbers = {path.stem.split("-", 1)[1]: path.name[:2] for path in SCENARIO_DIR.glob("*.yaml")}
    assert [numbers[slug] for slug in CHAPTER] == [f"{n}" for n in range(11, 20)]


@pytest.mark.parametrize("slug", CHAPTER)
def test_it_runs_every_scenario_with_invariants_checked(slug: str) -> None:
    result = run(slug)
    scenario = result.scenario
    assert result.events
    assert scenario.duration_ms <= 60_000
    assert sum(p.messages for p in scenario.producers) <= 60
    assert scenario.brokers == 3
    assert all(t.replication_factor == 3 for t in scenario.topics)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("acks-0-fire-and-forget", "acks-1-leader-dies"),
        ("acks-all-min-isr-1-unclean", "acks-all-min-isr-2"),
        ("retries-duplicates-reordering", "retries-max-in-flight-1"),
        ("retries-duplicates-reordering", "idempotent-producer"),
    ],
)
def test_it_pairs_scenarios_that_differ_only_in_the_setting_they_teach(
    first: str, second: str
) -> None:
    def cluster(slug: str) -> dict[str, Any]:
        data = simcore.scenario_to_data(simcore.builtin_scenario(slug))
        for key in ("name", "description", "consumers", "questions"):
            data.pop(key, None)
        for topic in data["topics"]:
            topic.pop("config", None)
        for producer in data["producers"]:
            producer.pop("config", None)
        return data

    assert cluster(first) == cluster(second)


# --- acks -------------------------------------------------------------------------------------


def test_it_shows_acks_0_losing_what_the_dead_leader_held_without_the_producer_knowing() -> None:
    slug = "acks-0-fire-and-forget"
    assert_ledger(
        slug, sent=10, acked=10, failed=0, in_log=5, lost_acked=5, log_duplicates=0, out_of_order=0
    )
    assert lost_ids(slug) == ids(0, 4)
    # A send counts as done in the same millisecond: nobody waits for the broker.
    sends = {f["batch"]: t for t, f in events(slug, "send")}
    acks = events(slug, "ack")
    assert all(f["acks"] == 0 and t == sends[f["batch"]] for t, f in acks)
    # The leader died before any follower copied: the HW never moved on broker-0.
    down_at = first_time(slug, "broker_down")
    assert not [t for t, _ in events(slug, "hw") if t < down_at]
    # A clean election (the slow followers were still in the ISR) does not save them.
    ((elected_at, elected),) = events(slug, "leader_elected")
    assert (elected["leader"], elected["unclean"]) == (1, False)
    # Records due after the crash were held (connection refused) and reached the new leader.
    late = [(t, f["first"], f["count"]) for t, f in events(slug, "send") if t > down_at]
    assert late
    assert all(t >= elected_at for t, _, _ in late)
    assert sum(count for _, _, count in late) == 5
    assert log_order(slug) == ids(5, 9)
    ((_, truncate),) = events(slug, "truncate")
    assert (truncate["offset"], truncate["removed"]) == (0, 5)


def test_it_shows_acks_1_losing_acknowledged_records_for_good() -> None:
    slug = "acks-1-leader-dies"
    assert_ledger(slug, sent=10, acked=10, failed=0, in_log=5, lost_acked=5, log_duplicates=0)
    assert lost_ids(slug) == ids(0, 4)
    down_at = first_time(slug, "broker_down")
    before = [(f["first"], f["base"]) for t, f in events(slug, "ack") if t < down_at]
    assert before == [(n, n) for n in range(5)], "acknowledged with offsets 0..4"
    ((_, elected),) = events(slug, "leader_elected")
    assert (elected["leader"], elected["epoch"], elected["unclean"]) == (1, 1, False)
    # The same offsets now hold orders #5..#9.
    assert log_order(slug) == ids(5, 9)
    # The old leader returns and truncates by leader epoch (KIP-101): gone for good.
    up_at = first_time(slug, "broker_up")
    ((truncated_at, truncate),) = events(slug, "truncate")
    assert truncated_at > up_at
    assert (truncate["offset"], truncate["removed"]) == (0, 5)
    # The consumer never saw #0..#4 (they were never below the HW) and reads #5..#9.
    processed = {i: row["processed"]["billing"] for i, row in rows(slug).items()}
    assert processed == {i: (0 if n < 5 else 1) for n, i in enumerate(ids(0, 9))}
    assert run(slug).summary()["ledger"]["groups"]["billing"]["processed_never"] == 0


def test_it_shows_acks_all_with_min_isr_1_and_unclean_election_losing_acked_writes() -> None:
    slug = "acks-all-min-isr-1-unclean"
    topic = simcore.builtin_scenario(slug).topics[0]
    assert (topic.min_insync_replicas, topic.unclean_leader_election) == (1, True)
    assert_ledger(slug, sent=20, acked=20, failed=0, in_log=5, lost_acked=15, log_duplicates=0)
    assert lost_ids(slug) == ids(5, 19)
    ((shrunk_at, shrink),) = events(slug, "isr_shrink")
    assert (shrink["removed"], shrink["isr"]) == ([1, 2], [0])
    # Everything acknowledged after the ISR shrank to the leader is what was lost.
    acked_alone = [
        f["first"] + k for t, f in events(slug, "ack") if t >= shrunk_at for k in range(f["count"])
    ]
    assert acked_alone == list(range(5, 20))
    assert events(slug, "produce_error") == []
    ((elected_at, elected),) = events(slug, "leader_elected")
    assert elected_at > first_time(slug, "broker_down")
    assert (elected["leader"], elected["unclean"]) == (1, True)
    ((_, truncate),) = events(slug, "truncate")
    assert (truncate["offset"], truncate["removed"]) == (5, 15)
    assert log_order(slug) == ids(0, 4)


def test_it_shows_acks_all_with_min_isr_2_retrying_and_losing_nothing() -> None:
    slug = "acks-all-min-isr-2"
    topic = simcore.builtin_scenario(slug).topics[0]
    assert (topic.min_insync_replicas, topic.unclean_leader_election) == (2, False)
    assert_ledger(
        slug, sent=20, acked=20, failed=0, in_log=20, lost_acked=0, log_duplicates=0, out_of_order=0
    )
    assert log_order(slug) == ids(0, 19)
    ((shrunk_at, shrink),) = events(slug, "isr_shrink")
    assert shrink["isr"] == [0]
    errors = [(t, f["error"]) for t, f in events(slug, "produce_error")]
    assert {e for _, e in errors} == {AFTER_APPEND, NOT_ENOUGH_REPLICAS}
    assert all(t > shrunk_at for t, _ in errors)
    assert sum(e == AFTER_APPEND for _, e in errors) == 5, "#5..#9 were appended, not acked"
    # No acknowledgement while the ISR is below the minimum; offline rather than unclean.
    ((offline_at, _),) = events(slug, "partition_offline")
    ((elected_at, elected),) = events(slug, "leader_elected")
    assert (elected["leader"], elected["epoch"], elected["unclean"]) == (0, 2, False)
    assert offline_at < elected_at
    assert not [t for t, _ in events(slug, "ack") if shrunk_at <= t <= elected_at]
    # The retried batches that were already in the log are recognised, not written again.
    assert [f["seq"] for _, f in events(slug, "dedup")] == [5, 6, 7, 8, 9]
    assert events(slug, "truncate") == []


# --- retries, idempotence, ordering -------------------------------------------------------------


def test_it_shows_retries_without_idempotence_duplicating_and_reordering() -> None:
    slug = "retries-duplicates-reordering"
    spec = simcore.builtin_scenario(slug).producers[0]
    assert (spec.enable_idempotence, spec.max_in_flight) == (False, 5)
    assert_ledger(
        slug, sent=12, acked=12, failed=0, in_log=12, lost_acked=0, log_duplicates=1, out_of_order=1
    )
    assert counts(slug)["partitions"]["0"] == {"in_log": 13, "out_of_order": 1}
    assert log_order(slug) == [*ids(0, 2), "p1#4", "p1#3", "p1#0", *ids(5, 11)]
    errors = [(f["first"], f["error"]) for _, f in events(slug, "produce_error")]
    assert errors == [(0, AFTER_APPEND), (3, NOT_ENOUGH_REPLICAS)]
    assert events(slug, "dedup") == []
    assert most_in_flight(slug) == 5


def test_it_shows_max_in_flight_1_keeping_order_but_not_preventing_the_duplicate() -> None:
    slug = "retries-max-in-flight-1"
    spec = simcore.builtin_scenario(slug).producers[0]
    assert (spec.enable_idempotence, spec.max_in_flight) == (False, 1)
    assert_ledger(
        slug, sent=12, acked=12, failed=0, in_log=12, lost_acked=0, log_duplicates=1, out_of_order=0
    )
    assert counts(slug)["partitions"]["0"] == {"in_log": 13, "out_of_order": 0}
    assert log_order(slug) == ["p1#0", *ids(0, 11)]
    errors = [(f["first"], f["error"]) for _, f in events(slug, "produce_error")]
    assert errors == [(0, AFTER_APPEND), (0, NOT_ENOUGH_REPLICAS)]
    assert most_in_flight(slug) == 1
    last_ack = max(t for t, _ in events(slug, "ack"))
    assert last_ack > max(t for t, _ in events("retries-duplicates-reordering", "ack"))


def test_it_shows_the_idempotent_producer_deduplicating_and_keeping_order() -> None:
    slug = "idempotent-producer"
    spec = simcore.builtin_scenario(slug).producers[0]
    assert (spec.enable_idempotence, spec.max_in_flight) == (True, 5)
    assert_ledger(
        slug, sent=12, acked=12, failed=0, in_log=12, lost_acked=0, log_duplicates=0, out_of_order=0
    )
    assert counts(slug)["partitions"]["0"] == {"in_log": 12, "out_of_order": 0}
    assert log_order(slug) == ids(0, 11)
    assert most_in_flight(slug) == 5
    errors = [(f["first"], f["error"]) for _, f in events(slug, "produce_error")]
    assert errors == [
        (0, AFTER_APPEND),
        (3, NOT_ENOUGH_REPLICAS),
        (4, "OUT_OF_ORDER_SEQUENCE_NUMBER"),
    ]
    ((_, dedup),) = events(slug, "dedup")
    assert (dedup["seq"], dedup["base"]) == (0, 0)
    acked_at = {f["first"]: f["base"] for _, f in events(slug, "ack")}
    assert acked_at[0] == 0, "the retry is answered with the original offset"


# --- keys -------------------------------------------------------------------------------------


def test_it_shows_a_key_always_landing_on_one_partition_per_partitioner() -> None:
    slug = "keys-same-partition"
    topic = counts(slug, "clicks")
    assert topic["sent"] == topic["acked"] == topic["in_log"] == 28
    assert topic["lost_acked"] == topic["log_duplicates"] == 0
    per_partition = {int(p): v["in_log"] for p, v in topic["partitions"].items()}
    assert per_partition == dict(enumerate([4, 0, 8, 8, 0, 8]))
    scenario = simcore.builtin_scenario(slug)
    placed: dict[str, set[int]] = {}
    for row in run(slug).messages() or []:
        placed.setdefault(row["producer"], set()).add(row["partition"])
        assert len(row["offsets"]) == 1
    java: dict[str, int] = {}
    rdkafka: dict[str, int] = {}
    for spec in scenario.producers:
        assert spec.key is not None
        assert "{" not in spec.key
        (partition,) = placed[spec.id]  # every record of the key on one partition
        key = spec.key.encode()
        if spec.client == "java":
            assert partition == partition_for_key(key, 6)
            java[spec.key] = partition
        elif spec.partitioner == "consistent_random":
            assert partition == librdkafka_partition("consistent_random", key, 6)
            rdkafka[spec.key] = partition
        else:
            assert spec.partitioner == "murmur2_random"
            assert partition == partition_for_key(key, 6)
    assert java == {"alice": 3, "bob": 0, "carol": 2}
    assert rdkafka == {"alice": 5, "bob": 2, "carol": 5}
    assert all(java[key] != rdkafka[key] for key in java)


# --- the ISR ----------------------------------------------------------------------------------


def test_it_shows_a_slow_follower_leaving_the_isr_speeding_acks_up_and_rejoining() -> None:
    slug = "slow-follower-leaves-isr"
    assert_ledger(slug, sent=40, acked=40, failed=0, in_log=40, lost_acked=0, log_duplicates=0)
    assert events(slug, "produce_error") == []
    slow = [t for t, f in events(slug, "follower_slow") if f["delay_ms"]]
    normal = [t for t, f in events(slug, "follower_slow") if not f["delay_ms"]]
    ((shrunk_at, shrink),) = events(slug, "isr_shrink")
    assert (shrink["removed"], shrink["isr"]) == ([2], [0, 1])
    ((expanded_at, expand),) = events(slug, "isr_expand")
    assert (expand["follower"], expand["isr"]) == (2, [0, 1, 2])
    assert slow[0] < shrunk_at < normal[0] < expanded_at
    latencies = ack_latencies(slug)
    before = [ms for sent, ms in latencies if sent < slow[0]]
    stalled = [ms for sent, ms in latencies if slow[0] <= sent < shrunk_at]
    after = [ms for sent, ms in latencies if sent > shrunk_at]
    assert before
    assert stalled
    assert after
    assert max(before) <= 5
    assert min(stalled) >= 500, "a slow follower inside the ISR holds acks=all back"
    assert max(after) <= 5, "the smaller ISR acknowledges faster"
