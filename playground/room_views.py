"""Workshop rooms over HTTP: create one, join by code, the participant's and the
instructor's pages, and the buttons "at this step" pressed in a room (rooms.py holds the
room; room_consumer.py the live part).

    POST /rooms/new                      slug=<permalink> or course=<name | c/<id>> → the host page
    GET  /rooms/join?code=ABC123          → /room/ABC123
    GET  /room/<code>                     a participant's page: the room's run, following
    GET  /room/<code>/host/<token>        the instructor's page (?presenter=1: projector view)
    GET  /room/<code>/outcome             once revealed: what a participant's page left out (JSON)
    POST /room/<code>/host/<token>/inject a button "at this step": the room follows the new run

Creating a room and pressing a button count against the per-address edit limit
(`admission.EDIT_VIEWS`).
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from playground import (
    connections,
    injections,
    lookup,
    panels,
    room_outcome,
    rooms,
    scenarios,
)
from playground.errors import error_page, error_payload, error_response, scenario_error_payload
from playground.markup import render_inline
from playground.models import Room
from playground.numbers import parse_int
from playground.room_consumer import broadcast
from playground.rooms import RoomError
from simcore import ScenarioError
from simcore.scenario.parse import MAX_DURATION_MS


def _redirect(url: str) -> HttpResponse:
    return HttpResponseRedirect(url, status=303)


def host_path(room: Room, token: str) -> str:
    return reverse("room_host", args=[room.code, token])


@require_POST
def new_room(request: HttpRequest) -> HttpResponse:
    slug, course = request.POST.get("slug", ""), request.POST.get("course", "")
    try:
        if course:
            room, token = rooms.create_for_course(course)
        elif slug:
            room, token = rooms.create_for_scenario(slug)
        else:
            raise RoomError("slug", "say which scenario (slug) or course (course) to teach")
    except RoomError as err:
        return error_page(request, err.payload)
    return _redirect(host_path(room, token))


@require_safe
def join(request: HttpRequest) -> HttpResponse:
    code = rooms.normal_code(request.GET.get("code", ""))
    if rooms.find(code) is None:
        shown = request.GET.get("code", "")[:20]
        payload = error_payload(
            "code",
            f"no room {shown!r} (or it has ended): check the code on the instructor's screen",
            allowed=f"{rooms.CODE_LENGTH} letters and digits",
        )
        return error_page(request, payload, status=404)
    return _redirect(reverse("room", args=[code]))


def _ended(request: HttpRequest, code: str) -> HttpResponse:
    payload = error_payload("code", f"no room {code[:20]!r} (or it has ended)")
    return error_page(request, payload, status=404)


def _room_page(request: HttpRequest, room: Room, role: str, token: str = "") -> HttpResponse:
    scenario = lookup.scenario_or_404(room.slug)
    join_url = request.build_absolute_uri(reverse("room", args=[room.code]))
    course = rooms.course_info(room, items=role == "host")
    info: dict[str, Any] = {
        "code": room.code,
        "role": role,
        "token": token,
        "version": room.version,
        "revealed": room.revealed,
        "join_url": join_url,
        "course": course,
        "watch": render_inline(course["watch"]) if course else "",
        "inject_path": reverse("room_inject", args=[room.code, token]) if token else "",
        # until the reveal a participant sees neither the outcome nor the scenario's name
        "hide_name": role == "participant" and not room.revealed,
        # ... nor receives it: the headline, the outcome, the description, the run's
        # warnings and the event log's end are left out, then fetched at the reveal
        "withhold": role == "participant" and not room.revealed,
        "outcome_path": reverse("room_outcome", args=[room.code]),
        "presenter": role == "host" and request.GET.get("presenter") == "1",
        # the page's two sockets (its run's stream, the room) count as one (connections)
        "seat": connections.new_seat(),
    }
    start_ms = room.at_ms
    context = panels.page_context(room.slug, scenario, start_ms=start_ms, room=info)
    if role == "host" and not context.get("run_error"):
        room_outcome.warm(room.slug, context)  # the reveal will not wait for it
    response = render(request, "playground/scenario.html", context)
    response["Cache-Control"] = "no-store"  # the room moves on; the host page holds a secret
    # the instructor's link must not leak to other sites; "no-referrer" would also send
    # "Origin: null" with its own forms, which CSRF refuses
    response["Referrer-Policy"] = "same-origin"
    return response


@require_safe
def room_page(request: HttpRequest, code: str) -> HttpResponse:
    room = rooms.find(code)
    if room is None:
        return _ended(request, code)
    return _room_page(request, room, "participant")


def _hosted(code: str, token: str) -> Room | None:
    room = rooms.find(code)
    return room if room is not None and rooms.is_host(room, token) else None


@require_safe
def host_page(request: HttpRequest, code: str, token: str) -> HttpResponse:
    room = _hosted(code, token)
    if room is None:
        payload = error_payload("token", "no room with this code and instructor link (or it ended)")
        return error_page(request, payload, status=404)
    return _room_page(request, room, "host", token)


@require_POST
def inject(request: HttpRequest, code: str, token: str) -> HttpResponse:
    """A button "at this step" on the instructor's page: the fault or change goes into
    the room's scenario (injections, as on a scenario page), and the room — every
    participant — follows the new run, opening at the same simulated time."""
    room = _hosted(code, token)
    if room is None:
        payload = error_payload("token", "no room with this code and instructor link (or it ended)")
        return error_page(request, payload, status=404)
    scenario = lookup.scenario_or_404(room.slug)
    form = request.POST.copy()
    form.setdefault("action", "crash")  # the "crash the consumer here" form has none
    try:
        at_ms = parse_int(form.get("at_ms", "0"), "at_ms", maximum=MAX_DURATION_MS)
        changed = injections.inject(scenario, form)
    except ScenarioError as err:
        return error_page(request, scenario_error_payload(err))
    slug = scenarios.save(changed, parent=room.slug)
    room = rooms.new_run(room.code, slug, at_ms)
    async_to_sync(broadcast)(room)
    return _redirect(host_path(room, token))


@require_safe
def outcome(request: HttpRequest, code: str) -> HttpResponse:
    """What a participant's page leaves out until the reveal (`withhold`), as HTML pieces by
    part — the fallback for a page that missed the room's "outcome" message: 409 naming
    `revealed` before the reveal."""
    room = rooms.find(code)
    if room is None:
        return error_response("code", f"no room {code[:20]!r} (or it has ended)", status=404)
    if not room.revealed:
        return error_response(
            "revealed", "the instructor has not revealed the outcome yet", status=409
        )
    response = HttpResponse(room_outcome.encoded(room.slug), content_type="application/json")
    response["Cache-Control"] = "no-store"  # the room decides when it may be read
    return response
