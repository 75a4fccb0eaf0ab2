"""Workshop rooms: a class that follows the instructor, predicts, then sees the reveal.

A room is a row (`models.Room`): what is on the stage (a permalink, and the position in a
course when the room follows one), the step, playing or paused, the open question and
the reveal. Every change is one transaction on that row and bumps its `version`; the
consumer (`room_consumer`) then sends the whole state to the room's Channels group, so a
client that missed a message, a late joiner and a process that restarted all converge
on the row. The database is the truth; Channels only carries news of it.

Who may do what: the instructor holds a token (a secret link) of which only the SHA-256
is stored; participants join with an optional display name and get a key their browser
keeps, so that reloading the page is the same participant — who may answer each opening
of a question (a `poll`) once (a unique constraint: once across processes too).

A room ends after `settings.ROOM_IDLE_MINUTES` without an instructor action or an answer;
an ended room is deleted the next time it is looked up (or when any room is created).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from playground import course_catalog, runner, scenarios
from playground.errors import error_payload
from playground.models import Room, RoomAnswer, RoomParticipant
from simcore import Scenario, ScenarioError
from simcore.scenario.parse import MAX_DURATION_MS

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read off a projector
CODE_LENGTH = 6
SPEEDS = ("1", "2", "5", "20", "100")  # the player's speed menu (_player.html)
MAX_STEP = 10_000_000
MAX_NAME_CHARS = 40
MAX_NUMBER_ANSWER = 1_000_000_000
NAMES_SHOWN = 200  # the instructor's list of who joined: the latest this many


class RoomError(Exception):
    """A request the room refuses; `payload` names the field (errors.error_payload)."""

    def __init__(self, field: str, message: str, allowed: str | None = None) -> None:
        super().__init__(message)
        self.payload = error_payload(field, message, allowed)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def normal_code(text: str) -> str:
    """A join code as typed (any case, spaces or dashes) → its canonical form."""
    return "".join(ch for ch in text.upper() if ch in CODE_ALPHABET)[: CODE_LENGTH + 2]


def _idle_limit() -> timedelta:
    return timedelta(minutes=settings.ROOM_IDLE_MINUTES)


def _end_idle_rooms() -> None:
    Room.objects.filter(active__lt=timezone.now() - _idle_limit()).delete()


def find(code: str) -> Room | None:
    """The room with this code, or None if there is none or it has ended (then deleted)."""
    room = Room.objects.filter(code=normal_code(code)).first()
    if room is not None and room.active < timezone.now() - _idle_limit():
        room.delete()
        return None
    return room


def is_host(room: Room, token: str) -> bool:
    return hmac.compare_digest(room.host_key, _digest(token))


# --- creating ---------------------------------------------------------------------------


def _create(slug: str, course: str = "") -> tuple[Room, str]:
    _end_idle_rooms()
    token = secrets.token_urlsafe(24)
    for _attempt in range(20):
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        try:
            with transaction.atomic():
                room = Room.objects.create(
                    code=code,
                    host_key=_digest(token),
                    course=course,
                    slug=slug,
                    active=timezone.now(),
                )
            return room, token
        except IntegrityError:  # a code in use: draw another (31^6 ≈ 900 million)
            continue
    raise RoomError("code", "no free room code found: try again")


def create_for_scenario(slug: str) -> tuple[Room, str]:
    if scenarios.find(slug) is None:
        raise RoomError("slug", f"no scenario with the link {slug!r}")
    return _create(slug)


def create_for_course(key: str) -> tuple[Room, str]:
    """A room for a course: a file's name, or ``c/<id>`` for a custom one
    (course_catalog)."""
    course = course_catalog.find(key)
    if course is None:
        allowed = ", ".join(course_catalog.file_course_names()) + ", or c/<custom course id>"
        raise RoomError("course", f"no course {key[:80]!r}", allowed=allowed)
    room, token = _create(_course_slug(course, 0), course=key)
    first = course.items()[0]
    if first.at_ms:  # the first run opens where the course says
        room = new_run(room.code, room.slug, first.at_ms)
    return room, token


def _course_slug(course: course_catalog.WebCourse, position: int) -> str:
    """The permalink of the course's scenario at `position`, stored (so that it survives a
    later edit of a built-in file)."""
    slug = course.items()[position].slug
    try:
        scenario = scenarios.find(slug)
    except ScenarioError as err:  # stored long ago, rejected by today's simcore
        raise RoomError(
            "position", f"the course's run {slug!r} no longer validates: {err}"
        ) from None
    if scenario is None:
        raise RoomError("position", f"the course's run {slug!r} is gone")
    return scenarios.save(scenario)


def _course_of(room: Room) -> course_catalog.WebCourse:
    course = course_catalog.find(room.course)
    if course is None:  # custom courses are never deleted; files are part of the release
        raise RoomError("course", f"the room's course {room.course!r} is gone")
    return course


# --- what everyone sees -----------------------------------------------------------------


def _scenario_of(room: Room) -> Scenario:
    found = scenarios.find(room.slug)
    if found is None:  # rows are never deleted; a stale row is a bug worth saying
        raise RoomError("slug", f"the room's scenario {room.slug!r} is gone")
    return found


def _question(room: Room, question_id: str) -> dict[str, Any] | None:
    for q in _scenario_of(room).questions:
        if q.id == question_id:
            return {"id": q.id, "ask": q.ask, "kind": q.kind, "choices": list(q.choices)}
    return None


def course_info(room: Room, *, items: bool = False) -> dict[str, Any] | None:
    """Where the room is in its course; with `items`, every scenario's place and name
    (the instructor's "go to" menu: about 12 ms to read the built-ins)."""
    if not room.course:
        return None
    course = _course_of(room)
    order = course.items()
    item = order[room.position]
    info: dict[str, Any] = {
        "name": room.course,
        "title": course.title,
        "position": room.position,
        "total": len(order),
        "watch": item.watch,  # the instructor's own words: no spoiler unless they wrote one
    }
    if items:
        info["items"] = [{"position": k, "name": i.name} for k, i in enumerate(order)]
    return info


def state(room: Room) -> dict[str, Any]:
    """The room as every participant sees it (no answer before the reveal)."""
    question = _question(room, room.question) if room.question else None
    if question is not None:
        question["poll"] = room.poll
    course = course_info(room)
    return {
        "type": "state",
        "version": room.version,
        "code": room.code,
        "slug": room.slug,
        "course": course,
        "step": room.step,
        "at_ms": room.at_ms,
        "playing": room.playing,
        "speed": room.speed,
        "question": question,
        "revealed": room.revealed,
        "reveal": room.reveal,
        # the scenario's name tells the outcome ("…the acked records are lost"): shown at
        # the reveal, like the headline
        "title": _scenario_of(room).name if room.revealed else None,
    }


def host_view(room: Room) -> dict[str, Any]:
    """What only the instructor sees: who joined, how many answered the open question,
    and the scenario's questions to open."""
    joined = RoomParticipant.objects.filter(room=room)
    names = list(joined.order_by("-joined").values_list("name", flat=True)[:NAMES_SHOWN])
    questions = [{"id": q.id, "ask": q.ask, "kind": q.kind} for q in _scenario_of(room).questions]
    return {
        "type": "host",
        "participants": joined.count(),
        "names": [n for n in names if n],
        "answers": answer_count(room.code, room.poll) if room.question else 0,
        "questions": questions,
    }


def answer_count(code: str, poll: int) -> int:
    return RoomAnswer.objects.filter(room_id=code, poll=poll).count()


# --- changes (each one transaction on the row) -------------------------------------------


@dataclass(frozen=True)
class Control:
    action: str  # play, pause, seek
    step: int
    at_ms: int
    speed: str | None


def _changed(code: str, change: Any) -> Room:
    """Applies `change(room)` to the locked row; bumps the version and the idle clock."""
    with transaction.atomic():
        room = Room.objects.select_for_update().filter(code=code).first()
        if room is None:
            raise RoomError("room", "this room has ended")
        change(room)
        room.version += 1
        room.active = timezone.now()
        room.save()
    return room


def control(code: str, c: Control) -> Room:
    def change(room: Room) -> None:
        room.playing = c.action == "play"
        room.step, room.at_ms = c.step, c.at_ms
        if c.speed is not None:
            room.speed = c.speed

    return _changed(code, change)


def goto(code: str, position: int) -> Room:
    """Another scenario of the room's course: opens at its start, paused, no question."""

    def change(room: Room) -> None:
        if not room.course:
            raise RoomError("position", "this room shows one scenario, not a course")
        course = _course_of(room)
        total = len(course.items())
        if not 0 <= position < total:
            raise RoomError("position", f"must be 0 to {total - 1}, got {position}")
        at_ms = course.items()[position].at_ms
        _stage(room, _course_slug(course, position), at_ms)
        room.position = position
        if not at_ms:
            room.step = 0

    return _changed(code, change)


def new_run(code: str, slug: str, at_ms: int) -> Room:
    """A button "at this step" made a new run (a crash, a fault): the room follows it,
    opening at the same simulated time."""
    return _changed(code, lambda room: _stage(room, slug, at_ms))


def _stage(room: Room, slug: str, at_ms: int) -> None:
    room.slug, room.at_ms, room.step, room.playing = slug, at_ms, -1, False
    room.question, room.revealed, room.reveal = "", False, None


def open_question(code: str, question_id: str) -> Room:
    def change(room: Room) -> None:
        if _question(room, question_id) is None:
            ids = ", ".join(q.id for q in _scenario_of(room).questions) or "(none here)"
            raise RoomError("question", f"no question {question_id!r} here", allowed=ids)
        room.question, room.poll = question_id, room.poll + 1
        room.revealed, room.reveal = False, None

    return _changed(code, change)


def reveal(code: str) -> Room:
    """Shows the outcome to everyone; with a question open, the answers' histogram against
    the run's own answer (frozen: later answers are refused)."""

    def change(room: Room) -> None:
        room.revealed = True
        room.reveal = _histogram(room) if room.question else None

    return _changed(code, change)


def _histogram(room: Room) -> dict[str, Any]:
    question = _question(room, room.question)
    assert question is not None  # open_question checked it; the scenario never changes
    run = runner.run(_scenario_of(room))  # cached: the stage has shown it
    asked = next(q for q in run["summary"].get("questions", []) if q["id"] == room.question)
    answer = str(asked["answer"])
    counts: dict[str, int] = {}
    for value in RoomAnswer.objects.filter(room=room, poll=room.poll).values_list(
        "value", flat=True
    ):
        counts[value] = counts.get(value, 0) + 1
    if question["kind"] == "choice":
        values = list(question["choices"])
    else:  # numbers in order, the run's answer among them even if nobody gave it
        values = sorted({*counts, answer}, key=int)
    bars = [{"value": v, "count": counts.get(v, 0), "right": v == answer} for v in values]
    return {
        "question": room.question,
        "ask": question["ask"],
        "poll": room.poll,
        "answer": answer,
        "total": sum(counts.values()),
        "right": counts.get(answer, 0),
        "bars": bars,
    }


# --- participants -----------------------------------------------------------------------


def clean_name(raw: Any) -> str:
    """A display name: text, at most MAX_NAME_CHARS, no control or format characters
    (what is left is shown as text only, never as markup)."""
    if raw is None:
        return ""
    if not isinstance(raw, str):
        raise RoomError("name", "must be text")
    name = "".join(ch for ch in raw if unicodedata.category(ch)[0] != "C").strip()
    if len(name) > MAX_NAME_CHARS:
        raise RoomError("name", f"is {len(name)} characters; at most {MAX_NAME_CHARS}")
    return name


def join(code: str, key: str | None, name: str) -> tuple[RoomParticipant, str]:
    """The participant with this key (a returning browser), or a new one."""
    if key:
        found = RoomParticipant.objects.filter(room_id=code, key=_digest(key)).first()
        if found is not None:
            return found, key
    key = secrets.token_urlsafe(18)
    return RoomParticipant.objects.create(room_id=code, key=_digest(key), name=name), key


ACTIVE_EVERY = timedelta(minutes=1)  # an answer keeps the room alive; one write a minute does


def answer(code: str, participant_id: int, poll: int, raw: Any) -> None:
    """Records the participant's answer to the open question (opening `poll`). On the
    locked row, so that a reveal sees every answer it counts and none arrives after it;
    one write (the answer) per answer, the room's idle clock at most once a minute."""
    try:
        with transaction.atomic():
            room = Room.objects.select_for_update().filter(code=code).first()
            if room is None:
                raise RoomError("room", "this room has ended")
            if not room.question:
                raise RoomError("question", "no question is open")
            if poll != room.poll:
                raise RoomError("poll", f"that question is closed; the open one is {room.poll}")
            if room.revealed:
                raise RoomError("question", "the answer has been revealed: answers are closed")
            question = _question(room, room.question)
            assert question is not None
            value = _answer_value(question, raw)
            RoomAnswer.objects.create(
                room=room, poll=room.poll, participant_id=participant_id, value=value
            )
            now = timezone.now()
            if now - room.active > ACTIVE_EVERY:
                room.active = now
                room.save(update_fields=["active"])
    except IntegrityError:  # the unique constraint: one answer per participant and poll
        raise RoomError("answer", "you have already answered this question") from None


@dataclass(frozen=True)
class Answer:
    participant_id: int
    poll: int
    value: Any  # as sent: checked against the question in `answer_many`


def answer_many(code: str, answers: list[Answer]) -> list[RoomError | None]:
    """Records a batch of answers (room_answers) in one transaction on the locked row — one
    commit, one fsync, for all of them — with the same rules as `answer`: each is checked
    against the open question and poll, and refused if its participant has answered this
    poll already (in the table or earlier in the batch). Returns, in order, None for each
    answer recorded, or the error that refused it."""
    try:
        with transaction.atomic():
            return _answer_many(code, answers)
    except IntegrityError:  # not expected under the row lock; the constraint still decides
        results: list[RoomError | None] = []
        for a in answers:
            try:
                answer(code, a.participant_id, a.poll, a.value)
                results.append(None)
            except RoomError as err:
                results.append(err)
        return results


def _answer_many(code: str, answers: list[Answer]) -> list[RoomError | None]:
    room = Room.objects.select_for_update().filter(code=code).first()
    if room is None:
        return [RoomError("room", "this room has ended") for _ in answers]
    question = _question(room, room.question) if room.question else None
    ids = {a.participant_id for a in answers}
    answered = set(
        RoomAnswer.objects.filter(
            room=room, poll=room.poll, participant_id__in=sorted(ids)
        ).values_list("participant_id", flat=True)
    )
    results: list[RoomError | None] = []
    rows = []
    for a in answers:
        try:
            if question is None:
                raise RoomError("question", "no question is open")
            if a.poll != room.poll:
                raise RoomError("poll", f"that question is closed; the open one is {room.poll}")
            if room.revealed:
                raise RoomError("question", "the answer has been revealed: answers are closed")
            value = _answer_value(question, a.value)
            if a.participant_id in answered:
                raise RoomError("answer", "you have already answered this question")
        except RoomError as err:
            results.append(err)
            continue
        answered.add(a.participant_id)
        rows.append(
            RoomAnswer(room=room, poll=room.poll, participant_id=a.participant_id, value=value)
        )
        results.append(None)
    RoomAnswer.objects.bulk_create(rows)
    now = timezone.now()
    if rows and now - room.active > ACTIVE_EVERY:
        room.active = now
        room.save(update_fields=["active"])
    return results


def _answer_value(question: dict[str, Any], raw: Any) -> str:
    if question["kind"] == "number":
        if isinstance(raw, bool) or not isinstance(raw, int) or not 0 <= raw <= MAX_NUMBER_ANSWER:
            raise RoomError(
                "value", f"must be a whole number 0 to {MAX_NUMBER_ANSWER}, got {raw!r}"[:200]
            )
        return str(raw)
    if not isinstance(raw, str) or raw not in question["choices"]:
        allowed = ", ".join(question["choices"])
        raise RoomError("value", f"must be one of the choices, got {raw!r}"[:200], allowed)
    return raw


# --- message validation (room_consumer) ---------------------------------------------------


def whole(message: dict[str, Any], field: str, maximum: int) -> int:
    value = message.get(field)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        raise RoomError(field, f"must be a whole number 0 to {maximum}, got {value!r}"[:200])
    return value


def parse_control(message: dict[str, Any]) -> Control:
    action = message.get("action")
    if action not in ("play", "pause", "seek"):
        raise RoomError("action", f"unknown action {action!r}"[:200], "play, pause, seek")
    speed = message.get("speed")
    if speed is not None and speed not in SPEEDS:
        raise RoomError("speed", f"unknown speed {speed!r}"[:200], ", ".join(SPEEDS))
    return Control(
        action, whole(message, "step", MAX_STEP), whole(message, "at_ms", MAX_DURATION_MS), speed
    )
