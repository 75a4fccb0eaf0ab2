"""/oembed?url=… (https://oembed.com, JSON, type "rich")."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from simcore import builtin_scenario
from tests.web.helpers import saved

pytestmark = pytest.mark.django_db


def test_it_answers_a_rich_iframe_for_a_permalink(client: Client) -> None:
    slug = saved(builtin_scenario("acks-1-leader-dies"))
    response = client.get("/oembed", {"url": f"http://testserver/r/{slug}"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    data = json.loads(response.content)
    assert data["version"] == "1.0" and data["type"] == "rich"
    assert data["title"].startswith("acks=1")
    assert f'src="http://testserver/embed/{slug}"' in data["html"]
    assert data["width"] == 640 and data["height"] == 720


def test_it_takes_an_embed_url_and_honours_maxwidth(client: Client) -> None:
    slug = saved(builtin_scenario("acks-1-leader-dies"))
    url = f"http://testserver/embed/{slug}?at=100"
    data = json.loads(
        client.get("/oembed", {"url": url, "maxwidth": "500", "maxheight": "400"}).content
    )
    assert data["width"] == 500 and data["height"] == 400
    assert 'width="500"' in data["html"] and 'height="400"' in data["html"]


@pytest.mark.parametrize(
    ("params", "field", "status"),
    [
        ({}, "url", 400),
        ({"url": "https://evil.example/r/0123456789abcdef"}, "url", 400),
        ({"url": "http://testserver/api/run"}, "url", 400),
        ({"url": "http://testserver/r/x", "maxwidth": "wide"}, "maxwidth", 400),
        ({"url": "http://testserver/r/x", "format": "xml"}, "format", 501),
    ],
)
def test_bad_parameters_are_named(
    client: Client, params: dict[str, str], field: str, status: int
) -> None:
    response = client.get("/oembed", params)
    assert response.status_code == status
    assert json.loads(response.content)["error"]["field"] == field


def test_an_unknown_link_is_a_404(client: Client) -> None:
    assert client.get("/oembed", {"url": "http://testserver/r/0123456789abcdef"}).status_code == 404
