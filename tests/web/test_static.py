"""Every front-end asset is served by the app itself (no CDN)."""

import re

import pytest
from django.test import Client

import simcore
from tests.web.helpers import saved

# Closing a response fires request_finished, which checks the database connection.
pytestmark = pytest.mark.django_db


def _get(client: Client, path: str) -> tuple[int, bytes]:
    response = client.get(path)
    try:
        body = b"".join(response.streaming_content) if response.streaming else response.content
    finally:
        response.close()
    return response.status_code, body


def test_it_serves_the_vendored_plotly_basic_bundle(client: Client) -> None:
    status, body = _get(client, "/static/vendor/plotly-basic.min.js")
    assert status == 200
    assert b"plotly.js (basic - minified) v4.1.1" in body[:200]


def test_the_scenario_pages_javascript_stays_under_1_5_mb(client: Client) -> None:
    slug = saved(simcore.builtin_scenario("java-auto-commit"))
    page = client.get(f"/r/{slug}").content.decode()
    scripts = re.findall(r'<script src="([^"]+)"', page)
    assert any("plotly-basic" in src for src in scripts)
    total = sum(len(_get(client, src)[1]) for src in scripts)
    assert total < 1_500_000, total


def test_it_serves_htmx_and_its_websocket_extension(client: Client) -> None:
    assert _get(client, "/static/django_htmx/htmx-2.min.js")[0] == 200
    assert _get(client, "/static/django_htmx/ext/hx-ws-2.min.js")[0] == 200
