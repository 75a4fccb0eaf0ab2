"""The built-in scenario library (simcore/scenario/library/): what each one shows a learner.

Each test pins the outcome the scenario's description promises: the ledger counts, the
message ids lost or duplicated, the `kafka-consumer-groups.sh --describe` row, the errors,
and for the key ones the moment in the event log that carries the lesson, including the
group protocol's timing (the new group's initial rebalance delay, a restarted consumer
waiting for its crashed self's session to expire). Digests are not pinned (they change
with engine work); determinism is.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest

import simcore
from simcore.scenario.builtins import SCENARIO_DIR

HEADINGS = (
    "What to watch",
    "What it teaches",
    "When to use this setting",
    "Pros and cons",
    "Where real Kafka differs from the popular story",
)

GALLERY = [
    "java-auto-commit",
    "librdkafka-auto-commit",
    "librdkafka-store-after-processing",
    "commit-sync-per-record",
    "commit-async-failed",
    "commit-async-retry-overwrite",
    "offset-reset-earliest",
    "offset-reset-latest",
    "offset-reset-none",
    "basic-lag",
]

SLUGS = [slug for slug, _ in simcore.builtin_scenarios()]
COUNTS = ("processed_once", "processed_never", "processed_multiple", "processing_total")
INITIAL_REBALANCE_DELAY_MS = 3000  # the broker's group.initial.rebalance.delay.ms default


@cache
def run(slug: str) -> simcore.Result:
    return simcore.simulate(simcore.builtin_scenario(slug))


def assert_group(slug: str, *, once: int, never: int, multiple: int, total: int) -> None:
    """The ledger of the scenario's only group: processed once / never / more than once."""
    groups = run(slug).summary()["ledger"]["groups"]
    assert len(groups) == 1
    counts = next(iter(groups.values()))
    assert {k: counts[k] for k in COUNTS} == {
        "processed_once": once,
        "processed_never": never,
        "processed_multiple": multiple,
        "processing_total": total,
    }


def topic_counts(slug: str) -> dict[str, int]:
    return run(slug).summary()["ledger"]["topics"]["orders"]


def ids_processed(slug: str, times: int) -> list[str]:
    """Message ids the (only) group processed exactly `times` times (2 = twice or more)."""
    out = []
    for row in run(slug).messages() or []:
        count = next(iter(row["processed"].values()))
        if count == times or (times == 2 and count > 2):
            out.append(row["id"])
    return out


def describe_row(slug: str) -> dict[str, Any]:
    rows = run(slug).groups_table()
    assert len(rows) == 1
    row = rows[0]
    return {
        k: row[k]
        for k in ("GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG")
    }


def events(slug: str, kind: str) -> list[tuple[int, dict[str, Any]]]:
    return [(t, fields) for t, k, _actor, fields in run(slug).events if k == kind]


def offset_of(offsets: list[list[object]]) -> int:
    """[["orders-0", 3]] -> 3 (single-partition scenarios)."""
    ((_part, offset),) = offsets
    assert isinstance(offset, int)
    return offset


def assert_restart_waits_for_the_crashed_member(slug: str, session_timeout_ms: int) -> int:
    """The crashed consumer never left the group: the restarted one (a new member) gets its
    partition only when the old member's session expires. Returns the expiry time."""
    ((crash_at, _),) = events(slug, "crash")
    ((restart_at, _),) = events(slug, "restart")
    ((expired_at, expired),) = events(slug, "member_expired")
    assert expired["session_timeout_ms"] == session_timeout_ms
    assert crash_at < restart_at < expired_at <= crash_at + session_timeout_ms
    # Its join opened a rebalance at once, which completes only when the old member is gone.
    rebalance_starts = [t for t, _ in events(slug, "rebalance_start")]
    assert len(rebalance_starts) == 2
    assert restart_at < rebalance_starts[1] < expired_at
    generations = events(slug, "generation")
    assert [f["generation"] for _, f in generations] == [1, 2]
    assert generations[1][0] == expired_at
    assert generations[1][1]["members"] == ["c1"]
    assigned = [t for t, _ in events(slug, "assigned")]
    assert len(assigned) == 2
    assert assigned[1] > expired_at
    # Meanwhile nobody works on the partition.
    assert [t for t, _ in events(slug, "processed") if crash_at < t < expired_at] == []
    assert [t for t, _ in events(slug, "poll") if crash_at < t < expired_at] == []
    return expired_at


