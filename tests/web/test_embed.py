import pytest
from django.test import Client

from simcore import Scenario
from tests.web.helpers import saved, text

pytestmark = pytest.mark.django_db


def test_it_can_be_framed_by_any_site(client: Client, loss_scenario: Scenario) -> None:
    response = client.get(f"/embed/{saved(loss_scenario)}")
    assert response.status_code == 200
    assert "X-Frame-Options" not in response.headers
    assert response.headers["Content-Security-Policy"] == "frame-ancestors *"
    assert 'id="player"' in text(response)


def test_the_scenario_page_itself_cannot_be_framed(client: Client, loss_scenario: Scenario) -> None:
    response = client.get(f"/r/{saved(loss_scenario)}")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "Content-Security-Policy" not in response.headers


def test_it_answers_404_for_an_unknown_slug(client: Client) -> None:
    assert client.get("/embed/0123456789abcdef").status_code == 404
