"""The buttons "at this step": each adds its fault or change, saves, replays and compares."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from playground import outcome, runner, scenarios
from simcore import Scenario, builtin_scenario, parse_scenario
from tests.web.helpers import builtin_without, saved, slow_consumer, stored, text

pytestmark = pytest.mark.django_db


def _inject(client: Client, slug: str, **form: Any):  # type: ignore[no-untyped-def]
    return client.post(f"/r/{slug}/inject", {k: str(v) for k, v in form.items()})


def _new_slug(response: Any, old: str) -> str:
    assert response.status_code == 303
    new, _, compare = response["Location"].removeprefix("/r/").partition("?compare=")
    assert compare == old
    return new


@pytest.mark.parametrize(
    ("form", "fault"),
    [
        (
            {"action": "kill_broker", "target": "broker-0", "restart_after_ms": 12000},
            {"action": "kill_broker", "target": "broker-0", "restart_after_ms": 12000},
        ),
        (
            {"action": "kill_broker", "target": "broker-1", "restart_after_ms": ""},
            {"action": "kill_broker", "target": "broker-1", "restart_after_ms": None},
        ),
        (
            {"action": "isolate_broker", "target": "broker-2", "duration_ms": 4000},
            {"action": "isolate_broker", "target": "broker-2", "duration_ms": 4000},
        ),
        (
            {"action": "slow_follower", "target": "broker-1", "delay_ms": 700, "duration_ms": 9000},
            {"action": "slow_follower", "target": "broker-1", "delay_ms": 700, "duration_ms": 9000},
        ),
        (
            {"action": "crash", "target": "c1", "restart_after_ms": ""},
            {"action": "crash", "target": "c1", "restart_after_ms": 1000},
        ),
        ({"action": "stop", "target": "c1"}, {"action": "stop", "target": "c1"}),
    ],
)
def test_it_adds_an_injected_fault_at_the_step_and_compares(
    client: Client, form: dict[str, Any], fault: dict[str, Any]
) -> None:
    slug = saved(builtin_without("acks-1-leader-dies", "kill_broker"))
    new = _new_slug(_inject(client, slug, at_ms=30, **form), slug)
    added = stored(new).faults[-1]
    assert added.at_ms == 30
    assert added.injected is True
    for key, value in fault.items():
        assert getattr(added, key) == value


def test_killing_the_leader_loses_acknowledged_records_and_the_page_says_so(
    client: Client,
) -> None:
    slug = saved(builtin_without("acks-1-leader-dies", "kill_broker"))
    response = _inject(
        client, slug, action="kill_broker", target="broker-0", at_ms=30, restart_after_ms=12000
    )
    body = text(client.get(response["Location"]))
    assert "Before and after" in body
    assert "topic orders: lost acked 0 → 3" in body
    assert 'data-lost="3"' in body
    for msg in ("p1#0", "p1#1", "p1#2"):
        assert f'<li data-message="{msg}" data-partition="orders-0">' in body
    assert "kill_broker" in body  # what was changed, named by its scenario path


def test_add_consumer_copies_the_consumer_and_starts_it_now(client: Client) -> None:
    slug = saved(slow_consumer())
    first = _new_slug(_inject(client, slug, action="add_consumer", target="c1", at_ms=20000), slug)
    second = _new_slug(
        _inject(client, first, action="add_consumer", target="c1", at_ms=21000), first
    )
    consumers = stored(second).consumers
    assert [c.id for c in consumers] == ["c1", "c2", "c3"]
    assert [c.start_ms for c in consumers] == [0, 20000, 21000]
    assert [c.injected for c in consumers] == [False, True, True]
    original = consumers[0]
    for copy in consumers[1:]:
        assert (copy.group, copy.topics, copy.processing_ms) == (
            original.group,
            original.topics,
            original.processing_ms,
        )
        assert copy.config == original.config


def test_an_added_consumer_starts_as_an_injected_event(client: Client) -> None:
    slug = saved(slow_consumer())
    new = _new_slug(_inject(client, slug, action="add_consumer", target="c1", at_ms=20000), slug)
    events = [e for f in runner.run(stored(new))["frames"] for e in f["events"]]
    start = next(e for e in events if e["kind"] == "start" and e["actor"] == "c2")
    assert (start["t"], start["injected"]) == (20000, True)
    first = next(e for e in events if e["kind"] == "start" and e["actor"] == "c1")
    assert first["injected"] is False


def test_an_added_consumer_starts_at_the_pace_of_the_moment(client: Client) -> None:
    slug = saved(slow_consumer())
    slowed = _new_slug(
        _inject(client, slug, action="slow_consumer", target="c1", at_ms=10000), slug
    )
    new = _new_slug(
        _inject(client, slowed, action="add_consumer", target="c1", at_ms=20000), slowed
    )
    copy = stored(new).consumers[-1]
    assert copy.processing_ms == 2500  # c1's time since 10 s, not its original 500 ms
    assert copy.processing_changes == ()  # c1's slowdown is its past, not the copy's


def test_slow_down_makes_the_same_consumer_five_times_slower_from_now_on(
    client: Client,
) -> None:
    scenario = slow_consumer()
    slug = saved(scenario)
    new = _new_slug(_inject(client, slug, action="slow_consumer", target="c1", at_ms=10000), slug)
    slowed = stored(new)
    assert slowed.faults == scenario.faults  # nothing stops: the consumer keeps its place
    assert [c.id for c in slowed.consumers] == ["c1"]
    c1 = slowed.consumers[0]
    assert c1.processing_ms == 500
    assert c1.processing_changes == ((10000, 2500, True),)

    again = _new_slug(_inject(client, new, action="slow_consumer", target="c1", at_ms=20000), new)
    assert stored(again).consumers[0].processing_changes == (
        (10000, 2500, True),
        (20000, 12500, True),
    )


def test_slow_down_costs_no_rebalance_and_the_run_says_so(client: Client) -> None:
    scenario = slow_consumer()
    slug = saved(scenario)
    new = _new_slug(_inject(client, slug, action="slow_consumer", target="c1", at_ms=10000), slug)
    before = outcome.group_figures(runner.run(scenario))["billing"]
    after_run = runner.run(stored(new))
    after = outcome.group_figures(after_run)["billing"]
    assert after["rebalances"] == before["rebalances"]  # no one left or joined
    assert after["total_lag"] > before["total_lag"]
    events = [e for f in after_run["frames"] for e in f["events"]]
    change = next(e for e in events if e["kind"] == "processing_change")
    assert (change["t"], change["actor"], change["injected"]) == (10000, "c1", True)
    assert change["text"] == "c1 now takes 2500 ms per record"  # the page adds its own tag

    body = text(client.get(f"/r/{new}?compare={slug}"))
    changed = body[body.index('<ul class="config-changes">') :]
    changed = changed[: changed.index("</ul>")]
    assert changed.count("<li>") == 1
    assert "<code>consumers[0].processing_changes[0]</code>: – → at_ms: " in changed
    assert "processing_ms: 2500, injected: true" in changed
    consumer = body[body.index('<li data-consumer="c1">') :]
    consumer = consumer[: consumer.index("</li>")]
    assert '→ 2500 ms from 10000 ms <em class="tag">injected</em>' in consumer


def test_slow_down_of_a_consumer_that_takes_no_time_gives_it_50_ms(client: Client) -> None:
    source = scenarios.source_of(slow_consumer())
    source["consumers"][0]["processing_ms"] = 0
    slug = saved(parse_scenario(source))
    new = _new_slug(_inject(client, slug, action="slow_consumer", target="c1", at_ms=5000), slug)
    assert stored(new).consumers[0].processing_changes == ((5000, 50, True),)


def test_burst_multiplies_the_rate_for_five_seconds(client: Client) -> None:
    slug = saved(slow_consumer())
    new = _new_slug(_inject(client, slug, action="burst_producer", target="p1", at_ms=10000), slug)
    producer = stored(new).producers[0]
    rate = producer.rate_per_s
    assert producer.rate_changes == ((10000, rate * 5, True), (15000, rate, True))
    events = [e for f in runner.run(stored(new))["frames"] for e in f["events"]]
    changes = [(e["t"], e["injected"]) for e in events if e["kind"] == "rate_change"]
    assert changes == [(10000, True), (15000, True)]


def test_a_burst_near_the_end_stops_at_the_end(client: Client) -> None:
    scenario = slow_consumer()
    slug = saved(scenario)
    at = scenario.duration_ms - 1000
    new = _new_slug(_inject(client, slug, action="burst_producer", target="p1", at_ms=at), slug)
    assert stored(new).producers[0].rate_changes[-1][0] == scenario.duration_ms


def test_an_htmx_button_gets_a_client_redirect(client: Client) -> None:
    slug = saved(slow_consumer())
    response = client.post(
        f"/r/{slug}/inject",
        {"action": "stop", "target": "c1", "at_ms": "5000"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert response["HX-Redirect"].endswith(f"?compare={slug}")


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"action": "explode", "target": "c1", "at_ms": "10"}, "action"),
        ({"action": "stop", "target": "c1", "at_ms": "soon"}, "at_ms"),
        ({"action": "stop", "target": "c1"}, "at_ms"),
        ({"action": "stop", "target": "c9", "at_ms": "10"}, "target"),
        ({"action": "kill_broker", "target": "broker-7", "at_ms": "10"}, "target"),
        ({"action": "burst_producer", "target": "c1", "at_ms": "10"}, "target"),
        (
            {"action": "isolate_broker", "target": "broker-0", "at_ms": "1", "duration_ms": "x"},
            "duration_ms",
        ),
        ({"action": "slow_follower", "target": "broker-0", "at_ms": "10"}, "delay_ms"),
        (
            {"action": "slow_follower", "target": "broker-0", "at_ms": "10", "delay_ms": "-4"},
            "faults[0].delay_ms",
        ),
        ({"action": "stop", "target": "c1", "at_ms": "99999999"}, "faults[0].at_ms"),
        (
            {"action": "slow_consumer", "target": "c1", "at_ms": "99999999"},
            "consumers[0].processing_changes[0].at_ms",
        ),
    ],
)
def test_it_rejects_a_bad_button_naming_the_field(
    client: Client, form: dict[str, str], field: str
) -> None:
    scenario = builtin_scenario("acks-1-leader-dies")
    source_faults = len(scenario.faults)
    slug = saved(scenario)
    if field.startswith("faults["):
        field = field.replace("faults[0]", f"faults[{source_faults}]")
    response = client.post(f"/r/{slug}/inject", form)
    assert response.status_code == 422
    body = text(response)
    assert f'data-field="{field}"' in body
    assert "<html" in body  # the whole page again, the error beside the button


def test_the_error_sits_beside_the_button_that_was_pressed(client: Client) -> None:
    slug = saved(builtin_scenario("acks-1-leader-dies"))
    response = client.post(
        f"/r/{slug}/inject",
        {"action": "isolate_broker", "target": "broker-2", "at_ms": "1", "duration_ms": "x"},
    )
    body = text(response)
    row = body[body.index('<li data-broker="2">') :]
    row = row[: row.index("</li>")]
    assert 'data-field="duration_ms"' in row


def test_it_only_accepts_post(client: Client, calm_scenario: Scenario) -> None:
    assert client.get(f"/r/{saved(calm_scenario)}/inject").status_code == 405


def test_the_comparison_names_an_added_consumer_once(client: Client) -> None:
    slug = saved(slow_consumer())
    response = _inject(client, slug, action="add_consumer", target="c1", at_ms=20000)
    body = text(client.get(response["Location"]))
    changed = body[body.index('<ul class="config-changes">') :]
    changed = changed[: changed.index("</ul>")]
    assert changed.count("<li>") == 1
    assert "<code>consumers[1]</code>: – → id: c2, group: billing" in changed
    assert changed.count("injected: true") == 1  # named once, marked injected
    consumer = body[body.index('<li data-consumer="c2">') :]
    assert 'starts at 20000 ms <em class="tag">injected</em>' in consumer[: consumer.index("</li>")]


def test_the_new_run_is_titled_by_what_the_button_changed(client: Client) -> None:
    """Side B of the before/after is not titled like side A: the new run's title says what
    was changed; a second change adds to it, and the title stays within simcore's limit."""
    from playground.injections import TITLE_MAX, titled

    old = saved(builtin_scenario("basic-lag"))
    new = _new_slug(_inject(client, old, action="crash", target="c1", at_ms=4010), old)
    name = builtin_scenario("basic-lag").name
    assert stored(new).name == f"{name} — c1 crashes at 4010 ms"
    page = text(client.get(f"/r/{new}?compare={old}"))
    assert f"{name} — c1 crashes at 4010 ms" in page
    again = _new_slug(_inject(client, new, action="stop", target="c1", at_ms=6000), new)
    assert stored(again).name == f"{name} — c1 crashes at 4010 ms; c1 closes at 6000 ms"
    long = titled("x" * TITLE_MAX, "c1 crashes at 4010 ms")
    assert len(long) == TITLE_MAX and long.endswith("… — c1 crashes at 4010 ms")
