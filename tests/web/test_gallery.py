import pytest
from django.test import Client

from playground import scenarios
from simcore import builtin_scenarios


@pytest.mark.django_db
def test_it_lists_every_builtin_scenario_with_its_permalink(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 200
    body = response.content.decode()
    for _name, scenario in builtin_scenarios():
        assert f'href="/r/{scenarios.slug_of(scenario)}"' in body
    assert len(builtin_scenarios()) > 0


@pytest.mark.django_db
def test_it_is_not_frameable(client: Client) -> None:
    assert client.get("/").headers["X-Frame-Options"] == "DENY"


@pytest.mark.django_db
def test_cards_render_code_spans_instead_of_showing_backticks(client: Client) -> None:
    body = client.get("/").content.decode()
    cards = body[body.index('<ol class="gallery">') :]
    assert "<code>enable.auto.commit=true</code>" in cards
    assert "`" not in cards
