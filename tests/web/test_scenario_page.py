import pytest
from django.test import Client

from playground import scenarios
from playground.models import SharedScenario
from simcore import Scenario, parse_scenario
from tests.web.helpers import saved, text

pytestmark = pytest.mark.django_db


def test_it_renders_the_final_outcome_without_javascript(
    client: Client, loss_scenario: Scenario
) -> None:
    slug = scenarios.slug_of(loss_scenario)
    response = client.get(f"/r/{slug}")
    assert response.status_code == 200
    body = text(response)
    assert loss_scenario.name in body
    assert 'data-verdict="loss"' in body
    assert '<dd data-count="never">1</dd>' in body
    # kafka-consumer-groups --describe at the end, and the message that was lost.
    assert "CURRENT-OFFSET" in body
    assert "LOG-END-OFFSET" in body
    assert 'data-message="p1#1"' in body
    assert "never processed" in body


def test_it_keeps_a_builtin_scenario_under_its_slug(
    client: Client, loss_scenario: Scenario
) -> None:
    slug = scenarios.slug_of(loss_scenario)
    assert not SharedScenario.objects.filter(slug=slug).exists()
    client.get(f"/r/{slug}")
    assert SharedScenario.objects.get(slug=slug).source == scenarios.source_of(loss_scenario)


def test_it_gives_the_same_scenario_the_same_slug(calm_scenario: Scenario) -> None:
    first = saved(calm_scenario)
    again = saved(scenarios.parse_text(scenarios.to_yaml(calm_scenario)))
    assert first == again
    assert len(first) == 16
    assert SharedScenario.objects.filter(slug=first).count() == 1


def test_it_gives_a_different_scenario_a_different_slug(
    calm_scenario: Scenario, loss_scenario: Scenario
) -> None:
    assert saved(calm_scenario) != saved(loss_scenario)


def test_it_answers_404_for_an_unknown_slug(client: Client) -> None:
    response = client.get("/r/0123456789abcdef")
    assert response.status_code == 404


def test_it_answers_404_for_a_stored_scenario_that_no_longer_validates(client: Client) -> None:
    SharedScenario.objects.create(slug="00000000deadbeef", source={"name": "x", "bogus": 1})
    assert client.get("/r/00000000deadbeef").status_code == 404


def test_it_shows_the_player_and_crash_buttons(client: Client, calm_scenario: Scenario) -> None:
    slug = saved(calm_scenario)
    body = text(client.get(f"/r/{slug}"))
    assert f'data-ws-path="/ws/runs/{slug}"' in body
    assert 'name="target" value="c1"' in body
    assert "crash the consumer here" in body
    assert 'href="/static/vendor/plotly-basic.min.js" as="script" data-plotly' in body


def test_it_escapes_markup_in_a_shared_description(client: Client, calm_scenario: Scenario) -> None:
    source = scenarios.source_of(calm_scenario)
    source["description"] = "<script>alert(1)</script> **bold**"
    slug = saved(parse_scenario(source))
    body = text(client.get(f"/r/{slug}"))
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;" in body
    assert "<strong>bold</strong>" in body


def test_it_compares_two_runs_and_names_the_differences(
    client: Client, calm_scenario: Scenario, loss_scenario: Scenario
) -> None:
    old, new = saved(calm_scenario), saved(loss_scenario)
    body = text(client.get(f"/r/{new}?compare={old}"))
    assert "Before and after" in body
    assert "group billing: skipped (never processed) 0 → 1" in body
    assert "processed never" not in body  # the sum of skipped and unread: named once
    assert "message p1#0: processed once → never processed" in body


def test_it_answers_404_for_an_unknown_comparison(client: Client, calm_scenario: Scenario) -> None:
    slug = saved(calm_scenario)
    assert client.get(f"/r/{slug}?compare=ffffffffffffffff").status_code == 404


def test_at_opens_the_player_at_a_time(client: Client, calm_scenario: Scenario) -> None:
    slug = saved(calm_scenario)
    assert 'data-start-ms="5000"' in text(client.get(f"/r/{slug}?at=5000"))
    assert "data-start-ms" not in text(client.get(f"/r/{slug}?at=soon"))


@pytest.mark.django_db
def test_head_answers_like_get_on_every_page(client: Client, calm_scenario: Scenario) -> None:
    slug = saved(calm_scenario)
    for path in ("/", f"/r/{slug}", f"/embed/{slug}", f"/api/scenarios/{slug}"):
        head, get = client.head(path), client.get(path)
        assert head.status_code == get.status_code == 200, path
        assert head["Content-Type"] == get["Content-Type"]
