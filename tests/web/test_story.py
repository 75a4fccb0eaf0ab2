import pytest
from django.test import Client

from simcore import Scenario
from tests.web.helpers import saved, text

pytestmark = pytest.mark.django_db


def test_it_tells_a_message_story_as_an_htmx_partial(
    client: Client, loss_scenario: Scenario
) -> None:
    slug = saved(loss_scenario)
    response = client.get(f"/r/{slug}/story", {"m": "p1#1"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    body = text(response)
    assert "<html" not in body
    assert "Story of p1#1" in body
    assert "appends 3 records" in body


def test_it_tells_the_story_as_a_full_page_without_htmx(
    client: Client, loss_scenario: Scenario
) -> None:
    slug = saved(loss_scenario)
    body = text(client.get(f"/r/{slug}/story", {"m": "p1#1"}))
    assert "<html" in body
    assert "Story of p1#1" in body


def test_it_answers_404_for_an_unknown_message(client: Client, loss_scenario: Scenario) -> None:
    slug = saved(loss_scenario)
    assert client.get(f"/r/{slug}/story", {"m": "p9#9"}).status_code == 404
