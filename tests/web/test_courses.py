"""The course page: chapters in order, every scenario linked to its permalink."""

import pytest
from django.test import Client

from playground import scenarios
from simcore import builtin_scenario
from simcore.scenario.courses import courses


@pytest.mark.django_db
def test_the_course_page_lists_its_chapters_and_links_every_scenario_in_order(client: Client):
    course = courses()["kafka-semantics"]
    response = client.get("/course/kafka-semantics")
    assert response.status_code == 200
    body = response.content.decode()
    for chapter in course.chapters:
        assert chapter.title.replace('"', "&quot;") in body
    links = [f'href="/r/{scenarios.slug_of(builtin_scenario(s))}"' for s in course.order()]
    positions = [body.index(link) for link in links]
    assert positions == sorted(positions)
    assert "1 question to predict" in body  # librdkafka-auto-commit asks one
    assert 'href="/course/kafka-semantics"' in client.get("/").content.decode()


@pytest.mark.django_db
def test_an_unknown_course_is_a_404_naming_the_known_ones(client: Client):
    response = client.get("/course/nope")
    assert response.status_code == 404
    body = response.content.decode()
    assert "no course named &#x27;nope&#x27;" in body and "kafka-semantics" in body


@pytest.mark.django_db
def test_head_answers_like_get(client: Client):
    assert client.head("/course/kafka-semantics").status_code == 200
