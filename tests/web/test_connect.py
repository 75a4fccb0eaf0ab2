"""/connect: TLS and SASL outcomes with each client's own message (issue 15)."""

from __future__ import annotations

import html

import pytest
from django.test import Client

from tests.web.helpers import text

pytestmark = pytest.mark.django_db


def post(client: Client, **form: object) -> tuple[int, str]:
    response = client.post("/connect", form)
    return response.status_code, html.unescape(text(response))


def test_the_page_opens_on_a_mechanism_the_listener_does_not_enable(client: Client) -> None:
    response = client.get("/connect")
    page = html.unescape(text(response))
    assert response.status_code == 200
    assert "Client SASL mechanism 'PLAIN' not enabled in the server" in page
    assert 'href="/connect"' in text(client.get("/"))


def test_a_wrong_scram_password_as_librdkafka_reports_it(client: Client) -> None:
    status, page = post(
        client,
        listener="SASL_SSL",
        mechanisms=["SCRAM-SHA-256"],
        family="librdkafka",
        protocol="SASL_SSL",
        mechanism="SCRAM-SHA-256",
        credentials="wrong",
    )
    assert status == 200
    assert "SASL authentication error: Authentication failed during authentication" in page
    assert "keeps reconnecting" in page


def test_the_table_shows_every_listener_and_protocol(client: Client) -> None:
    _, page = post(client, listener="SSL", protocol="SSL", family="java", mechanism="PLAIN")
    assert "Connected" in page
    table = page[page.index("connect-table") :]
    assert table.count("connects") >= 2  # PLAINTEXT/PLAINTEXT and SSL/SSL at least
    assert "TLS handshake (broker side)" in table


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"listener": "TLS"}, "listener"),
        ({"mechanisms": ["KERBEROS"]}, "mechanisms"),
        ({"family": "go"}, "family"),
        ({"credentials": "maybe"}, "credentials"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(client: Client, form: dict, field: str) -> None:  # type: ignore[type-arg]
    status, page = post(client, **form)
    assert status == 422
    assert f'data-field="{field}"' in page
