"""Workshop rooms over HTTP (room_views): creating, joining by code, the two pages, the
instructor's buttons, and the idle end. The live part is tests/web/test_room_consumer.py."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from playground import rooms, scenarios
from playground.models import Room
from simcore import builtin_scenario
from tests.web.helpers import text

pytestmark = pytest.mark.django_db
HOST = re.compile(r"^/room/([A-Z0-9]+)/host/([\w-]+)$")


def new_room(client: Client, **form: str) -> tuple[str, str]:
    response = client.post("/rooms/new", form)
    assert response.status_code == 303, text(response)
    found = HOST.match(response["Location"])
    assert found, response["Location"]
    return found.group(1), found.group(2)


def test_a_room_from_a_scenario_gives_a_code_a_join_link_and_a_secret_host_link(
    client: Client,
) -> None:
    slug = scenarios.save(builtin_scenario("acks-1-leader-dies"))
    code, token = new_room(client, slug=slug)
    assert len(code) == rooms.CODE_LENGTH
    host = client.get(f"/room/{code}/host/{token}")
    page = text(host)
    assert host.status_code == 200
    assert host["Cache-Control"] == "no-store" and host["Referrer-Policy"] == "same-origin"
    assert f"/room/{code}" in page and 'data-role="host"' in page
    assert "acks=1: the leader acknowledges" in page  # the instructor sees the name
    # a participant's page hides the name and the outcome until the reveal, and no token
    participant = text(client.get(f"/room/{code}"))
    assert 'data-role="participant"' in participant and token not in participant
    assert "the acked records are lost" not in participant
    assert "no-spoilers" in participant
    assert 'class="card predict"' not in participant  # its answers are in the markup


def test_a_wrong_token_is_refused_with_the_field_named(client: Client) -> None:
    code, token = new_room(client, slug=scenarios.save(builtin_scenario("java-auto-commit")))
    response = client.get(f"/room/{code}/host/{token}x")
    assert response.status_code == 404
    assert "token" in text(response)
    assert client.post(f"/room/{code}/host/x/inject", {"target": "c1"}).status_code == 404


def test_a_room_from_a_course_starts_at_its_first_scenario(client: Client) -> None:
    code, _token = new_room(client, course="kafka-semantics")
    room = Room.objects.get(code=code)
    assert room.course == "kafka-semantics" and room.position == 0
    assert room.slug == scenarios.slug_of(builtin_scenario("java-auto-commit"))


@pytest.mark.parametrize(
    ("form", "field"),
    [({}, "slug"), ({"slug": "0123456789abcdef"}, "slug"), ({"course": "nope"}, "course")],
)
def test_bad_room_requests_name_the_field(client: Client, form: dict[str, str], field: str) -> None:
    response = client.post("/rooms/new", form)
    assert response.status_code == 400
    assert f"<code>{field}</code>" in text(response) or field in text(response)


def test_join_by_code_in_any_case_or_with_spaces(client: Client) -> None:
    code, _ = new_room(client, slug=scenarios.save(builtin_scenario("java-auto-commit")))
    typed = f" {code[:3].lower()} {code[3:]} "
    response = client.get("/rooms/join", {"code": typed})
    assert response.status_code == 303 and response["Location"] == f"/room/{code}"
    missing = client.get("/rooms/join", {"code": "ZZZZZZ"})
    assert missing.status_code == 404 and "code" in text(missing)


def test_a_room_ends_after_the_idle_time(client: Client) -> None:
    code, _token = new_room(client, slug=scenarios.save(builtin_scenario("java-auto-commit")))
    Room.objects.filter(code=code).update(
        active=timezone.now() - timedelta(minutes=rooms.settings.ROOM_IDLE_MINUTES + 1)
    )
    assert client.get(f"/room/{code}").status_code == 404
    assert not Room.objects.filter(code=code).exists()  # ended rooms are deleted


def test_the_instructors_crash_moves_the_room_to_the_new_run(client: Client) -> None:
    original = scenarios.save(builtin_scenario("java-auto-commit"))
    code, token = new_room(client, slug=original)
    response = client.post(f"/room/{code}/host/{token}/inject", {"target": "c1", "at_ms": "3000"})
    assert response.status_code == 303 and response["Location"] == f"/room/{code}/host/{token}"
    room = Room.objects.get(code=code)
    assert room.slug != original and room.at_ms == 3000 and room.step == -1
    assert scenarios.parent_of(room.slug)  # a child of the room's run, like any button
    bad = client.post(f"/room/{code}/host/{token}/inject", {"target": "nobody", "at_ms": "1"})
    assert bad.status_code == 400 and "target" in text(bad)


def test_a_participants_page_leaves_the_outcome_out_until_the_reveal(client: Client) -> None:
    scenario = builtin_scenario("acks-1-leader-dies")
    code, token = new_room(client, slug=scenarios.save(scenario))
    described = "leader"  # in its description
    assert described in scenario.description
    host = text(client.get(f"/room/{code}/host/{token}"))
    participant = text(client.get(f"/room/{code}"))
    assert "data-verdict=" in host and "<caption>Per topic" in host and "data-withheld" not in host
    assert "data-verdict=" not in participant and "<caption>Per topic" not in participant
    assert 'data-withheld="outcome"' in participant and 'data-withheld="headline"' in participant
    assert f'data-outcome-path="/room/{code}/outcome"' in participant
    about = participant.split('aria-label="About this scenario"')[1].split("</section>")[0]
    assert "Shown at the reveal" in about and described not in about

    early = client.get(f"/room/{code}/outcome")
    assert early.status_code == 409 and early.json()["error"]["field"] == "revealed"
    assert client.get("/room/ZZZZZZ/outcome").status_code == 404

    rooms.reveal(code)
    parts = client.get(f"/room/{code}/outcome")
    assert parts.status_code == 200 and parts["Cache-Control"] == "no-store"
    body = parts.json()
    assert set(body) == {"headline", "outcome", "warnings", "description"}
    assert "data-verdict=" in body["headline"] and 'id="outcome"' in body["outcome"]
    assert "<caption>Per topic" in body["outcome"] and described in body["description"]
    # the same pieces the instructor's page shows
    assert body["headline"].strip() in host
    revealed = text(client.get(f"/room/{code}"))  # a late joiner after the reveal: all of it
    assert "data-withheld" not in revealed and "data-verdict=" in revealed


def test_the_withheld_outcomes_forms_carry_a_mark_for_the_pages_own_csrf_token(
    client: Client,
) -> None:
    """One "outcome" message serves every participant: its forms (the security section's
    "ask /acls") get the page's token from room.js, never a token of the server's."""
    scenario = builtin_scenario("consumer-lacks-group-read")
    code, _ = new_room(client, slug=scenarios.save(scenario))
    rooms.reveal(code)
    outcome = client.get(f"/room/{code}/outcome").json()["outcome"]
    assert 'action="/acls"' in outcome
    assert 'name="csrfmiddlewaretoken" value="csrf-from-page"' in outcome
    assert outcome.count("csrfmiddlewaretoken") == outcome.count('value="csrf-from-page"')
