"""The incident form and the warnings every run gets (issue 12)."""

from __future__ import annotations

import re

import pytest
from django.test import Client

import simcore
from playground import incident, runner
from simcore import parse_scenario
from tests.web.helpers import saved, stored, text

pytestmark = pytest.mark.django_db


def run_incident(client: Client, **choices: str) -> tuple[str, str]:
    response = client.post("/incident", choices)
    assert response.status_code == 303, text(response)[:300]
    slug = response["Location"].removeprefix("/r/")
    return slug, text(client.get(f"/r/{slug}"))


def ledger(slug: str) -> dict:  # type: ignore[type-arg]
    return runner.run(stored(slug))["summary"]["ledger"]


def test_three_choices_reproduce_acks_1_loss(client: Client) -> None:
    slug, page = run_incident(
        client, acks="1", fault="slow_follower_then_leader_dies", reset="earliest"
    )
    counts = ledger(slug)
    assert counts["topics"]["orders"]["lost_acked"] > 0
    assert counts["groups"]["billing"]["skipped"] == 0
    assert 'data-verdict="loss"' in page
    assert "run-warnings" not in page  # the loss is the fault's


def test_the_naive_version_warns_that_a_default_caused_the_loss(client: Client) -> None:
    slug, page = run_incident(client, acks="1")  # leader dies, everything else default
    counts = ledger(slug)
    assert counts["topics"]["orders"]["lost_acked"] == 0
    assert counts["groups"]["billing"]["skipped"] > 0
    assert 'data-verdict="loss"' in page
    assert "auto.offset.reset=latest (Kafka&#x27;s default, not set in this scenario)" in page
    assert "No acknowledged record was lost" in page
    assert "{#" not in page and "{%" not in page  # no template text leaks into the page


def test_the_duration_covers_the_failover(client: Client) -> None:
    slug, page = run_incident(client, fault="partition", reset="earliest")
    kinds = {e["kind"] for f in runner.run(stored(slug))["frames"] for e in f["events"]}
    assert {"broker_isolated", "broker_fenced", "leader_elected", "broker_reconnected"} <= kinds
    assert "before the controller fences" not in page


def test_a_run_that_ends_before_the_failover_says_so(client: Client) -> None:
    short = parse_scenario(
        {
            "name": "Kill the leader, stop too soon",
            "duration_ms": 10000,
            "brokers": 3,
            "topics": [{"name": "t", "partitions": 1, "replication_factor": 3}],
            "producers": [{"id": "p", "topic": "t", "messages": 50, "rate_per_s": 10}],
            "faults": [{"action": "kill_broker", "target": "broker-0", "at_ms": 5000}],
        }
    )
    page = text(client.get(f"/r/{saved(short)}"))
    assert "before the controller fences it (broker.session.timeout.ms, 9000 ms" in page
    embed = text(client.get(f"/embed/{saved(short)}"))
    assert "before the controller fences it" in embed


@pytest.mark.parametrize(
    ("field", "value", "allowed"),
    [
        ("brokers", "0", "from 1 to 9"),
        ("partitions", "0", "from 1 to 64"),
        ("partitions", "65", "from 1 to 64"),
        ("rate_per_s", "0", "from 1 to 20000"),
        ("rate_per_s", "20001", "from 1 to 20000"),
        ("consumers", "0", "from 1 to 50"),
        ("consumers", "51", "from 1 to 50"),
        ("processing_ms", "-1", "from 0 to 1000"),
        ("processing_ms", "fast", "whole number"),
        ("partitions", "two", "whole number"),
        ("replication_factor", "4", "from 1 to 3"),
        ("min_insync_replicas", "²", "whole number"),
        ("acks", "2", "all, 1, 0"),
        ("fault", "disk_full", "leader_dies"),
        ("reset", "smallest", "latest, earliest, none"),
    ],
)
def test_a_bad_choice_is_named(client: Client, field: str, value: str, allowed: str) -> None:
    response = client.post("/incident", {field: value})
    assert response.status_code == 422
    body = text(response)
    assert f'data-field="{field}"' in body and allowed in body


