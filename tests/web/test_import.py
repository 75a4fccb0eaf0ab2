"""/r/<slug>/import and /r/<slug>/config/<file> (issue 12): a pasted configuration becomes
a new run with its warnings beside it; a bad one is an error naming the property."""

from __future__ import annotations

import pytest
from django.test import Client

from playground import import_views
from simcore import builtin_scenario
from tests.web.helpers import saved, stored, text

pytestmark = pytest.mark.django_db
SPRING = """
spring:
  kafka:
    consumer:
      group-id: invoices
      auto-offset-reset: earliest
      key-deserializer: org.apache.kafka.common.serialization.StringDeserializer
"""


def test_a_spring_file_becomes_a_new_run_with_its_warnings(client: Client) -> None:
    slug = saved(builtin_scenario("acks-1-leader-dies"))
    response = client.post(
        f"/r/{slug}/import", {"format": "spring-yaml", "target": "", "config": SPRING}
    )
    assert response.status_code == 200
    body = text(response)
    new_slug = response.context["new_slug"]
    assert new_slug != slug
    consumer = stored(new_slug).consumers[0]
    assert (consumer.group, consumer.commit) == ("invoices", "sync-per-batch")
    assert 'class="headline' in body  # the new run's verdict beside the warnings
    assert "key.deserializer" in body and "Spring Kafka&#x27;s default" in body
    page = text(client.get(f"/r/{new_slug}"))  # the warnings stay with the permalink
    assert "Imported from Spring Boot application.yml" in page
    assert "key.deserializer" in page


def test_an_unknown_property_is_shown_with_its_suggestion(client: Client) -> None:
    slug = saved(builtin_scenario("acks-1-leader-dies"))
    response = client.post(
        f"/r/{slug}/import", {"format": "properties", "target": "p1", "config": "ackz=all\n"}
    )
    assert response.status_code == 422
    body = text(response)
    assert 'data-field="producers[0].config.ackz"' in body
    assert "did you mean &#x27;acks&#x27;" in body
    assert "ackz=all" in body  # what was pasted stays


def test_a_bad_format_is_named(client: Client) -> None:
    slug = saved(builtin_scenario("acks-1-leader-dies"))
    response = client.post(f"/r/{slug}/import", {"format": "toml", "config": "acks=1"})
    assert response.status_code == 422
    assert 'data-field="format"' in text(response)


def test_the_clients_download_as_files_that_import_back(client: Client) -> None:
    slug = saved(builtin_scenario("acks-1-leader-dies"))
    properties = client.get(f"/r/{slug}/config/p1.properties")
    assert properties.status_code == 200
    assert "acks=1" in text(properties)
    assert properties["Content-Disposition"].endswith('-p1.properties"')
    spring = client.get(f"/r/{slug}/config/application.yml")
    assert "auto-offset-reset: earliest" in text(spring)
    again = client.post(f"/r/{slug}/import", {"format": "spring-yaml", "config": text(spring)})
    assert again.status_code == 200
    assert client.get(f"/r/{slug}/config/nobody.properties").status_code == 404


def test_warnings_fit_the_description() -> None:
    source = {"description": "x" * 4900}
    out = import_views.with_warnings(source, "properties", [f"warning {k}" for k in range(50)])
    assert len(out["description"]) <= import_views.DESCRIPTION_LIMIT
    assert "more" in out["description"]
