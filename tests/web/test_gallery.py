import pytest
from django.test import Client

from playground import pages, scenarios
from simcore import builtin_scenario, builtin_scenarios
from simcore.scenario.courses import Chapter, Course, courses


@pytest.mark.django_db
def test_it_lists_every_builtin_scenario_with_its_permalink(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 200
    body = response.content.decode()
    for _name, scenario in builtin_scenarios():
        assert f'href="/r/{scenarios.slug_of(scenario)}"' in body
    assert len(builtin_scenarios()) > 0


@pytest.mark.django_db
def test_it_is_not_frameable(client: Client) -> None:
    assert client.get("/").headers["X-Frame-Options"] == "DENY"


@pytest.mark.django_db
def test_cards_render_code_spans_instead_of_showing_backticks(client: Client) -> None:
    body = client.get("/").content.decode()
    cards = body[body.index('<ol class="gallery">') :]
    assert "<code>enable.auto.commit=true</code>" in cards
    assert "`" not in cards


@pytest.mark.django_db
def test_cards_are_grouped_under_the_course_chapters_each_built_in_once(client: Client) -> None:
    body = client.get("/").content.decode()
    course = courses()["kafka-semantics"]
    assert f"in {len(course.chapters)} chapters" in body
    positions = [body.index(f'<h2 id="chapter-{n}">') for n in range(1, len(course.chapters) + 1)]
    assert positions == sorted(positions)
    for number, chapter in enumerate(course.chapters, 1):
        start = body.index(f'<h2 id="chapter-{number}">')
        end = positions[number] if number < len(positions) else len(body)
        section = body[start:end]
        assert chapter.title in section
        for name in chapter.scenarios:  # each of the chapter's scenarios is a card in it
            assert f'href="/r/{scenarios.slug_of(builtin_scenario(name))}"' in section
    for _name, scenario in builtin_scenarios():  # and no card twice
        assert body.count(f'href="/r/{scenarios.slug_of(scenario)}"') == 1


def test_a_built_in_left_out_of_the_course_still_gets_a_card() -> None:
    full = courses()["kafka-semantics"]
    first = full.chapters[0]
    trimmed = Course(
        full.slug, full.name, full.description, (Chapter(first.title, first.scenarios[1:]),)
    )
    sections = pages.gallery_sections(trimmed)
    assert sections[-1]["title"] == "More scenarios"
    names = [item["name"] for section in sections for item in section["items"]]
    assert builtin_scenario(first.scenarios[0]).name in names
    assert len(names) == len(builtin_scenarios())
