"""The scenario page's panels, rendered at the end of the run (the player redraws them)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from playground import runner
from simcore import Scenario, builtin_scenario, parse_scenario
from tests.web.helpers import saved, scaled_out, slow_consumer, text

pytestmark = pytest.mark.django_db


def _section(body: str, section_id: str) -> str:
    start = body.index(f'id="{section_id}"')
    return body[start : body.index("</section>", start)]


def test_the_cluster_view_shows_brokers_replicas_and_the_lost_records(client: Client) -> None:
    body = text(client.get(f"/r/{saved(builtin_scenario('acks-1-leader-dies'))}"))
    cluster = _section(body, "cluster")
    for broker in range(3):
        assert f'<li data-broker="{broker}">' in cluster
        assert f'name="target" value="broker-{broker}"' in cluster
    assert 'data-state="alive"' in cluster
    assert "kill this broker" in cluster
    assert 'data-partition="orders-0"' in cluster
    assert "leader broker-1 · epoch 1 · ISR [0, 1, 2]" in cluster
    assert 'id="replica-chart"' in cluster
    assert 'data-lost="5"' in cluster
    assert "<b>p1#0</b> acked at 7 ms as orders-0@0" in cluster


def test_the_lost_list_says_when_no_acknowledged_record_was_lost(client: Client) -> None:
    body = text(client.get(f"/r/{saved(builtin_scenario('acks-all-min-isr-2'))}"))
    assert 'data-lost="0"' in body
    assert "No acknowledged record was lost." in body


def test_the_producer_panel_counts_retries_and_errors_by_name(client: Client) -> None:
    body = text(client.get(f"/r/{saved(builtin_scenario('retries-duplicates-reordering'))}"))
    panel = _section(body, "producers")
    assert '<tr data-producer="p1">' in panel
    assert '<td data-col="retries">2</td>' in panel
    assert "NOT_ENOUGH_REPLICAS_AFTER_APPEND × 1" in panel
    assert "NOT_ENOUGH_REPLICAS × 1" in panel
    assert "burst ×5 for 5 s" in panel
    # the log in offset order: #4 landed before #3, and #0 was written twice
    assert 'class="rec out-of-order" title="offset 4: out of order"' in panel
    assert 'data-message="p1#3"' in panel
    assert 'class="rec duplicate" title="offset 5: duplicate"' in panel


def test_the_group_view_lists_rebalances_with_their_paused_partitions(client: Client) -> None:
    scenario = scaled_out(start_with=2)
    body = text(client.get(f"/r/{saved(scenario)}"))
    groups = _section(body, "groups")
    assert 'class="group" data-group="billing"' in groups
    for field in ("state", "generation", "total_lag", "status", "catch_up"):
        assert f'data-field="{field}"' in groups
    assert 'id="lag-chart"' in groups
    assert 'id="time-lag-chart"' in groups
    assert "kafka-consumer-groups --describe" in groups
    rebalances = runner.run(scenario)["summary"]["consumer_groups"]["billing"]["rebalances"]
    assert rebalances["count"] == 2
    for k, r in enumerate(rebalances["list"]):
        row = groups[groups.index(f'data-rebalance="{k}"') :]
        row = row[: row.index("</tr>")]
        assert f"<td>{r['cause']}</td>" in row
        assert f"<td>{r['duration_ms']} ms</td>" in row
        for tp, ms in r["paused_ms"].items():
            assert f'data-partition="{tp}" data-paused-ms="{ms}"' in row
        if not r["paused_ms"]:
            assert "none" in row


def test_the_group_view_speaks_of_epochs_under_the_consumer_protocol(client: Client) -> None:
    groups = _section(
        text(client.get(f"/r/{saved(builtin_scenario('consumer-protocol-scale-out'))}")), "groups"
    )
    assert "group epoch <b" in groups and "generation <b" not in groups
    assert "consumer protocol (KIP-848), uniform assignor on the broker" in groups
    assert "member epoch 4" in groups
    classic = _section(
        text(client.get(f"/r/{saved(builtin_scenario('eager-scale-out'))}")), "groups"
    )
    assert "generation <b" in classic and "member epoch" not in classic


def test_the_consumers_have_their_buttons(client: Client) -> None:
    body = text(client.get(f"/r/{saved(slow_consumer())}"))
    for action in ("stop", "slow_consumer", "add_consumer"):
        assert f'name="action" value="{action}"' in body
    for label in ("remove", "slow down ×5", "add a consumer", "crash the consumer here"):
        assert label in body


def test_the_metrics_panel_uses_kafka_names_and_links_prometheus(client: Client) -> None:
    slug = saved(slow_consumer())
    body = text(client.get(f"/r/{slug}"))
    panel = _section(body, "metrics")
    for name in (
        "records-consumed-rate",
        "fetch-latency-avg",
        "records-lag-max",
        "record-send-rate",
    ):
        assert f'data-metric="{name}"' in panel
    assert f'href="/metrics/{slug}"' in panel


def test_the_panels_come_under_the_sticky_player_and_load_their_scripts(client: Client) -> None:
    body = text(client.get(f"/r/{saved(builtin_scenario('acks-1-leader-dies'))}"))
    assert 'class="player with-panels"' in body
    for script in ("player", "cluster", "producers", "groups", "metrics"):
        assert f"/static/js/{script}.js" in body


def test_the_embed_player_has_only_the_panels_its_link_names(client: Client) -> None:
    # issue 12: ?panels= chooses (tests/web/test_embed_options.py); never the buttons
    body = text(client.get(f"/embed/{saved(builtin_scenario('acks-1-leader-dies'))}?panels=stage"))
    assert 'id="cluster"' not in body
    assert "with-panels" not in body
    assert "kill this broker" not in body


@pytest.mark.parametrize(
    ("name", "verdict", "label"),
    [
        ("retries-duplicates-reordering", "duplicates", "Duplicates, no loss"),
        ("idempotent-producer", "exactly once", "Written once, in order"),
    ],
)
def test_without_consumers_the_headline_tells_the_log(
    client: Client, name: str, verdict: str, label: str
) -> None:
    body = text(client.get(f"/r/{saved(builtin_scenario(name))}"))
    headline = body[body.index('class="headline') :]
    headline = headline[: headline.index("</dl>")]
    assert f'data-verdict="{verdict}"' in headline
    assert label in headline
    assert 'data-count="written_twice"' in headline
    assert 'data-count="never"' not in headline


def test_without_javascript_the_group_view_lists_members_and_their_partitions(
    client: Client,
) -> None:
    body = text(client.get(f"/r/{saved(scaled_out())}"))
    members = _section(body, "groups")
    members = members[members.index('class="members"') : members.index("</ul>")]
    for k, consumer in enumerate(("c1", "c2", "c3", "c4")):
        assert f'<li data-member="{consumer}"' in members
        assert f'class="part-chip part-{k}" data-partition="orders-{k}"' in members


def test_records_still_to_read_at_the_end_are_lag_not_loss(client: Client) -> None:
    # Committed offset 3, log end 7: offsets 3..6 were never processed, and a restart
    # would read them. Nothing below the committed offset was skipped.
    body = text(client.get(f"/r/{saved(builtin_scenario('basic-lag'))}"))
    headline = body[body.index('class="headline') :]
    headline = headline[: headline.index("</dl>")]
    assert 'data-verdict="unread"' in headline
    assert '<dd data-count="unread">4</dd>' in headline
    assert '<dd data-count="never">0</dd>' in headline
    # … and message by message (a small run lists them)
    assert body.count('<td class="outcome">not read yet (lag)</td>') == 4
    assert '<td class="outcome">never processed</td>' not in body


def _big(**consumer: Any) -> Scenario:
    """12,000 records: too many to list one by one (no per-message rows)."""
    return parse_scenario(
        {
            "name": "A run too big to list its messages",
            "seed": 1,
            "duration_ms": 8000,
            "topics": [{"name": "orders", "partitions": 2}],
            "producers": [{"id": "p1", "topic": "orders", "messages": 12000, "rate_per_s": 2000}],
            "consumers": [{"id": "c1", "group": "billing", "topics": ["orders"], **consumer}],
        }
    )


@pytest.mark.parametrize(
    ("consumer", "verdict"),
    [
        # 1 ms a record: about 5,000 read by the end, the rest is still to read
        ({"processing_ms": 1, "config": {"auto.offset.reset": "earliest"}}, "unread"),
        # joins at the end of the log: what was written before is passed over for good
        ({"config": {"auto.offset.reset": "latest"}}, "loss"),
    ],
)
def test_a_big_run_also_tells_lag_from_loss(
    client: Client, consumer: dict[str, Any], verdict: str
) -> None:
    scenario = _big(**consumer)
    run = runner.run(scenario)
    assert run["messages"] is None
    group = run["summary"]["ledger"]["groups"]["billing"]
    # the latest-reset consumer keeps up with what comes after it: nothing left to read
    assert (group["unread"] > 0) == (verdict == "unread")
    body = text(client.get(f"/r/{saved(scenario)}"))
    headline = body[body.index('class="headline') :]
    headline = headline[: headline.index("</dl>")]
    assert f'data-verdict="{verdict}"' in headline
    assert f'<dd data-count="unread">{group["unread"]:,}</dd>' in headline
    assert f'<dd data-count="never">{group["skipped"]:,}</dd>' in headline
    assert (group["skipped"] > 0) == (verdict == "loss")


def test_the_verdict_names_the_clients_security_kept_out_and_the_failed_sends(
    client: Client,
) -> None:
    body = text(client.get(f"/r/{saved(builtin_scenario('producer-denied-by-prefixed-deny'))}"))
    assert "Kept out by security:" in body
    assert (
        '<li data-client="payments-writer"><strong>payments-writer</strong> (User:shop):'
        " WRITE on TOPIC payments-eu denied (MatchingAcl)</li>"
    ) in body
    refused = body[body.index('<ul class="refused">') :]
    assert 'data-client="orders-writer"' not in refused[: refused.index("</ul>")]  # admitted
    assert '<dd data-count="failed">10</dd>' in body
    body = text(client.get(f"/r/{saved(builtin_scenario('plaintext-client-ssl-listener'))}"))
    assert "cannot connect (TLS handshake (broker side))" in body
    body = text(client.get(f"/r/{saved(builtin_scenario('basic-lag'))}"))
    assert "Kept out by security" not in body and 'data-count="failed"' not in body


def test_the_outcome_shows_follower_fetching_with_a_staleness_chart(client: Client) -> None:
    body = text(client.get(f"/r/{saved(builtin_scenario('follower-fetching-slow-follower'))}"))
    assert 'id="follower-fetching"' in body
    billing = body[body.index('<tr data-consumer="billing-1">') :]
    billing = billing[: billing.index("</tr>")]
    assert "orders-0 → broker-1" in billing and '<td data-count="cross">0</td>' in billing
    assert '<td data-count="late-follower">4100 /' in billing
    audit = body[body.index('<tr data-consumer="audit-1">') :]
    assert "the leaders" in audit[: audit.index("</tr>")]
    assert body.count('<figure class="staleness">') == 2
    assert body.count("<polyline") == 2
    body = text(client.get(f"/r/{saved(builtin_scenario('basic-lag'))}"))
    assert 'id="follower-fetching"' not in body


def test_the_outcome_shows_each_clients_decisions_and_opens_them_in_the_acl_editor(
    client: Client,
) -> None:
    body = text(client.get(f"/r/{saved(builtin_scenario('consumer-lacks-group-read'))}"))
    assert 'id="security"' in body and "listener SASL_SSL, StandardAuthorizer" in body
    row = body[body.index('<tr data-client="billing-1">') :]
    row = row[: row.index("</tr>")]
    assert "FindCoordinator: DESCRIBE on GROUP billing — <strong>DENIED</strong>" in row
    assert "DefaultDeny" in row and "User:billing" in row
    assert 'name="resource_type" value="GROUP"' in row and 'name="name" value="billing"' in row
    assert "kafka-acls --list" in body and "ResourcePattern(resourceType=TOPIC, name=orders" in body
    # the form's fields are the ACL editor's own: posting them answers the same decision
    fields = dict(
        acls=builtin_scenario("consumer-lacks-group-read").source["security"]["acls"],
        principal="User:billing",
        host="10.0.0.10",
        operation="DESCRIBE",
        resource_type="GROUP",
        name="billing",
    )
    answer = text(client.post("/acls", fields))
    assert "DefaultDeny" in answer or "no ACL exists for this resource" in answer
    body = text(client.get(f"/r/{saved(builtin_scenario('plaintext-client-ssl-listener'))}"))
    assert "listener SSL, no authorizer" in body
    assert "ends at TLS handshake (broker side)" in body


def test_the_verdicts_counts_group_their_thousands() -> None:
    """A production-shaped run counts hundreds of thousands of records: the verdict writes
    them as the rest of the page does (400,000); small counts stay as they are."""
    from django.template.loader import render_to_string

    headline = {
        "lost": 0,
        "never": 110_039,
        "unread": 7,
        "duplicated": 1_000,
        "once": 289_961,
        "written_twice": 0,
        "reordered": 0,
        "consumed": True,
        "verdict": "loss",
        "failed": 0,
        "refused": [],
        "applications": [],
    }
    html = render_to_string("playground/_headline.html", {"h": headline})
    assert '<dd data-count="never">110,039</dd>' in html
    assert '<dd data-count="once">289,961</dd>' in html
    assert '<dd data-count="duplicated">1,000</dd>' in html
    assert '<dd data-count="unread">7</dd>' in html
