"""A scenario page is rendered once per run and served from memory afterwards (issue 9)."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from playground import pagecache, scenarios
from simcore import Scenario
from tests.web.helpers import saved, text

pytestmark = pytest.mark.django_db
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    pagecache.reset()


def without_tokens(html: str) -> str:
    return CSRF.sub("", html)


def test_it_serves_a_repeat_view_without_rendering_again(
    client: Client, calm_scenario: Scenario
) -> None:
    slug = saved(calm_scenario)
    before = pagecache.stats()
    first = client.get(f"/r/{slug}")
    second = Client().get(f"/r/{slug}")
    after = pagecache.stats()
    assert first.status_code == second.status_code == 200
    assert after["renders"] - before["renders"] == 1
    assert after["hits"] - before["hits"] == 1
    assert without_tokens(text(first)) == without_tokens(text(second))


def test_it_gives_each_visitor_a_token_their_form_accepts(calm_scenario: Scenario) -> None:
    slug = saved(calm_scenario)
    Client().get(f"/r/{slug}")  # rendered for someone else
    visitor = Client(enforce_csrf_checks=True)
    page = visitor.get(f"/r/{slug}")
    assert pagecache.PLACEHOLDER not in text(page)
    tokens = set(CSRF.findall(text(page)))
    assert len(tokens) == 1
    yaml_text = scenarios.to_yaml(calm_scenario).replace("seed: 1", "seed: 5")
    edit = visitor.post(f"/r/{slug}/edit", {"yaml": yaml_text, "csrfmiddlewaretoken": tokens.pop()})
    assert edit.status_code == 303


def test_it_keeps_what_the_query_string_changes_apart(
    client: Client, calm_scenario: Scenario
) -> None:
    slug = saved(calm_scenario)
    plain = text(client.get(f"/r/{slug}"))
    at = text(client.get(f"/r/{slug}?at=1200"))
    assert "data-start-ms" not in plain
    assert 'data-start-ms="1200"' in at


def test_it_renders_again_when_a_template_changes(
    client: Client, calm_scenario: Scenario, settings: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    slug = saved(calm_scenario)
    settings.DEBUG = True  # type: ignore[attr-defined]  # the digest is taken per request
    client.get(f"/r/{slug}")
    monkeypatch.setattr(pagecache, "_digest_templates", lambda: "edited")
    before = pagecache.stats()["renders"]
    client.get(f"/r/{slug}")
    assert pagecache.stats()["renders"] == before + 1