def assert_first_rebalance_waits_the_initial_delay(slug: str) -> None:
    ((start_at, _), *_) = events(slug, "rebalance_start")
    ((generation_at, _), *_) = events(slug, "generation")
    assert generation_at - start_at == INITIAL_REBALANCE_DELAY_MS


def assert_nothing_lost_from_topic(slug: str, sent: int) -> None:
    topic = topic_counts(slug)
    assert topic["sent"] == topic["acked"] == topic["in_log"] == sent
    assert topic["lost_acked"] == topic["log_duplicates"] == topic["failed"] == 0


# --- the library as a whole -----------------------------------------------------------------


def test_it_lists_the_chapter_in_gallery_order() -> None:
    assert SLUGS[: len(GALLERY)] == GALLERY  # later chapters follow
    numbers = [int(path.name[:2]) for path in sorted(SCENARIO_DIR.glob("*.yaml"))]
    assert numbers[: len(GALLERY)] == list(range(1, len(GALLERY) + 1))
    assert numbers == sorted(set(numbers))  # chapters may leave gaps, never reuse a number


@pytest.mark.parametrize("slug", SLUGS)
def test_it_runs_every_builtin_with_invariants_checked(slug: str) -> None:
    result = simcore.simulate(simcore.builtin_scenario(slug), check_invariants=True)
    assert result.events
    assert result.scenario.duration_ms <= 120_000  # a short story, quick to replay


@pytest.mark.parametrize("slug", SLUGS)
def test_it_explains_every_builtin_under_the_five_headings(slug: str) -> None:
    scenario = simcore.builtin_scenario(slug)
    assert scenario.name.strip()
    lines = scenario.description.splitlines()
    headings = [line.lstrip("#").strip() for line in lines if line.startswith("#")]
    assert headings == list(HEADINGS)
    assert lines[0].strip(), "starts with a summary paragraph"
    assert not lines[0].startswith("#"), "starts with a summary paragraph"


@pytest.mark.parametrize("slug", SLUGS)
def test_it_simulates_each_builtin_deterministically(slug: str) -> None:
    scenario = simcore.builtin_scenario(slug)
    first = simcore.simulate(scenario).summary()
    second = simcore.simulate(scenario).summary()
    assert first["digest"] == second["digest"]
    assert first == second
    checked = simcore.simulate(scenario, check_invariants=True).summary()
    assert checked["digest"] == first["digest"], "invariant checks change nothing"


def test_it_gives_the_same_digests_in_a_process_with_another_hash_seed() -> None:
    code = (
        "import json, simcore\n"
        "print(json.dumps({s: simcore.simulate(sc).summary()['digest']"
        " for s, sc in simcore.builtin_scenarios()}))\n"
    )
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=root, env=env, check=True, capture_output=True, text=True
    ).stdout
    assert json.loads(out) == {slug: run(slug).summary()["digest"] for slug in SLUGS}


# --- offset commits ---------------------------------------------------------------------------


