"""The processing-failure chapter's built-ins (issue 15): what each promises a learner.

Each test pins the outcome its description states: where the poison pill stops the
group, what reaches the dead-letter topic and when, the key order retry topics break,
and what each sink holds after the same crash.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import simcore
from simcore.report import playback


@cache
def run(slug: str) -> simcore.Result:
    return simcore.simulate(simcore.builtin_scenario(slug), check_invariants=True)


def events(slug: str, kind: str) -> list[dict[str, Any]]:
    result = run(slug)
    return [result.event_dict(i) for i, e in enumerate(result.events) if e[1] == kind]


def processing(slug: str, app: str) -> dict[str, Any]:
    return run(slug).summary()["processing"][app]


def test_a_poison_pill_without_a_dlt_stops_its_partition_then_the_whole_group():
    failures = events("poison-pill-no-dlq", "process_failed")
    assert {(e["part"], e["offset"]) for e in failures} == {("orders-1", 10)}
    assert failures[0]["actor"] == "c2" and failures[0]["t"] == 6560
    assert all(e["then"] == "retry" for e in failures)  # never given up on
    timeouts = events("poison-pill-no-dlq", "poll_timeout")
    assert [(e["actor"], e["t"]) for e in timeouts] == [("c2", 16106), ("c1", 28163)]
    out = processing("poison-pill-no-dlq", "billing")
    assert out["inputs"] == {
        "total": 80,
        "succeeded": 45,
        "dead_lettered": 0,
        "skipped": 0,
        "pending": 35,
    }
    assert out["failed_attempts"] == out["retries_in_place"] == 53
    ledger = run("poison-pill-no-dlq").summary()["ledger"]["groups"]["billing"]
    # c1 replays what c2 processed but never committed before the pill
    assert (ledger["processed_multiple"], ledger["unread"]) == (10, 35)
    assert run("poison-pill-no-dlq").summary()["consumer_groups"]["billing"]["state"] == "Empty"


def test_a_dead_letter_topic_takes_what_fails_three_times_and_the_partition_moves_on():
    failures = events("dead-letter-after-3-attempts", "process_failed")
    first = [e for e in failures if (e["part"], e["offset"]) == ("orders-1", 10)]
    assert [(e["t"], e["attempt"], e["then"]) for e in first] == [
        (4068, 1, "retry"),
        (5118, 2, "retry"),
        (6168, 3, "dead_letter"),
    ]
    transient = [e for e in failures if (e["part"], e["offset"]) == ("orders-1", 15)]
    assert [e["then"] for e in transient] == ["retry", "retry"]  # the third attempt works
    dead = events("dead-letter-after-3-attempts", "republished")
    assert [(e["part"], e["offset"], e["to"], e["t"]) for e in dead] == [
        ("orders-1", 10, "orders.DLT-1", 6170),  # the same partition number
        ("orders-0", 18, "orders.DLT-0", 11130),
    ]
    out = processing("dead-letter-after-3-attempts", "billing")
    assert out["inputs"]["succeeded"] == 58 and out["inputs"]["dead_lettered"] == 2
    assert out["inputs"]["pending"] == 0  # liveness: processed or dead-lettered, each
    assert (out["sink"]["rows"], out["sink"]["never_applied"]) == (58, 2)
    dlt = run("dead-letter-after-3-attempts").summary()["ledger"]["topics"]["orders.DLT"]
    assert (dlt["sent"], dlt["acked"], dlt["in_log"]) == (2, 2, 2)
    rows = {m["id"]: m for m in run("dead-letter-after-3-attempts").messages() or []}
    assert rows["c1-pub#0"]["origin"] == "p1#20" and rows["c1-pub#0"]["key"] == "order-20"


def test_the_dead_letter_topic_has_lag_until_someone_reads_it():
    result = run("dead-letter-after-3-attempts")

    def dlt_lag(t: int) -> list[tuple[int, int | None, int]]:
        snaps = result.sim.recorder.snapshots
        snap = snaps[max(i for i, s in enumerate(snaps) if s.t <= t)]
        rows = playback.group_rows(result, snap)
        return [(r["partition"], r["lag"], r["records_lag"]) for r in rows if r["group"] ==
                "dlt-inspector"]  # fmt: skip

    assert dlt_lag(7_000) == [(0, None, 0), (1, None, 0)]  # orders.DLT-1's record in hand
    # the second waits in memory (HW 1, position 0), and no lag shows it: nothing committed
    # (the tool: no LAG), and the client counts to the HW of an answer it handed out
    assert dlt_lag(12_000) == [(0, None, 0), (1, None, 0)]
    snaps = result.sim.recorder.snapshots
    at_12 = snaps[max(i for i, s in enumerate(snaps) if s.t <= 12_000)]
    rec = result.sim.recorder
    (k,) = [k for k, (g, part) in enumerate(rec.group_rows)
            if g == "dlt-inspector" and part.tp == ("orders.DLT", 0)]  # fmt: skip
    assert (at_12.parts[rec.group_row_parts[k]].hw, at_12.groups[k].position) == (1, 0)
    assert dlt_lag(23_000) == [(0, 0, 0), (1, 0, 0)]  # both looked at and committed


def test_retry_topics_keep_the_partition_moving_and_reorder_the_key():
    result = run("retry-topics-reorder-a-key")
    sink = result.sim.processing.apps["ledger"].sink  # type: ignore[union-attr]
    assert sink is not None
    assert [offset for _key, (_t, _p, offset) in sink.order] == [0, 2, 4, 5, 1]
    out = processing("retry-topics-reorder-a-key", "ledger")
    assert out["sink"]["key_order_violations"] == 1
    assert out["forwarded_to_retry_topics"] == {
        "payments-retry-1000": 2,
        "payments-retry-5000": 1,
    }
    assert out["inputs"] == {
        "total": 6,
        "succeeded": 5,
        "dead_lettered": 1,
        "skipped": 0,
        "pending": 0,
    }
    hops = [
        (e["actor"], e["to"], e["t"]) for e in events("retry-topics-reorder-a-key", "republished")
    ]
    assert hops == [
        ("c1", "payments-retry-1000-0", 3052),
        ("c1", "payments-retry-1000-0", 3094),
        # #3 is due at 4092; the fetch after the resume waits for the long poll the
        # listener had out to that broker (one fetch per broker: AbstractFetch
        # .prepareFetchRequests), answered empty at fetch.max.wait.ms
        ("c1-retry-1000", "payments-retry-5000-0", 4578),
        ("c1-retry-5000", "payments-dlt-0", 9600),
    ]
    # the retry listener pauses its partition until the back-off is over — #1 failed at
    # 3050, is due at 4050 — and polls on meanwhile (no max.poll.interval.ms risk)
    pauses = [(e["actor"], e["offset"], e["until"]) for e in events(
        "retry-topics-reorder-a-key", "backoff_pause")]  # fmt: skip
    assert pauses[0] == ("c1-retry-1000", 0, 4050)
    resumed = events("retry-topics-reorder-a-key", "backoff_resume")
    assert resumed[0]["t"] == 4050
    retried = [e for e in events("retry-topics-reorder-a-key", "processed")
               if e["actor"] == "c1-retry-1000"]  # fmt: skip
    assert retried[0]["t"] == 4072  # a fetch round trip, then 20 ms of processing
    listener = run("retry-topics-reorder-a-key").sim.consumers[-1]
    assert listener.id == "c1-retry-5000" and listener.paused == set()


def test_after_the_same_crash_the_naive_sink_has_duplicates_and_the_idempotent_one_not():
    naive = processing("idempotent-sink-vs-naive-sink", "sink-naive")["sink"]
    idem = processing("idempotent-sink-vs-naive-sink", "sink-idempotent")["sink"]
    assert (naive["writes"], naive["rows"], naive["applied_twice_or_more"]) == (33, 33, 13)
    assert (idem["writes"], idem["rows"], idem["applied_twice_or_more"]) == (33, 20, 0)
    assert idem["dedup_hits"] == 13 and idem["applied_once"] == 20
    groups = run("idempotent-sink-vs-naive-sink").summary()["ledger"]["groups"]
    # Kafka's view is the same for both: the redelivery is not the sink's choice
    assert (
        groups["sink-naive"]["processed_multiple"]
        == groups["sink-idempotent"]["processed_multiple"]
        == 13
    )
    writes = events("idempotent-sink-vs-naive-sink", "sink_write")
    assert {e["actor"]: e["applied"] for e in writes} == {"naive": True, "idem": False}


def test_the_questions_are_answered_by_the_runs() -> None:
    answers = {
        (slug, a["id"]): a["answer"]
        for slug in ("idempotent-sink-vs-naive-sink", "dead-letter-after-3-attempts")
        for a in run(slug).summary()["questions"]
    }
    assert answers == {
        ("idempotent-sink-vs-naive-sink", "naive-rows"): 33,
        ("idempotent-sink-vs-naive-sink", "idempotent-rows"): 20,
        ("dead-letter-after-3-attempts", "dead-letters"): 2,
        ("dead-letter-after-3-attempts", "attempts"): 8,
    }


def test_the_markdown_summary_tells_each_inputs_end_and_the_sinks_view() -> None:
    from simcore.report.export import markdown_summary

    result = run("idempotent-sink-vs-naive-sink")
    text = markdown_summary(result.scenario, result.summary())
    assert "| sink-naive | retry | 20 | 20 | 0 | 0 | 0 | 33 | 13 | 0 |" in text
    assert "| sink-idempotent | retry | 20 | 20 | 0 | 0 | 0 | 20 | 0 | 0 |" in text
    plain = run_plain("basic-lag")
    assert "application" not in markdown_summary(plain.scenario, plain.summary())


def run_plain(slug: str) -> simcore.Result:
    return simcore.simulate(simcore.builtin_scenario(slug))