def test_the_topic_gets_the_partitions_asked_for_and_the_dead_leader_leads_some(
    client: Client,
) -> None:
    slug, page = run_incident(client, partitions="6", reset="earliest")
    assert 'data-partition="orders-5"' in page
    scenario = stored(slug)
    assert [t.partitions for t in scenario.topics] == [6]
    assert "6 partitions" in scenario.description
    first = runner.run(scenario)["frames"][0]
    led_by_0 = [p["partition"] for p in first["partitions"] if p["leader"] == 0]
    assert led_by_0 == [0, 3]  # the broker the fault kills leads some, not all
    assert ledger(slug)["topics"]["orders"]["sent"] == 400


def test_the_form_offers_a_real_topics_shape_and_starts_at_a_followable_trickle() -> None:
    page = text(Client().get("/incident"))
    assert 'name="partitions" min="1" max="64" value="1"' in page
    assert 'name="rate_per_s" min="1" max="20000" value="20"' in page
    assert 'name="consumers" min="1" max="50" value="1"' in page
    assert 'name="processing_ms" min="0" max="1000" value="5"' in page
    left_empty = incident.choices({})  # one partition, 20 records/s, one consumer at 5 ms
    assert (left_empty.partitions, left_empty.rate_per_s) == (1, 20)
    assert (left_empty.consumers, left_empty.processing_ms) == (1, 5)


def test_every_choice_at_the_largest_value_the_form_offers_makes_a_scenario(
    client: Client,
) -> None:
    """The form's max= values are choices a user can make: each one (and all of them at
    once) is a scenario simcore accepts, not an error about a cap the form did not show."""
    page = text(client.get("/incident"))
    largest = dict(re.findall(r'name="(\w+)" min="\d+" max="(\d+)"', page))
    assert {"brokers", "partitions", "rate_per_s", "consumers", "processing_ms"} <= set(largest)
    for field in ("brokers", "partitions", "rate_per_s", "consumers", "processing_ms"):
        value = largest[field]  # (replicas and min.insync.replicas are bounded by brokers)
        response = client.post("/incident", {field: value, "reset": "earliest"})
        assert response.status_code == 303, (field, value, text(response)[:300])
    response = client.post("/incident", {**largest, "reset": "earliest"})
    assert response.status_code == 303, text(response)[:300]
    scenario = stored(response["Location"].removeprefix("/r/"))
    assert len(scenario.consumers) == int(largest["consumers"])
    assert scenario.topics[0].partitions == int(largest["partitions"])


def test_a_production_shaped_incident_loses_nothing_acknowledged_and_the_group_catches_up(
    client: Client,
) -> None:
    """Issue 16: the form at a real topic's shape (60 partitions, RF 3, 20,000 keyed
    records/s, 6 consumers) writes that scenario, and after the leader dies and comes back
    every acknowledged record is in the log and processed once."""
    response = client.post(
        "/incident",
        {
            "brokers": "6",
            "partitions": "60",
            "replication_factor": "3",
            "min_insync_replicas": "2",
            "rate_per_s": "20000",
            "consumers": "6",
            "processing_ms": "0",
            "reset": "earliest",
        },
    )
    assert response.status_code == 303, text(response)[:300]
    scenario = stored(response["Location"].removeprefix("/r/"))
    producer = scenario.producers[0]
    assert (producer.rate_per_s, producer.messages) == (20_000, 400_000)
    assert [c.id for c in scenario.consumers] == ["c1", "c2", "c3", "c4", "c5", "c6"]
    assert {c.processing_ms for c in scenario.consumers} == {0}
    assert "20,000 keyed records/s" in scenario.description
    assert "6 consumers at 0 ms a record" in scenario.description
    led = simcore.simulate(scenario).summary()["ledger"]
    orders, billing = led["topics"]["orders"], led["groups"]["billing"]
    assert orders["sent"] == orders["acked"] == orders["in_log"] == 400_000
    assert orders["lost_acked"] == orders["log_duplicates"] == 0
    assert billing["processed_once"] == 400_000 and billing["unread"] == 0


def test_idempotence_with_acks_1_is_the_scenarios_own_error(client: Client) -> None:
    response = client.post("/incident", {"acks": "1", "idempotence": "true"})
    assert response.status_code == 422
    assert "enable.idempotence" in text(response)


def test_the_form_and_the_gallery_link() -> None:
    assert incident.duration_ms() >= incident.FAULT_AT_MS + incident.BROKER_SESSION_MS + 10_000
    client = Client()
    assert client.get("/incident").status_code == 200
    assert 'href="/incident"' in text(client.get("/"))
