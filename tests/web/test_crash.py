"""'Crash the consumer here': an injected fault, a new permalink, the outcome beside the old."""

import pytest
from django.test import Client

from simcore import Scenario
from tests.web.helpers import saved, stored, text

pytestmark = pytest.mark.django_db


def test_it_adds_an_injected_crash_and_compares_with_the_old_run(
    client: Client, calm_scenario: Scenario
) -> None:
    slug = saved(calm_scenario)
    # 5500 ms: librdkafka's timer has just committed offset 1 while offset 0 is in progress
    response = client.post(f"/r/{slug}/crash", {"target": "c1", "at_ms": "5500"})
    assert response.status_code == 303
    new_slug, _, compare = response["Location"].removeprefix("/r/").partition("?compare=")
    assert compare == slug
    fault = stored(new_slug).faults[-1]
    assert (fault.action, fault.target, fault.at_ms) == ("crash", "c1", 5500)
    assert fault.restart_after_ms == 1000
    assert fault.injected is True

    body = text(client.get(response["Location"]))
    assert "Before and after" in body
    assert "message p1#0: processed once → never processed" in body


def test_the_same_crash_twice_gives_the_same_permalink(
    client: Client, calm_scenario: Scenario
) -> None:
    slug = saved(calm_scenario)
    first = client.post(f"/r/{slug}/crash", {"target": "c1", "at_ms": "5008"})
    second = client.post(f"/r/{slug}/crash", {"target": "c1", "at_ms": "5008"})
    assert first["Location"] == second["Location"]


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"target": "c1", "at_ms": "soon"}, "at_ms"),
        ({"target": "c1"}, "at_ms"),
        ({"target": "nobody", "at_ms": "10"}, "target"),
    ],
)
def test_it_rejects_a_bad_crash_naming_the_field(
    client: Client, calm_scenario: Scenario, form: dict[str, str], field: str
) -> None:
    slug = saved(calm_scenario)
    response = client.post(f"/r/{slug}/crash", form)
    assert response.status_code == 422
    assert f'data-field="{field}"' in text(response)


def test_it_rejects_a_crash_out_of_the_scenario_range(
    client: Client, calm_scenario: Scenario
) -> None:
    slug = saved(calm_scenario)
    response = client.post(f"/r/{slug}/crash", {"target": "c1", "at_ms": "-5"})
    assert response.status_code == 422
    assert 'data-field="faults[0].at_ms"' in text(response)


def test_the_new_run_starts_before_its_page_is_asked_for(
    client: Client, calm_scenario: Scenario
) -> None:
    """ "Crash here" starts the new run as it answers: the browser's request for the new
    page joins a run already under way (or done) instead of starting it."""
    from playground import runner, scenarios
    from simcore import parse_scenario

    source = scenarios.source_of(calm_scenario)
    source["seed"] = 7301  # a run no other test has cached
    old = saved(parse_scenario(source))
    response = client.post(f"/r/{old}/crash", {"target": "c1", "at_ms": "4000"})
    new = stored(response["Location"].removeprefix("/r/").partition("?")[0])
    key = runner.key_of(new)
    assert key in runner._jobs or runner._cached(key) is not None
    assert client.get(response["Location"]).status_code == 200
