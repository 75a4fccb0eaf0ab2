"""The processing panel (issue 15): an application's error handling, its sink's view and
its retry and dead-letter topics with their records and lag, at the end of the run."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from simcore import builtin_scenario
from tests.web.helpers import saved, text

pytestmark = pytest.mark.django_db


def _section(body: str, section_id: str) -> str:
    start = body.index(f'id="{section_id}"')
    return body[start : body.index("</section>", start)]


def test_it_shows_the_dead_letter_topic_with_its_records_and_its_readers_lag(
    client: Client,
) -> None:
    body = text(client.get(f"/r/{saved(builtin_scenario('dead-letter-after-3-attempts'))}"))
    panel = _section(body, "processing")
    assert 'data-app="billing"' in panel
    assert "on failure: dead_letter, 3 attempts" in panel
    assert '<td data-col="succeeded">58</td>' in panel
    assert '<td data-col="dead_lettered">2</td>' in panel
    assert '<td data-col="never_applied">2</td>' in panel
    dlt = [row for row in panel.split("<tr") if 'data-topic="orders.DLT"' in row]
    assert len(dlt) == 2  # one row per partition the inspector's group reads
    assert "<th>orders.DLT</th><td>2</td><td>dlt-inspector</td>" in dlt[0]


def test_it_shows_each_sink_and_the_retry_topics(client: Client) -> None:
    body = text(client.get(f"/r/{saved(builtin_scenario('idempotent-sink-vs-naive-sink'))}"))
    panel = _section(body, "processing")
    naive = panel[panel.index('data-app="sink-naive"') :]
    idem = panel[panel.index('data-app="sink-idempotent"') : panel.index('data-app="sink-naive"')]
    assert '<td data-col="rows">33</td>' in naive
    assert '<td data-col="applied_twice_or_more">13</td>' in naive
    assert '<td data-col="rows">20</td>' in idem
    assert '<td data-col="dedup_hits">13</td>' in idem
    body = text(client.get(f"/r/{saved(builtin_scenario('retry-topics-reorder-a-key'))}"))
    panel = _section(body, "processing")
    assert "retry topics after 1000 ms, 5000 ms" in panel
    for topic in ("payments-retry-1000", "payments-retry-5000", "payments-dlt"):
        assert f'data-topic="{topic}"' in panel
    assert '<th>payments-dlt</th><td>1</td><td colspan="5">no group reads it</td>' in panel
    assert '<td data-col="key_order_violations">1</td>' in panel


def test_a_scenario_without_processing_has_no_such_panel(client: Client) -> None:
    body = text(client.get(f"/r/{saved(builtin_scenario('basic-lag'))}"))
    assert 'id="processing"' not in body


def test_a_retry_listener_has_no_quick_fields_and_refuses_add_and_slow(client: Client) -> None:
    slug = saved(builtin_scenario("retry-topics-reorder-a-key"))
    body = text(client.get(f"/r/{slug}"))
    assert "retry listener of ledger" in body
    listener = body[body.index('<li data-consumer="c1-retry-1000">') :]
    listener = listener[: listener.index("</li>")]
    assert "crash the consumer here" in listener and "add a consumer" not in listener
    answer = client.post(
        f"/r/{slug}/inject", {"action": "slow_consumer", "target": "c1-retry-1000", "at_ms": "5000"}
    )
    assert answer.status_code == 422
    assert "retry topic&#x27;s listener" in text(answer) or "retry topic's listener" in text(answer)
    untouched = client.post(f"/r/{slug}/quick", {})  # the quick form lists only c1
    assert untouched.status_code in (302, 303)


def _message_row(body: str, message: str) -> str:
    """The message table's row of one message (the strip's records carry the id too)."""
    found = re.search(
        rf'<tr class="[^"]*" data-message="{re.escape(message)}">(.*?)</tr>', body, re.S
    )
    assert found is not None, message
    return found.group(1)


def test_the_message_table_tells_each_inputs_rows_in_the_sink(client: Client) -> None:
    body = text(client.get(f"/r/{saved(builtin_scenario('idempotent-sink-vs-naive-sink'))}"))
    row = _message_row(body, "p1#0")
    assert '<td data-col="sink">sink-idempotent: 1, sink-naive: 2</td>' in row
    body = text(client.get(f"/r/{saved(builtin_scenario('dead-letter-after-3-attempts'))}"))
    assert '<td data-col="sink">copy of p1#20</td>' in _message_row(body, "c1-pub#0")
    assert '<td data-col="sink">billing: 0</td>' in _message_row(body, "p1#20")


def test_the_headline_gives_each_applications_own_ledger_beside_kafkas(client: Client) -> None:
    body = text(client.get(f"/r/{saved(builtin_scenario('idempotent-sink-vs-naive-sink'))}"))
    headline = body[body.index('class="headline') :]
    headline = headline[: headline.index("</div>", headline.index("</dl>"))]
    assert 'data-verdict="duplicates"' in headline  # Kafka's view: both groups replayed 13
    assert (
        "<strong>sink-naive</strong>, its own ledger: 20 of 20 inputs processed, 0"
        " dead-lettered, 0 skipped (lost to it), 0 pending; its naive sink: 0 never applied,"
        " 13 applied twice or more." in headline
    )
    assert "its idempotent sink: 0 never applied, 0 applied twice or more." in headline
    body = text(client.get(f"/r/{saved(builtin_scenario('basic-lag'))}"))
    assert "its own ledger" not in body