def test_it_shows_java_auto_commit_replaying_without_loss() -> None:
    slug = "java-auto-commit"
    assert_nothing_lost_from_topic(slug, 3)
    assert_group(slug, once=1, never=0, multiple=2, total=5)
    assert ids_processed(slug, 2) == ["p1#0", "p1#1"]
    assert ids_processed(slug, 0) == []
    assert run(slug).errors == []
    assert_first_rebalance_waits_the_initial_delay(slug)
    # The lesson: the interval elapsed at 5 s, but Java commits only inside poll(), and
    # the application was still processing its first batch when it crashed at 8.5 s.
    ((crash_at, _),) = events(slug, "crash")
    ((poll_at, _), *_) = events(slug, "poll")
    assert poll_at < 5000 < crash_at
    commits = events(slug, "commit_stored")
    assert commits
    assert all(t > crash_at for t, _ in commits)
    # The restart waits for the crashed member's 45 s session. The assignment restarts
    # the auto-commit timer (onJoinComplete), so the first poll() commits nothing; the
    # poll after the replayed batch, past the interval, commits 3: the only commit.
    expired_at = assert_restart_waits_for_the_crashed_member(slug, 45_000)
    assigned_at = events(slug, "assigned")[-1][0]
    assert [f["how"] for _, f in events(slug, "commit_async")] == ["auto-commit"]
    assert [(offset_of(f["offsets"])) for t, f in commits if t > expired_at] == [3]
    assert commits[0][0] >= assigned_at + 5000
    restart_position = events(slug, "position")[1][1]
    assert restart_position["offset"] == 0
    assert "auto.offset.reset=earliest" in restart_position["why"]
    assert describe_row(slug) == {
        "GROUP": "billing",
        "TOPIC": "orders",
        "PARTITION": 0,
        "CURRENT-OFFSET": 3,
        "LOG-END-OFFSET": 3,
        "LAG": 0,
    }


def test_it_shows_librdkafka_auto_commit_losing_the_message_in_progress() -> None:
    slug = "librdkafka-auto-commit"
    assert_nothing_lost_from_topic(slug, 3)
    assert_group(slug, once=2, never=1, multiple=0, total=2)
    assert ids_processed(slug, 0) == ["p1#0"]
    assert ids_processed(slug, 2) == []
    # The timer (running since the consumer started) committed offset 1, covering offset 0,
    # at 5 s, before order #0 finished.
    ((crash_at, _),) = events(slug, "crash")
    before = [
        (t, offset_of(f["offsets"])) for t, f in events(slug, "commit_stored") if t < crash_at
    ]
    assert [offset for _t, offset in before] == [1] and before[0][0] == 5001
    finished = [(f["first"], f["count"]) for t, f in events(slug, "processed") if t <= crash_at]
    assert finished == []
    assert events(slug, "position")[1][1]["offset"] == 1
    assert_restart_waits_for_the_crashed_member(slug, 45_000)
    assert describe_row(slug)["CURRENT-OFFSET"] == 3
    assert describe_row(slug)["LAG"] == 0


def test_it_shows_librdkafka_storing_after_processing_loses_nothing() -> None:
    slug = "librdkafka-store-after-processing"
    assert simcore.builtin_scenario(slug).consumers[0].enable_auto_offset_store is False
    assert_nothing_lost_from_topic(slug, 3)
    assert_group(slug, once=3, never=0, multiple=0, total=3)
    ((crash_at, _),) = events(slug, "crash")
    before = [offset_of(f["offsets"]) for t, f in events(slug, "commit_stored") if t < crash_at]
    assert before == []  # nothing stored yet: the timer had nothing to commit
    assert events(slug, "position")[1][1]["why"] == "auto.offset.reset=earliest"
    # session.timeout.ms 6000 (the broker's minimum) keeps the restart's wait short.
    assert simcore.builtin_scenario(slug).consumers[0].session_timeout_ms == 6000
    assert_restart_waits_for_the_crashed_member(slug, 6000)
    after = [offset_of(f["offsets"]) for t, f in events(slug, "commit_stored") if t > crash_at]
    assert after == [2, 3]
    assert describe_row(slug)["CURRENT-OFFSET"] == 3
    assert describe_row(slug)["LAG"] == 0


