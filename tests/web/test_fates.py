"""Each record's fate over time (playground/fates.py) and the captions (captions.py)."""

from __future__ import annotations

from typing import Any

import pytest

from playground import captions, derived, fates
from simcore import Result, builtin_scenario, builtin_scenarios, simulate


def _fates(name: str) -> tuple[Result, dict[str, Any]]:
    result = simulate(builtin_scenario(name))
    lost = derived.lost_messages(result, derived.unread_outcomes(result))
    out = fates.record_fates(result, {m["id"] for m in lost})
    assert out is not None
    return result, out


@pytest.mark.parametrize("name", [name for name, _ in builtin_scenarios()])
def test_it_ends_with_the_final_log_of_every_small_built_in(name: str) -> None:
    result = simulate(builtin_scenario(name))
    messages = result.messages()
    out = fates.record_fates(result, set())
    if messages is None:
        assert out is None
        return
    assert out is not None
    final = {(f"{m['topic']}-{m['partition']}", o): m["id"] for m in messages for o in m["offsets"]}
    starts = {
        p["topic"] + "-" + str(p["partition"]): p["log_start"]
        for p in result.frames()[-1]["partitions"]
    }
    still = {
        (name, e[0]): e[1]
        for name, part in out["partitions"].items()
        for e in part["entries"]
        if e[3] is None and e[0] >= starts[name]  # below the log start: expired
    }
    assert still == final


def test_the_record_in_progress_when_c1_crashes_is_held_until_the_crash() -> None:
    _result, out = _fates("librdkafka-auto-commit")
    part = out["partitions"]["orders-0"]
    assert [e[:2] for e in part["entries"]] == [[0, "p1#0"], [1, "p1#1"], [2, "p1#2"]]
    assert part["held"][0] == [0, "c1", 3010, 5500]  # polled, then the crash
    assert all(entry != 0 for entry, _group, _t in part["done"])  # never processed


def test_acknowledged_records_leave_the_log_at_the_election() -> None:
    _result, out = _fates("acks-1-leader-dies")
    entries = out["partitions"]["orders-0"]["entries"]
    lost = [e for e in entries if e[5]]
    assert [e[1] for e in lost] == [f"p1#{k}" for k in range(5)]
    assert {e[3] for e in lost} == {9055}  # broker-1 elected without them
    assert all(e[4] is not None and e[4] < 55 for e in lost)  # acked before the leader died
    assert [e[1] for e in entries if e[3] is None] == [f"p1#{k}" for k in range(5, 10)]


def test_a_reset_to_latest_is_a_skip_mark() -> None:
    _result, out = _fates("offset-reset-latest")
    assert out["skips"] == {"analytics": {"orders-0": [[5008, 5]]}}


def test_captions_tell_the_commit_ahead_the_crash_and_the_loss() -> None:
    result, out = _fates("librdkafka-auto-commit")
    said = {(c["t"], c["kind"]): c["text"] for c in captions.captions(result, out)}
    assert "while c1 is still processing offset 0" in said[(5001, "commit-ahead")]
    assert "lost to billing" in said[(5500, "crash")]


def test_captions_tell_the_election_that_loses_acknowledged_records() -> None:
    result, out = _fates("acks-1-leader-dies")
    [election] = [c for c in captions.captions(result, out) if c["kind"] == "election"]
    assert election["t"] == 9055
    assert "5 acknowledged records leave the log" in election["text"]


def test_captions_tell_a_reset_that_skips_and_retention_that_deletes_unread() -> None:
    result, out = _fates("offset-reset-latest")
    kinds = [c["kind"] for c in captions.captions(result, out)]
    assert "reset" in kinds
    result, out = _fates("retention-deletes-unread")
    [expiry] = [c for c in captions.captions(result, out) if c["kind"] == "expiry"]
    assert "expire before it reads them" in expiry["text"]


def test_expired_records_are_told_as_expired_not_lost() -> None:
    result, out = _fates("retention-deletes-unread")
    messages = derived.expired_outcomes(derived.unread_outcomes(result), out)
    assert messages is not None
    outcomes = {m["outcome"] for m in messages}
    assert derived.EXPIRED in outcomes
    assert derived.LOST_ACKED not in outcomes
    assert derived.lost_messages(result, messages) == []


def test_a_rebalance_caption_knows_when_its_rebalance_ended() -> None:
    # the caption stays on the stage until the next one: without its end it said "until it
    # ends, the partitions it moves are not processed" at the end of the run
    result, out = _fates("cooperative-scale-out")
    told = [
        (c["t"], c["group"], c["until"])
        for c in captions.captions(result, out)
        if c["kind"] == "rebalance"
    ]
    history = result.consumer_groups()["billing"]["rebalances"]["list"]
    assert told == [(r["start_ms"], "billing", r["end_ms"]) for r in history]
    assert len(told) == 3
