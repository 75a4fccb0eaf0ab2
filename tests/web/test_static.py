"""Every front-end asset is served by the app itself (no CDN)."""

import pytest
from django.test import Client

# Closing a response fires request_finished, which checks the database connection.
pytestmark = pytest.mark.django_db


def _get(client: Client, path: str) -> tuple[int, bytes]:
    response = client.get(path)
    try:
        body = b"".join(response.streaming_content) if response.streaming else response.content
    finally:
        response.close()
    return response.status_code, body


def test_it_serves_plotly_js_from_the_plotly_package(client: Client) -> None:
    status, body = _get(client, "/static/vendor/plotly.min.js")
    assert status == 200
    assert b"plotly.js v" in body[:200]


def test_it_serves_htmx_and_its_websocket_extension(client: Client) -> None:
    assert _get(client, "/static/django_htmx/htmx-2.min.js")[0] == 200
    assert _get(client, "/static/django_htmx/ext/hx-ws-2.min.js")[0] == 200


def test_it_exposes_no_other_plotly_package_file(client: Client) -> None:
    assert _get(client, "/static/vendor/widgetbundle.js")[0] == 404
