"""Hostile numbers and text get a clear 400/422 naming the field, never a 500."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from playground import scenarios
from simcore import Scenario
from tests.web.helpers import saved, text

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.mark.parametrize("at", ["²", "9" * 5000, "-5", "1e3", "١٢", "99999999999"])
def test_a_bad_start_time_is_a_400_page_naming_at(
    client: Client, calm_scenario: Scenario, at: str
) -> None:
    response = client.get(f"/r/{saved(calm_scenario)}", {"at": at})
    assert response.status_code == 400
    body = text(response)
    assert "data-error-message><code>at</code>" in body
    assert len(body) < 20_000  # the 5,000 digits are not echoed back


def test_a_good_start_time_opens_the_player_there(client: Client, calm_scenario: Scenario) -> None:
    response = client.get(f"/r/{saved(calm_scenario)}", {"at": "1500"})
    assert 'data-start-ms="1500"' in text(response)


@pytest.mark.parametrize("value", ["²", "9" * 5000])
def test_a_bad_quick_field_is_shown_beside_it(
    client: Client, calm_scenario: Scenario, value: str
) -> None:
    slug = saved(calm_scenario)
    field = "consumers[0].processing_ms"
    response = client.post(f"/r/{slug}/quick", {field: value}, **HTMX)
    assert response.status_code == 422
    assert f'data-field="{field}"' in text(response)


def test_a_bad_compare_value_is_shown(client: Client, calm_scenario: Scenario) -> None:
    slug = saved(calm_scenario)
    form = {"setting": "consumers.processing_ms", "value": "9" * 5000}
    response = client.post(f"/r/{slug}/compare", form, **HTMX)
    assert response.status_code == 422
    assert "digits" in text(response)


@pytest.mark.parametrize(
    ("yaml_text", "field"),
    [
        ('name: "x\\ud800y"', "name"),
        ('name: "a\\0b"', "name"),
        ("seed: " + "9" * 5000, "yaml"),
        ("[" * 50_000, "yaml"),
    ],
)
def test_yaml_that_cannot_be_stored_is_refused_beside_the_editor(
    client: Client, calm_scenario: Scenario, yaml_text: str, field: str
) -> None:
    slug = saved(calm_scenario)
    source = scenarios.to_yaml(calm_scenario)
    edited = yaml_text
    if field == "name":  # the scenario with only its name (the first line) changed
        edited = yaml_text + "\n" + source.split("\n", 1)[1]
        assert source.startswith("name: ")
    response = client.post(f"/r/{slug}/edit", {"yaml": edited}, **HTMX)
    assert response.status_code == 422
    assert f'data-field="{field}"' in text(response)


def test_an_edit_over_the_upload_limit_is_explained(
    client: Client, calm_scenario: Scenario
) -> None:
    slug = saved(calm_scenario)
    huge = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    response = client.post(f"/r/{slug}/edit", {"yaml": huge}, **HTMX)
    assert response.status_code == 413
    body = text(response)
    assert "data-error-message><code>body</code>: is over 1000 kB" in body


def test_a_form_with_too_many_fields_is_explained(client: Client, calm_scenario: Scenario) -> None:
    slug = saved(calm_scenario)
    form = {f"f{k}": "1" for k in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)}
    response = client.post(f"/r/{slug}/quick", form)
    assert response.status_code == 400
    assert "form fields" in text(response)


@pytest.mark.parametrize("slug", ["%00", "x" * 300, "0123456789ABCDEF", "%ED%A0%80"])
def test_a_slug_of_the_wrong_shape_is_a_plain_404(client: Client, slug: str) -> None:
    assert client.get(f"/r/{slug}").status_code == 404
    assert client.get(f"/api/scenarios/{slug}").status_code == 404


def test_a_hostile_compare_link_is_a_404(client: Client, calm_scenario: Scenario) -> None:
    response = client.get(f"/r/{saved(calm_scenario)}", {"compare": "\x00"})
    assert response.status_code == 404
