"""What the worker reads off a Result for the panels (playground.derived)."""

from __future__ import annotations

import pytest

from playground import derived, runner
from playground.jobs import MAX_FRAMES
from simcore import builtin_scenario, simulate


@pytest.fixture(scope="module")
def reordering():  # type: ignore[no-untyped-def]
    return simulate(builtin_scenario("retries-duplicates-reordering"))


def test_log_order_marks_what_the_ledger_counts(reordering) -> None:  # type: ignore[no-untyped-def]
    parts = derived.log_order(reordering.messages())
    assert parts is not None
    ledger = reordering.summary()["ledger"]["topics"]["orders"]
    assert sum(p["out_of_order"] for p in parts) == ledger["out_of_order"] == 1
    marks = [r["mark"] for p in parts for r in p["records"]]
    assert marks.count("duplicate") == ledger["log_duplicates"]
    records = parts[0]["records"]
    assert [r["offset"] for r in records] == list(range(len(records)))


def test_produce_counts_grow_frame_by_frame(reordering) -> None:  # type: ignore[no-untyped-def]
    snapshots = reordering.frame_snapshot_indexes(MAX_FRAMES)
    counts = derived.produce_counts(reordering, snapshots)
    assert len(counts) == len(reordering.frames(max_frames=MAX_FRAMES))
    assert counts[0]["p1"]["sends"] == 0
    last = counts[-1]["p1"]
    assert last["retries"] == 2
    assert last["errors"] == {"NOT_ENOUGH_REPLICAS_AFTER_APPEND": 1, "NOT_ENOUGH_REPLICAS": 1}
    sends = [c["p1"]["sends"] for c in counts]
    assert sends == sorted(sends)
    # the counters the snapshots carry agree with the itemised timeline of a small run
    kinds = [kind for _t, kind, actor, _f in reordering.events if actor == "p1"]
    assert (last["sends"], last["acks"]) == (kinds.count("send"), kinds.count("ack"))


def test_metrics_per_frame_are_result_metrics_at_each_frames_snapshot(reordering) -> None:  # type: ignore[no-untyped-def]
    snapshots = reordering.frame_snapshot_indexes(MAX_FRAMES)
    keys, values = derived.metrics_per_frame(reordering, snapshots)
    assert len(values) == len(snapshots)
    at_end = {item["name"]: item["value"] for item in reordering.metrics(snapshots[-1])}
    assert {k["name"]: v for k, v in zip(keys, values[-1], strict=True)} == at_end


def test_lost_messages_carry_their_ack_time_and_offset() -> None:
    result = simulate(builtin_scenario("acks-1-leader-dies"))
    lost = derived.lost_messages(result, result.messages())
    assert [m["id"] for m in lost] == [f"p1#{i}" for i in range(5)]
    assert [m["offset"] for m in lost] == [0, 1, 2, 3, 4]
    assert all(m["acked_ms"] < 55 for m in lost)  # before broker-0 died at 55 ms


def test_acks_0_losses_have_no_offset() -> None:
    result = simulate(builtin_scenario("acks-0-fire-and-forget"))
    lost = derived.lost_messages(result, result.messages())
    assert lost
    assert {m["offset"] for m in lost} == {None}


def test_nothing_per_message_for_a_run_too_big_to_list() -> None:
    assert derived.log_order(None) is None
    assert derived.lost_messages(simulate(builtin_scenario("acks-0-fire-and-forget")), None) == []


def test_each_frame_sent_carries_the_snapshot_its_metrics_come_from() -> None:
    result = simulate(builtin_scenario("basic-lag"))
    frames = runner.run(builtin_scenario("basic-lag"))["frames"]
    assert [f["snapshot"] for f in frames] == result.frame_snapshot_indexes(MAX_FRAMES)


def test_records_never_processed_are_told_apart_as_the_ledger_counts_them() -> None:
    for name in ("basic-lag", "librdkafka-auto-commit"):
        run = runner.run(builtin_scenario(name))
        group = run["summary"]["ledger"]["groups"]["billing"]
        outcomes = [m["outcome"] for m in run["messages"]]
        assert outcomes.count(derived.UNREAD) == group["unread"], name
        assert outcomes.count(derived.NEVER_PROCESSED) == group["skipped"], name
    assert group["skipped"] == 1  # librdkafka's timer committed past a record in progress


def test_the_narratives_injected_mark_is_left_to_the_page() -> None:
    frames = [{"events": [{"text": "p1 now produces 20 records/s (injected)", "injected": True}]}]
    assert derived.strip_injected_suffix(frames)[0]["events"][0]["text"] == (
        "p1 now produces 20 records/s"
    )
