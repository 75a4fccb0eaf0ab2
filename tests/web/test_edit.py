"""The config panel: YAML and quick fields, errors beside the field the error names."""

import pytest
from django.test import Client

from playground import scenarios
from simcore import Scenario
from tests.web.helpers import saved, stored, text

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def test_it_saves_edited_yaml_and_redirects_to_its_permalink(
    client: Client, calm_scenario: Scenario
) -> None:
    slug = saved(calm_scenario)
    yaml_text = scenarios.to_yaml(calm_scenario).replace("processing_ms: 3000", "processing_ms: 10")
    response = client.post(f"/r/{slug}/edit", {"yaml": yaml_text})
    assert response.status_code == 303
    new_slug = response["Location"].removeprefix("/r/")
    assert new_slug != slug
    assert stored(new_slug).consumers[0].processing_ms == 10


def test_it_redirects_htmx_with_a_header(client: Client, calm_scenario: Scenario) -> None:
    slug = saved(calm_scenario)
    yaml_text = scenarios.to_yaml(calm_scenario).replace("seed: 1", "seed: 2")
    response = client.post(f"/r/{slug}/edit", {"yaml": yaml_text}, **HTMX)
    assert response.status_code == 200
    assert response["HX-Redirect"].startswith("/r/")


def test_it_shows_a_bad_property_beside_the_yaml_as_a_partial(
    client: Client, calm_scenario: Scenario
) -> None:
    slug = saved(calm_scenario)
    yaml_text = scenarios.to_yaml(calm_scenario).replace(
        "auto.commit.interval.ms: 5000", "auto.commit.interval.ms: -1"
    )
    response = client.post(f"/r/{slug}/edit", {"yaml": yaml_text}, **HTMX)
    assert response.status_code == 422
    body = text(response)
    assert "<html" not in body  # only the config panel, swapped in place
    assert 'data-field="consumers[0].config.auto.commit.interval.ms"' in body
    assert 'aria-invalid="true"' in body
    assert "auto.commit.interval.ms: -1" in body  # what was typed is kept


def test_it_shows_the_whole_page_with_the_error_without_htmx(
    client: Client, calm_scenario: Scenario
) -> None:
    slug = saved(calm_scenario)
    yaml_text = scenarios.to_yaml(calm_scenario).replace(
        "enable.auto.commit:", "enable.auto.comit:"
    )
    response = client.post(f"/r/{slug}/edit", {"yaml": yaml_text})
    assert response.status_code == 422
    body = text(response)
    assert "<html" in body
    assert "did you mean &#x27;enable.auto.commit&#x27;?" in body


def test_it_rejects_broken_yaml_naming_it(client: Client, calm_scenario: Scenario) -> None:
    slug = saved(calm_scenario)
    response = client.post(f"/r/{slug}/edit", {"yaml": "name: [unclosed"}, **HTMX)
    assert response.status_code == 422
    assert 'data-field="yaml"' in text(response)


def test_it_rejects_oversized_text_before_parsing(client: Client, calm_scenario: Scenario) -> None:
    slug = saved(calm_scenario)
    huge = "# padding\n" * 11_000 + scenarios.to_yaml(calm_scenario)
    response = client.post(f"/r/{slug}/edit", {"yaml": huge}, **HTMX)
    assert response.status_code == 422
    body = text(response)
    assert 'data-field="yaml"' in body
    assert "limited to 100 kB" in body


def test_it_applies_a_changed_quick_field(client: Client, calm_scenario: Scenario) -> None:
    slug = saved(calm_scenario)
    form = _quick_form(calm_scenario)
    form["consumers[0].config.enable.auto.offset.store"] = "ignored: not a quick field"
    form["consumers[0].config.auto.commit.interval.ms"] = "1000"
    response = client.post(f"/r/{slug}/quick", form)
    assert response.status_code == 303
    edited = stored(response["Location"].removeprefix("/r/"))
    assert edited.consumers[0].auto_commit_interval_ms == 1000
    assert edited.consumers[0].processing_ms == calm_scenario.consumers[0].processing_ms


def test_an_untouched_quick_form_keeps_the_permalink(
    client: Client, calm_scenario: Scenario
) -> None:
    slug = saved(calm_scenario)
    response = client.post(f"/r/{slug}/quick", _quick_form(calm_scenario))
    assert response["Location"] == f"/r/{slug}"


@pytest.mark.parametrize(
    ("field", "value", "is_text_input"),
    [
        ("consumers[0].processing_ms", "-5", True),
        ("consumers[0].processing_ms", "slow", True),
        ("consumers[0].config.auto.commit.interval.ms", "-1", True),
        ("consumers[0].commit", "sometimes", False),
    ],
)
def test_it_shows_a_quick_field_error_beside_that_field(
    client: Client, calm_scenario: Scenario, field: str, value: str, is_text_input: bool
) -> None:
    slug = saved(calm_scenario)
    form = _quick_form(calm_scenario)
    form[field] = value
    response = client.post(f"/r/{slug}/quick", form, **HTMX)
    assert response.status_code == 422
    body = text(response)
    assert f'<span class="error" role="alert" data-field="{field}">' in body
    if is_text_input:  # what was typed stays in the field
        assert f'name="{field}" value="{value}"' in body


def _quick_form(scenario: Scenario) -> dict[str, str]:
    return {
        field["name"]: field["value"]
        for consumer in scenarios.quick_fields(scenario)
        for field in consumer["fields"]
    }


@pytest.mark.django_db
def test_a_legal_but_lesson_changing_setting_is_explained_beside_it(client: Client) -> None:
    from simcore import parse_scenario
    from tests.simcore.helpers import consumer, scenario

    data = scenario(consumers=[consumer(client="librdkafka", commit="sync-per-record")])
    body = client.get(f"/r/{saved(parse_scenario(data))}").content.decode()
    config = body[body.index('id="config"') :]
    assert 'data-field="consumers[0].config.enable.auto.commit"' in config
    assert "skip a message in progress" in config


@pytest.mark.django_db
def test_an_edited_run_says_so_and_links_back_to_its_original(
    client: Client, calm_scenario: Scenario
) -> None:
    slug = saved(calm_scenario)
    form = _quick_form(calm_scenario)
    form["consumers[0].processing_ms"] = "123"
    location = client.post(f"/r/{slug}/quick", form)["Location"]
    edited = stored(location.removeprefix("/r/"))
    assert edited.name == calm_scenario.name + " (edited)"
    body = client.get(location).content.decode()
    assert f'Edited from <a href="/r/{slug}">' in body


@pytest.mark.django_db
def test_an_edit_can_retitle_and_redescribe_the_run(
    client: Client, calm_scenario: Scenario
) -> None:
    slug = saved(calm_scenario)
    form = _quick_form(calm_scenario)
    form["consumers[0].processing_ms"] = "123"
    form["name"] = "Our billing consumer, slower"
    form["description"] = "What happens when *billing* takes 123 ms a record."
    location = client.post(f"/r/{slug}/quick", form)["Location"]
    edited = stored(location.removeprefix("/r/"))
    assert edited.name == "Our billing consumer, slower"
    assert edited.description.startswith("What happens when *billing*")


@pytest.mark.django_db
def test_an_untouched_form_from_a_browser_keeps_the_permalink(
    client: Client, calm_scenario: Scenario
) -> None:
    slug = saved(calm_scenario)
    form = _quick_form(calm_scenario)
    form["name"] = calm_scenario.name
    form["description"] = calm_scenario.description.replace("\n", "\r\n")  # as a textarea
    assert client.post(f"/r/{slug}/quick", form)["Location"] == f"/r/{slug}"