def test_it_shows_commit_sync_per_record_replaying_exactly_the_uncommitted_record() -> None:
    slug = "commit-sync-per-record"
    assert_nothing_lost_from_topic(slug, 3)
    assert_group(slug, once=2, never=0, multiple=1, total=4)
    assert ids_processed(slug, 2) == ["p1#1"]
    assert ids_processed(slug, 0) == []
    ((_, crash),) = events(slug, "crash")
    assert crash["where"].startswith("after_process offset 1")
    # Resumes at the committed offset (the next one to read), not committed + 1.
    restart = events(slug, "position")[1][1]
    assert (restart["offset"], restart["why"]) == (1, "committed offset")
    expired_at = assert_restart_waits_for_the_crashed_member(slug, 45_000)
    stored = [(t > expired_at, offset_of(f["offsets"])) for t, f in events(slug, "commit_stored")]
    assert stored == [(False, 1), (True, 2), (True, 3)]
    assert describe_row(slug)["CURRENT-OFFSET"] == 3
    assert run(slug).errors == []


def test_it_shows_a_failed_commit_async_then_a_crash_replaying_records() -> None:
    slug = "commit-async-failed"
    assert_nothing_lost_from_topic(slug, 3)
    assert_group(slug, once=2, never=0, multiple=1, total=4)
    assert ids_processed(slug, 2) == ["p1#1"]
    assert ids_processed(slug, 0) == []
    ((_, failed),) = events(slug, "commit_failed")
    assert (offset_of(failed["offsets"]), failed["how"], failed["retry"]) == (
        2,
        "commitAsync",
        False,
    )
    ((failed_at, _),) = events(slug, "commit_failed")
    ((crash_at, _),) = events(slug, "crash")
    stored = [offset_of(f["offsets"]) for t, f in events(slug, "commit_stored") if t < crash_at]
    assert failed_at < crash_at
    assert stored == [1]
    assert events(slug, "position")[1][1]["offset"] == 1
    assert_restart_waits_for_the_crashed_member(slug, 45_000)
    assert describe_row(slug)["CURRENT-OFFSET"] == 3
    assert run(slug).errors == []


def test_it_shows_a_retried_commit_async_overwriting_a_newer_commit() -> None:
    slug = "commit-async-retry-overwrite"
    assert_nothing_lost_from_topic(slug, 3)
    assert_group(slug, once=1, never=0, multiple=2, total=5)
    assert ids_processed(slug, 2) == ["p1#1", "p1#2"]
    ((crash_at, _),) = events(slug, "crash")
    stored = [offset_of(f["offsets"]) for t, f in events(slug, "commit_stored") if t < crash_at]
    assert stored == [2, 3, 1], "the retried old commit lands after the newer ones"
    retried = [f for _, f in events(slug, "commit_failed") if f["retry"]]
    assert [offset_of(f["offsets"]) for f in retried] == [1]
    # Between the overwrite and the crash the tool reports lag for finished work.
    before_crash = [f for f in run(slug).frames() if f["t"] < crash_at][-1]
    (row,) = before_crash["groups"]
    assert (row["committed"], row["lag"]) == (1, 2)
    assert events(slug, "position")[1][1]["offset"] == 1
    assert_restart_waits_for_the_crashed_member(slug, 45_000)
    assert describe_row(slug)["CURRENT-OFFSET"] == 3


# --- auto.offset.reset -----------------------------------------------------------------------


def test_it_shows_earliest_reading_everything_for_a_new_group() -> None:
    slug = "offset-reset-earliest"
    assert_nothing_lost_from_topic(slug, 7)
    assert_group(slug, once=7, never=0, multiple=0, total=7)
    assert_first_rebalance_waits_the_initial_delay(slug)
    ((_, position),) = events(slug, "position")
    assert (position["offset"], position["why"]) == (0, "auto.offset.reset=earliest")
    # The assignment at about 5 s restarts the auto-commit timer: one commit, 5 s later
    stored = [(t, offset_of(f["offsets"])) for t, f in events(slug, "commit_stored")]
    assert [offset for _, offset in stored] == [7]
    assert stored[0][0] >= events(slug, "assigned")[0][0] + 5000
    assert describe_row(slug) == {
        "GROUP": "analytics",
        "TOPIC": "orders",
        "PARTITION": 0,
        "CURRENT-OFFSET": 7,
        "LOG-END-OFFSET": 7,
        "LAG": 0,
    }


