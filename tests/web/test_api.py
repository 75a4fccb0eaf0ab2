import json

import pytest
from django.test import Client

from playground import scenarios
from simcore import Scenario
from tests.web.helpers import saved

pytestmark = pytest.mark.django_db


def _post(client: Client, body: str | bytes):  # type: ignore[no-untyped-def]
    return client.post("/api/run", body, content_type="application/json")


def test_it_returns_a_saved_scenario_with_its_outcome(
    client: Client, loss_scenario: Scenario
) -> None:
    slug = saved(loss_scenario)
    data = client.get(f"/api/scenarios/{slug}").json()
    assert data["slug"] == slug
    assert data["source"] == scenarios.source_of(loss_scenario)
    assert data["summary"]["ledger"]["groups"]["billing"]["processed_never"] == 1


def test_it_answers_404_as_json_for_an_unknown_slug(client: Client) -> None:
    response = client.get("/api/scenarios/0123456789abcdef")
    assert response.status_code == 404
    assert response.json()["error"]["field"] == "slug"


def test_it_runs_a_posted_scenario(client: Client, loss_scenario: Scenario) -> None:
    response = _post(client, json.dumps(scenarios.source_of(loss_scenario)))
    assert response.status_code == 200
    summary = response.json()
    assert set(summary) >= {"name", "seed", "digest", "ledger", "groups", "errors"}
    assert summary["ledger"]["groups"]["billing"]["processed_never"] == 1


def test_it_names_the_field_of_an_invalid_scenario(client: Client, loss_scenario: Scenario) -> None:
    source = scenarios.source_of(loss_scenario)
    source["consumers"][0]["config"]["auto.commit.interval.ms"] = -1
    response = _post(client, json.dumps(source))
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["field"] == "consumers[0].config.auto.commit.interval.ms"
    assert error["message"]
    assert "allowed" in error


@pytest.mark.parametrize(
    "body",
    [
        "{not json",
        "[1, 2]",
        '"text"',
        "[" * 50_000,  # json.loads raises RecursionError
        '{"seed": ' + "9" * 5000 + "}",  # past int()'s 4,300 digits: a ValueError
    ],
)
def test_it_rejects_a_body_that_is_not_a_scenario_object(client: Client, body: str) -> None:
    response = _post(client, body)
    assert response.status_code == 400
    assert response.json()["error"]["field"] in ("body", "scenario")
    assert "sys." not in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('{"name": "x\\ud800y"}', "name"),
        ('{"name": "a\\u0000b"}', "name"),
        ('{"name": "ok", "topics": [{"name": "t\\udfff"}]}', "topics[0].name"),
    ],
)
def test_it_refuses_text_that_cannot_be_stored_naming_the_field(
    client: Client, body: str, field: str
) -> None:
    response = _post(client, body)
    assert response.status_code == 400
    assert response.json()["error"]["field"] == field


def test_it_rejects_an_oversized_body_before_parsing(client: Client) -> None:
    response = _post(client, json.dumps({"name": "x" * 200_000}))
    assert response.status_code == 413
    assert response.json()["error"]["field"] == "body"


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("{}", "text/plain"),  # what a cross-site <form enctype="text/plain"> can send
        ("a=1", "application/x-www-form-urlencoded"),
        ("", "application/json"),  # the test client then sends no Content-Type at all
    ],
)
def test_it_only_takes_json_which_a_cross_site_form_cannot_send(
    client: Client, body: str, content_type: str, loss_scenario: Scenario
) -> None:
    if body == "{}":
        body = json.dumps(scenarios.source_of(loss_scenario))  # valid, but not as JSON
    response = client.post("/api/run", body, content_type=content_type)
    assert response.status_code == 415
    error = response.json()["error"]
    assert (error["field"], error["allowed"]) == ("Content-Type", "application/json")


def test_it_only_accepts_post(client: Client) -> None:
    assert client.get("/api/run").status_code == 405
