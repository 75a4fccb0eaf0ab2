"""/embed/<slug>?panels=…&at=…&autoplay=…&theme=… and the share page (issue 12)."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from playground import embeds, pagecache
from simcore import Scenario, builtin_scenario
from tests.web.helpers import saved, text

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_pages() -> None:
    pagecache.reset()


def leader_dies() -> str:
    return saved(builtin_scenario("acks-1-leader-dies"))


def test_a_replication_scenario_shows_the_cluster_by_default(client: Client) -> None:
    body = text(client.get(f"/embed/{leader_dies()}"))
    assert 'id="cluster"' in body
    assert "js/cluster.js" in body
    assert 'data-message="p1#0"' in body  # the acknowledged-then-lost list
    assert 'class="headline' in body
    assert "kill this broker" not in body  # an embed tells; it has no fault buttons


def test_a_consumer_scenario_shows_the_stage_and_log_by_default(
    client: Client, loss_scenario: Scenario
) -> None:
    body = text(client.get(f"/embed/{saved(loss_scenario)}"))
    assert 'id="cluster"' not in body
    assert 'id="events"' in body
    assert "hide-strip" not in body and "hide-chart" not in body


def test_the_verdict_comes_before_the_player(client: Client) -> None:
    body = text(client.get(f"/embed/{leader_dies()}"))
    assert body.index('class="headline') < body.index('id="player"')


def test_panels_choose_what_is_shown(client: Client) -> None:
    body = text(client.get(f"/embed/{leader_dies()}?panels=chart,verdict"))
    assert 'id="cluster"' not in body
    assert "hide-strip" in body and "hide-chart" not in body
    body = text(client.get(f"/embed/{leader_dies()}?panels=cluster"))
    assert 'class="headline' not in body
    assert "hide-stage" in body


def test_at_opens_the_player_at_a_time_or_a_step(client: Client) -> None:
    slug = leader_dies()
    assert 'data-start-ms="13000"' in text(client.get(f"/embed/{slug}?at=13000"))
    assert 'data-start-ms="13000"' in text(client.get(f"/embed/{slug}?at=13000ms"))
    from playground import runner

    frames = runner.run(builtin_scenario("acks-1-leader-dies"))["frames"]
    step_t = frames[5]["t"]
    assert f'data-start-ms="{step_t}"' in text(client.get(f"/embed/{slug}?at=step:5"))
    last_t = frames[-1]["t"]  # a step past the end opens at the last one
    assert f'data-start-ms="{last_t}"' in text(client.get(f"/embed/{slug}?at=step:99999"))


def test_autoplay_and_theme(client: Client) -> None:
    body = text(client.get(f"/embed/{leader_dies()}?autoplay=1&theme=dark"))
    assert 'data-autoplay="1"' in body
    assert "theme-dark" in body
    assert "theme-light" in text(client.get(f"/embed/{leader_dies()}"))


@pytest.mark.parametrize(
    ("query", "field", "allowed"),
    [
        ("panels=cluster,tea", "panels", "verdict, stage, strip, chart, cluster, log"),
        ("at=soon", "at", "step:&lt;n&gt;"),
        ("at=step:x", "at", "whole number"),
        ("at=%C2%B2", "at", "simulated milliseconds"),
        ("autoplay=yes", "autoplay", "0, 1"),
        ("theme=blue", "theme", "light, dark"),
    ],
)
def test_a_bad_option_is_a_400_naming_it(
    client: Client, query: str, field: str, allowed: str
) -> None:
    response = client.get(f"/embed/{leader_dies()}?{query}")
    assert response.status_code == 400
    body = text(response)
    assert field in body and allowed in body


def test_the_share_page_offers_a_snippet_that_sizes_the_iframe(client: Client) -> None:
    slug = leader_dies()
    response = client.get(f"/r/{slug}/share?panels=cluster,verdict&at=13000&theme=dark")
    assert response.status_code == 200
    snippet = re.search(r'<textarea class="snippet"[^>]*>(.*?)</textarea>', text(response), re.S)
    assert snippet is not None
    html = snippet.group(1)
    assert f"http://testserver/embed/{slug}?panels=verdict,cluster&amp;amp;at=13000" in html
    assert "playground:embed-height" in html and "data-playground-embed" in html


def test_the_share_form_works_without_javascript(client: Client) -> None:
    slug = leader_dies()
    body = text(client.get(f"/r/{slug}/share?panel=log&panel=verdict&panels=cluster"))
    assert f"/embed/{slug}?panels=verdict,log" in body


def test_the_scenario_page_links_the_share_page_and_discovers_oembed(client: Client) -> None:
    slug = leader_dies()
    body = text(client.get(f"/r/{slug}"))
    assert f'href="/r/{slug}/share"' in body
    link = re.search(r'<link rel="alternate" type="application/json\+oembed" href="([^"]+)"', body)
    assert link is not None
    assert link.group(1).startswith("http://testserver/oembed?url=http%3A%2F%2Ftestserver%2Fr%2F")


def test_defaults_depend_on_the_scenario() -> None:
    assert embeds.default_panels(builtin_scenario("acks-1-leader-dies"))[:2] == (
        "verdict",
        "cluster",
    )
    assert "cluster" not in embeds.default_panels(builtin_scenario("librdkafka-auto-commit"))
