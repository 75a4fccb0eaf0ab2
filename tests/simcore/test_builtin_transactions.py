"""The transactions chapter's built-ins (41..44): each description's promise, asserted."""

from __future__ import annotations

from functools import cache
from typing import Any

import simcore


@cache
def run(slug: str) -> simcore.Result:
    return simcore.simulate(dict(simcore.builtin_scenarios())[slug], check_invariants=True)


def events(result: simcore.Result, kind: str) -> list[tuple[int, str, dict[str, Any]]]:
    return [(e[0], e[2], e[3]) for e in result.events if e[1] == kind]


def group(result: simcore.Result, name: str) -> dict[str, int]:
    return result.summary()["ledger"]["groups"][name]


def first_processed(result: simcore.Result, consumer: str) -> dict[int, int]:
    """offset -> when ``consumer`` processed it first."""
    out: dict[int, int] = {}
    for t, actor, f in events(result, "processed"):
        if actor == consumer:
            for k in range(f["count"]):
                out.setdefault(f["first"] + k, t)
    return out


def test_read_committed_skips_the_aborted_transaction() -> None:
    result = run("txn-read-committed-vs-uncommitted")
    summary = result.summary()
    assert group(result, "audit")["processed_once"] == 30
    assert (
        group(result, "books")["processed_once"],
        group(result, "books")["processed_never"],
    ) == (20, 0), "a read_committed group is counted over what it can read"
    part = summary["transactions"]["partitions"]["payments-0"]
    assert (part["markers"], part["aborted_ranges"], part["leo"]) == (3, [[12, 22]], 33)
    markers = [(t, f["offset"], f["marker"]) for t, _a, f in events(result, "txn_marker")]
    assert markers == [(510, 11, "COMMIT"), (1012, 22, "ABORT"), (1514, 32, "COMMIT")]
    books = first_processed(result, "bookkeeper")
    assert not set(books) & set(range(11, 23)) and set(range(11)) <= set(books)
    assert {r["CURRENT-OFFSET"] for r in result.groups_table()} == {33}


def test_a_restarted_instance_fences_its_zombie() -> None:
    result = run("txn-zombie-fencing")
    states = [(t, f["state"], f["epoch"]) for t, _a, f in events(result, "txn_state")]
    assert (2003, "PrepareAbort", 1) in states
    assert [(t, f["epoch"]) for t, a, f in events(result, "txn_init") if a == "instance-b"] == [
        (2106, 2)
    ]
    errors = [(t, a, f["request"], f["error"]) for t, a, f in events(result, "txn_error")]
    assert errors == [
        (2004, "instance-b", "InitProducerId", "CONCURRENT_TRANSACTIONS"),
        (4012, "instance-a", "EndTxn", "PRODUCER_FENCED"),
    ]
    ids = result.summary()["transactions"]["ids"]["payments-app"]
    assert ids["producers"]["instance-a"]["fatal"] == "ProducerFencedException"
    assert (
        group(result, "books")["processed_once"],
        group(result, "books")["processed_never"],
    ) == (51, 0)


def test_an_open_transaction_holds_back_read_committed_readers() -> None:
    result = run("txn-open-transaction-stalls-lso")
    billing, dashboard = first_processed(result, "billing"), first_processed(result, "dashboard")
    assert billing[0] == 10
    assert all(billing[o] == 5011 for o in range(1, 51) if o in billing)
    assert len([o for o in range(1, 51) if o in billing]) == 50
    assert max(dashboard[o] for o in range(1, 51)) < 5011
    assert sum(1 for o in range(1, 51) if dashboard[o] < 4000) > 35
    assert [(t, f["offset"]) for t, _a, f in events(result, "txn_marker")] == [(5006, 51)]


def test_the_timeout_aborts_the_hung_transaction_and_fences_the_producer() -> None:
    result = run("txn-timeout")
    aborts = [
        (t, f["epoch"]) for t, _a, f in events(result, "txn_state") if f["state"] == "PrepareAbort"
    ]
    assert aborts == [(10000, 1)]
    assert [(t, f["offset"], f["marker"]) for t, _a, f in events(result, "txn_marker")] == [
        (1010, 17, "COMMIT"),
        (10001, 72, "ABORT"),
    ]
    errors = [(t, f["error"]) for t, _a, f in events(result, "txn_error")]
    assert errors == [(17012, "PRODUCER_FENCED")]
    books, audit = first_processed(result, "bookkeeper"), first_processed(result, "auditor")
    waiting = [o for o, t in audit.items() if 3000 <= t < 9000]
    assert len(waiting) > 25
    assert all(books[o] >= 10001 for o in waiting if o in books)
    summary = result.summary()["transactions"]
    assert summary["ids"]["payments-app"]["timed_out"] == 1
    assert summary["partitions"]["payments-0"]["aborted_records"] == 10


def test_the_exactly_once_pipeline_writes_each_invoice_once_despite_the_crash() -> None:
    result = run("eos-pipeline-crash")
    e2e = result.summary()["end_to_end"]["invoicer"]
    assert (e2e["inputs"], e2e["exactly_once"], e2e["never"], e2e["more_than_once"]) == (
        100,
        100,
        0,
        0,
    )
    assert e2e["aborted_results"] > 0  # the dead instance's invoices, never seen
    assert group(result, "invoicer")["processed_multiple"] > 0  # processing did repeat
    fenced = [f for _t, _a, f in events(result, "txn_state") if "fences" in f["why"]]
    assert [(f["epoch"], f["parts"]) for f in fenced] == [(1, ["invoices-0"])]


def test_the_at_least_once_pipeline_duplicates_the_redone_invoices() -> None:
    e2e = run("alo-pipeline-crash").summary()["end_to_end"]["invoicer"]
    assert (e2e["inputs"], e2e["never"], e2e["more_than_once"]) == (100, 0, 3)
    assert e2e["duplicate_ids"] == ["shop#40", "shop#41", "shop#42"]
