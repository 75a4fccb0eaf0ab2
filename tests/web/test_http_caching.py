"""ETag and Cache-Control on what a permalink serves (issue 12): a client that has the
answer gets 304; a run a cap stopped is never kept."""

from __future__ import annotations

import pytest
from django.test import Client

from playground import pagecache, runner
from simcore import builtin_scenario
from tests.web.helpers import saved

pytestmark = pytest.mark.django_db
LEADER_DIES = "acks-1-leader-dies"


@pytest.mark.parametrize(
    ("path", "cache_control", "weak"),
    [
        ("/r/{slug}", "private, max-age=0, must-revalidate", True),
        ("/embed/{slug}", "public, max-age=300", False),
        ("/api/scenarios/{slug}", "public, max-age=86400", False),
        ("/r/{slug}/export/lag.csv", "public, max-age=86400", False),
    ],
)
def test_it_answers_304_to_a_client_that_has_it(
    client: Client, path: str, cache_control: str, weak: bool
) -> None:
    url = path.format(slug=saved(builtin_scenario(LEADER_DIES)))
    first = client.get(url)
    assert first.status_code == 200
    assert first["Cache-Control"] == cache_control
    tag = first["ETag"]
    assert tag.startswith('W/"') == weak
    again = client.get(url, HTTP_IF_NONE_MATCH=tag)
    assert again.status_code == 304
    assert again["ETag"] == tag and not again.content
    other = client.get(url, HTTP_IF_NONE_MATCH='"something-else"')
    assert other.status_code == 200


def test_each_link_and_option_has_its_own_tag(client: Client) -> None:
    slug = saved(builtin_scenario(LEADER_DIES))
    tags = {
        client.get(url)["ETag"]
        for url in (f"/embed/{slug}", f"/embed/{slug}?at=100", f"/r/{slug}", f"/r/{slug}?at=100")
    }
    assert len(tags) == 4


def test_a_template_change_changes_the_tag(
    client: Client, settings: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    slug = saved(builtin_scenario(LEADER_DIES))
    settings.DEBUG = True  # type: ignore[attr-defined]
    before = client.get(f"/embed/{slug}")["ETag"]
    monkeypatch.setattr(pagecache, "_digest_templates", lambda: "edited")
    assert client.get(f"/embed/{slug}", HTTP_IF_NONE_MATCH=before).status_code == 200


def test_a_run_that_did_not_finish_on_its_own_is_not_kept(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    slug = saved(builtin_scenario(LEADER_DIES))
    monkeypatch.setattr(runner, "finished", lambda scenario: False)  # as if the clock cut it
    for url in (f"/api/scenarios/{slug}", f"/embed/{slug}", f"/r/{slug}/export/run.json"):
        response = client.get(url)
        assert response.status_code == 200
        assert response["Cache-Control"] == "no-store"
        assert "ETag" not in response


def test_only_a_run_that_ended_by_itself_counts_as_finished() -> None:
    from playground.jobs import CAPPED_TTL_SECONDS, KEEP_SECONDS

    assert CAPPED_TTL_SECONDS < KEEP_SECONDS  # what runner.finished tells them apart by
    scenario = builtin_scenario(LEADER_DIES)
    runner.run(scenario)
    assert runner.finished(scenario)