def test_it_shows_latest_starting_at_the_high_watermark_and_skipping_older_records() -> None:
    slug = "offset-reset-latest"
    assert_nothing_lost_from_topic(slug, 7)
    assert_group(slug, once=2, never=5, multiple=0, total=2)
    assert ids_processed(slug, 0) == [f"p1#{i}" for i in range(5)]
    assert ids_processed(slug, 1) == ["p2#0", "p2#1"]
    ((position_at, position),) = events(slug, "position")
    assert (position["offset"], position["why"]) == (5, "auto.offset.reset=latest")
    hw_then = max(f["hw"] for t, f in events(slug, "hw") if t <= position_at)
    assert position["offset"] == hw_then
    # The reset happens after the group's first rebalance, seconds after the start.
    assert_first_rebalance_waits_the_initial_delay(slug)
    ((start_at, _),) = events(slug, "start")
    assert position_at - start_at > INITIAL_REBALANCE_DELAY_MS
    assert max(t for t, _ in events(slug, "send")) > position_at
    # nothing is committed until 5 s after the assignment (onJoinComplete's timer reset)
    stored = [(t, offset_of(f["offsets"])) for t, f in events(slug, "commit_stored")]
    assert [offset for _, offset in stored] == [7]
    assert stored[0][0] >= position_at + 5000 - 2
    assert describe_row(slug) == {
        "GROUP": "analytics",
        "TOPIC": "orders",
        "PARTITION": 0,
        "CURRENT-OFFSET": 7,
        "LOG-END-OFFSET": 7,
        "LAG": 0,
    }


def test_it_shows_none_failing_with_no_offset_for_partition() -> None:
    slug = "offset-reset-none"
    assert_nothing_lost_from_topic(slug, 7)
    assert_group(slug, once=0, never=7, multiple=0, total=0)
    (error,) = run(slug).errors
    assert error.startswith("c1: NoOffsetForPartitionException")
    assert run(slug).summary()["errors"] == [error]
    assert events(slug, "position") == []
    ((failed_at, _),) = events(slug, "consumer_failed")
    ((assigned_at, _),) = events(slug, "assigned")
    assert assigned_at < failed_at
    assert events(slug, "commit_stored") == []
    assert all(row["CURRENT-OFFSET"] == "-" for row in run(slug).groups_table())


# --- lag ---------------------------------------------------------------------------------------


def test_it_shows_the_curriculum_lag_example() -> None:
    slug = "basic-lag"
    assert_nothing_lost_from_topic(slug, 7)
    assert_group(slug, once=3, never=4, multiple=0, total=3)
    assert ids_processed(slug, 1) == ["p1#0", "p1#1", "p1#2"]
    assert ids_processed(slug, 0) == ["p1#3", "p1#4", "p2#0", "p2#1"]
    assert describe_row(slug) == {
        "GROUP": "billing",
        "TOPIC": "orders",
        "PARTITION": 0,
        "CURRENT-OFFSET": 3,
        "LOG-END-OFFSET": 7,
        "LAG": 4,
    }
    assert events(slug, "restart") == []
    assert run(slug).errors == []


def test_it_shows_both_lag_definitions_while_the_consumer_works() -> None:
    # Tool lag = HW - committed; the client's records-lag = HW - position.
    frames = run("basic-lag").frames()
    working = [
        row
        for f in frames
        for row in f["groups"]
        if row["committed"] == 1 and row["consumer"] == "c1"
    ]
    assert working
    assert {(row["position"], row["lag"], row["records_lag"]) for row in working} == {(5, 4, 0)}
