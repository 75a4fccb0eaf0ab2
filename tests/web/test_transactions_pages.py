"""Transactions on the pages: the end-to-end ledger of a pipeline, the compare page of
the exactly-once and at-least-once pipelines, the transaction coordinator in the cluster
view, the LSO and markers in the frames the strip draws."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from playground import runner
from simcore import builtin_scenario
from tests.web.helpers import saved, text

pytestmark = pytest.mark.django_db


def _row(body: str, side: str) -> str:
    column = body.split(f'data-side="{side}"', 1)[1]
    match = re.search(r'<tr data-pipeline="invoicer"[^>]*>', column)
    assert match, side
    return match.group(0)


def test_the_compare_page_shows_duplicates_only_on_the_at_least_once_side(client: Client) -> None:
    alo, eos = (
        saved(builtin_scenario("alo-pipeline-crash")),
        saved(builtin_scenario("eos-pipeline-crash")),
    )
    body = text(client.get(f"/compare/{alo}/{eos}"))
    assert "End to end" in body
    old, new = _row(body, "old"), _row(body, "new")
    assert 'data-mode="at-least-once"' in old and 'data-duplicates="3"' in old
    assert 'data-mode="exactly-once"' in new and 'data-duplicates="0"' in new
    assert "results written twice: shop#40, shop#41, shop#42" in body


def test_the_cluster_view_names_the_transaction_coordinator(client: Client) -> None:
    slug = saved(builtin_scenario("txn-zombie-fencing"))
    body = text(client.get(f"/r/{slug}"))
    assert 'data-txn-coordinator="payments-app"' in body
    assert "broker-2 · CompleteCommit · producer epoch 2" in body
    assert "last stable offset" in body  # the strip's legend


def test_frames_carry_the_lso_markers_and_aborted_records() -> None:
    run = runner.run(builtin_scenario("txn-open-transaction-stalls-lso"))
    during = next(f for f in run["frames"] if f["t"] >= 3000)
    part = during["partitions"][0]
    assert (part["lso"], part["markers"]) == (1, [])
    assert part["hw"] > 10
    last = run["frames"][-1]["partitions"][0]
    assert last["markers"] == [[51, "COMMIT"]] and last["lso"] == last["hw"]
    aborted = runner.run(builtin_scenario("txn-read-committed-vs-uncommitted"))["frames"][-1]
    assert aborted["partitions"][0]["aborted"] == [[12, 22]]
    assert aborted["transactions"][0]["state"] == "CompleteCommit"


def test_runs_without_transactions_keep_their_frames(client: Client) -> None:
    run = runner.run(builtin_scenario("java-auto-commit"))
    assert "lso" not in run["frames"][-1]["partitions"][0]
    assert "transactions" not in run["frames"][-1]
