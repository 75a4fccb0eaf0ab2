import pytest
from django.test import Client, override_settings

from simcore import Scenario
from tests.web.helpers import saved, text

pytestmark = pytest.mark.django_db


def _policy(response) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The Content-Security-Policy header as {directive: sources}."""
    directives = (d.strip().split(" ", 1) for d in response["Content-Security-Policy"].split(";"))
    return {d[0]: d[1] if len(d) > 1 else "" for d in directives}


def test_it_can_be_framed_by_any_site(client: Client, loss_scenario: Scenario) -> None:
    response = client.get(f"/embed/{saved(loss_scenario)}")
    assert response.status_code == 200
    assert "X-Frame-Options" not in response.headers
    assert _policy(response)["frame-ancestors"] == "*"
    assert _policy(response)["script-src"] == "'self'"
    assert 'id="player"' in text(response)


@override_settings(EMBED_FRAME_ANCESTORS="https://wiki.example 'self'")
def test_who_may_frame_it_is_configurable(client: Client, loss_scenario: Scenario) -> None:
    response = client.get(f"/embed/{saved(loss_scenario)}")
    assert _policy(response)["frame-ancestors"] == "https://wiki.example 'self'"


def test_the_scenario_page_itself_cannot_be_framed(client: Client, loss_scenario: Scenario) -> None:
    response = client.get(f"/r/{saved(loss_scenario)}")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert _policy(response)["frame-ancestors"] == "'none'"


def test_it_answers_404_for_an_unknown_slug(client: Client) -> None:
    assert client.get("/embed/0123456789abcdef").status_code == 404
