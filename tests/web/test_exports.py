"""/r/<slug>/export/<file>: the run's CSV files, JSON and Markdown summary (issue 12)."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.test import Client

from playground.export_views import EXPORTS, file_stem
from simcore import builtin_scenario, parse_scenario, scenario_digest
from tests.web.helpers import saved, text

pytestmark = pytest.mark.django_db
LEADER_DIES = "acks-1-leader-dies"


@pytest.mark.parametrize("name", EXPORTS)
def test_each_file_downloads_named_after_the_scenario(client: Client, name: str) -> None:
    slug = saved(builtin_scenario(LEADER_DIES))
    response = client.get(f"/r/{slug}/export/{name}")
    assert response.status_code == 200
    disposition = response["Content-Disposition"]
    assert disposition.startswith('attachment; filename="acks-1-the-leader-acknowledges-dies')
    assert disposition.endswith(f'-{name}"')
    assert response.content


def test_the_csv_files_are_the_run(client: Client) -> None:
    slug = saved(builtin_scenario(LEADER_DIES))
    messages = list(csv.DictReader(io.StringIO(text(client.get(f"/r/{slug}/export/messages.csv")))))
    assert [m["id"] for m in messages if m["outcome"].startswith("lost")] == [
        f"p1#{k}" for k in range(5)
    ]
    lag = list(csv.DictReader(io.StringIO(text(client.get(f"/r/{slug}/export/lag.csv")))))
    assert lag[-1]["committed"] == "5"


def test_the_json_replays_and_the_markdown_links_back(client: Client) -> None:
    slug = saved(builtin_scenario(LEADER_DIES))
    document = json.loads(client.get(f"/r/{slug}/export/run.json").content)
    assert document["format"] == "kafka-playground-run" and document["version"] == 2
    assert scenario_digest(parse_scenario(document["scenario"]))[:16] == slug
    summary = text(client.get(f"/r/{slug}/export/summary.md"))
    assert f"<http://testserver/r/{slug}>" in summary


def test_an_unknown_file_is_a_404_naming_the_choices(client: Client) -> None:
    slug = saved(builtin_scenario(LEADER_DIES))
    response = client.get(f"/r/{slug}/export/passwords.txt")
    assert response.status_code == 404


def test_the_share_page_lists_every_export(client: Client) -> None:
    slug = saved(builtin_scenario(LEADER_DIES))
    body = text(client.get(f"/r/{slug}/share"))
    for name in EXPORTS:
        assert f'href="/r/{slug}/export/{name}"' in body


def test_file_names_are_plain_ascii() -> None:
    assert file_stem('Ünïcode: the <a href> & "quotes"') == "unicode-the-a-href-quotes"
    assert file_stem("///") == "scenario"
    assert len(file_stem("x" * 200)) == 60
