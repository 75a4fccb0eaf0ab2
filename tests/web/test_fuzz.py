"""Hypothesis throws hostile input at every endpoint and at the websocket.

The oracle: no answer is a 500 (the test client re-raises a view's exception, so a crash
fails the test with its traceback), every request ends within the run cap plus a margin
(no hang), and every permalink the fuzzing stored renders (200) and reads back as itself.
Values arrive the way a raw HTTP client could send them: query strings and forms are
percent-encoded bytes (a lone surrogate as the bytes of "\\ud800", which Django decodes
with replacement), JSON bodies as `json.dumps` writes them ("\\ud800" escapes survive).

Examples are derandomized (tests/conftest.py): `--hypothesis-profile=explore` searches
new ones.
"""

from __future__ import annotations

import asyncio
import copy
import json
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import pytest
import yaml
from channels.testing import WebsocketCommunicator
from django.test import Client, override_settings
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from playground import injections, scenarios, variants
from playground.asgi import application
from playground.models import SharedScenario
from playground.streams import inflate
from simcore import parse_scenario

RUN_CAP_SECONDS = 2  # the runner's wall-time cap while fuzzing (settings.RUN_MAX_SECONDS)
SLOW_SECONDS = RUN_CAP_SECONDS + 8  # a request slower than this counts as a hang
OK = {200, 303, 400, 404, 405, 409, 413, 415, 422, 429, 503}  # 503/429: busy, documented
FUZZ = settings(
    max_examples=100,
    deadline=None,  # timed by hand: the first run also starts the worker pool
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)

BASE: dict[str, Any] = {
    "name": "fuzz base",
    "seed": 7,
    "duration_ms": 4000,
    "topics": [{"name": "orders", "partitions": 2}],
    "producers": [{"id": "p1", "topic": "orders", "messages": 20, "rate_per_s": 10}],
    "consumers": [
        {"id": "c1", "group": "billing", "topics": ["orders"], "processing_ms": 20},
    ],
    "faults": [{"at_ms": 1500, "action": "crash", "target": "c1", "restart_after_ms": 500}],
}

NUMBERISH = [
    "²",  # "²".isdigit() is True; int("²") raises
    "١٢",  # Arabic-Indic digits: int() reads them
    "9" * 5000,  # past int()'s 4,300 digits
    "9" * 20,
    "-1",
    "+5",
    "1_000",
    "1e9",
    "0x10",
    " 7 ",
    "NaN",
    "Infinity",
]
SPECIAL = [
    "true",
    "null",
    "",
    " ",
    "\x00",
    "a\x00b",
    "x\ud800y",
    "\udfff",
    "\u202e",
    '<a href="https://evil.example/login">Click</a>',
    "<script>alert(1)</script>",
    "{{ 7*7 }}",
    "%00",
    "../../etc/passwd",
    "[" * 50_000,
    "{" * 2_000,
    "a: &a [*a]",
    "A" * 120_000,
]
hostile_text = st.one_of(
    st.sampled_from(NUMBERISH),
    st.sampled_from(SPECIAL),
    st.text(max_size=30),
    st.text(st.characters(categories=["Cs", "Cc", "Nd", "No"]), max_size=8),
    st.builds(lambda a, b: a + b, st.sampled_from(SPECIAL[:12]), st.text(max_size=4)),
)
json_values = st.one_of(
    hostile_text,
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),
    st.booleans(),
    st.none(),
    st.lists(st.integers(min_value=-1, max_value=5), max_size=3),
    st.dictionaries(hostile_text, st.integers(min_value=0, max_value=3), max_size=2),
)


def _paths(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    items = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    for key, child in items:
        yield from _paths(child, (*path, key))


PATHS = list(_paths(BASE))[1:]


@st.composite
def mutated_sources(draw: st.DrawFn) -> dict[str, Any]:
    """BASE with one to three values replaced, or keys added, anywhere in it; or, a third
    of the time, only its name and seed (mostly valid: these get stored and replayed)."""
    source = copy.deepcopy(BASE)
    if draw(st.integers(min_value=0, max_value=2)) == 0:
        source["name"] = draw(hostile_text)
        source["seed"] = draw(st.integers(min_value=0, max_value=2**63 - 1))
        return source
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        *parents, last = draw(st.sampled_from(PATHS))
        node: Any = source
        try:
            for key in parents:
                node = node[key]
            if draw(st.booleans()) and isinstance(node, dict):
                node[draw(hostile_text)] = draw(json_values)
            else:
                node[last] = draw(json_values)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier change removed this path
    return source


def _encoded(value: str) -> str:
    """Percent-encoded bytes of `value`, a lone surrogate as its three UTF-8-like bytes."""
    return quote(value.encode("utf-8", "surrogatepass"), safe="")


def _form(fields: dict[str, str]) -> str:
    return "&".join(f"{_encoded(k)}={_encoded(v)}" for k, v in fields.items())


def _timed(call: Callable[[], Any]) -> Any:
    started = time.monotonic()
    response = call()
    elapsed = time.monotonic() - started
    assert elapsed < SLOW_SECONDS, f"took {elapsed:.1f} s"
    assert response.status_code in OK, response.status_code
    return response


def _every_stored_link_replays(client: Client) -> int:
    slugs = list(SharedScenario.objects.values_list("slug", flat=True))
    for slug in slugs:
        assert scenarios.slug_of(scenarios.find(slug)) == slug  # type: ignore[arg-type]
        assert client.get(f"/r/{slug}").status_code == 200, slug
    return len(slugs)


@pytest.fixture
def slug(db: None) -> str:
    return scenarios.save(parse_scenario(BASE))


@pytest.fixture
def fuzzing() -> Iterator[None]:
    with override_settings(RUN_MAX_SECONDS=RUN_CAP_SECONDS):
        yield


# --- pages and query strings ------------------------------------------------------------


QUERY_KEYS = ["at", "compare", "m", "step", "t", "live", "x"]
QUERY_KEYS += ["panels", "panel", "autoplay", "theme", "url", "maxwidth", "maxheight", "format"]


@pytest.mark.django_db
def test_pages_take_any_query_string(client: Client, slug: str, fuzzing: None) -> None:
    pages = [
        "/",
        f"/r/{slug}",
        f"/embed/{slug}",
        f"/r/{slug}/story",
        f"/metrics/{slug}",
        f"/api/scenarios/{slug}",
        f"/compare/{slug}/{slug}",
        f"/r/{slug}/share",  # issue 12
        "/oembed",
        f"/r/{slug}/export/run.json",
        f"/r/{slug}/config/application.yml",
        f"/r/{slug}/import",
        "/incident",
        "/acls",
        "/connect",
    ]

    @FUZZ
    @example(f"/r/{slug}", {"at": "²"}, None)  # the cases issue 9 measured as 500s
    @example(f"/r/{slug}", {"at": "9" * 5000}, None)
    @example(f"/metrics/{slug}", {"step": "²"}, None)
    @example(f"/metrics/{slug}", {"t": "9" * 5000}, None)
    @example(f"/r/{slug}", {"compare": "\x00"}, None)
    @example(f"/embed/{slug}", {"at": "step:" + "9" * 5000, "panels": "\x00"}, None)
    @example("/oembed", {"url": "http://testserver/r/\ud800", "maxwidth": "²"}, None)
    @given(
        st.sampled_from(pages),
        st.dictionaries(st.sampled_from(QUERY_KEYS), hostile_text, max_size=3),
        st.one_of(st.none(), hostile_text),
    )
    def fuzz(page: str, query: dict[str, str], slug_like: str | None) -> None:
        path = page if slug_like is None else page.replace(slug, _encoded(slug_like)[:300])
        _timed(lambda: client.get(f"{path}?{_form(query)}"))

    fuzz()


# --- forms --------------------------------------------------------------------------------


def _quick_names() -> list[str]:
    return [f["name"] for c in scenarios.quick_fields(parse_scenario(BASE)) for f in c["fields"]]


@st.composite
def form_posts(draw: st.DrawFn) -> tuple[str, dict[str, str]]:
    kind = draw(st.sampled_from(["edit", "edit", "quick", "inject", "crash", "compare"]))
    if kind == "edit":
        if draw(st.integers(min_value=0, max_value=3)):
            text = yaml.safe_dump(draw(mutated_sources()), allow_unicode=True)
        else:
            text = draw(hostile_text)
        return "edit", {"yaml": text}
    if kind == "quick":
        names = draw(st.lists(st.sampled_from(_quick_names()), min_size=1, max_size=3))
        return "quick", {name: draw(hostile_text) for name in names}
    if kind == "compare":
        setting = draw(st.one_of(st.sampled_from(list(variants.BY_NAME)), hostile_text))
        return "compare", {"setting": setting, "value": draw(hostile_text)}
    form = {
        "action": draw(st.one_of(st.sampled_from(list(injections.ACTIONS)), hostile_text)),
        "target": draw(st.sampled_from(["c1", "p1", "broker-0", "broker-9", "", "c1\x00"])),
        "at_ms": draw(st.one_of(st.sampled_from(["0", "1000", "3999"]), hostile_text)),
    }
    for field in ("restart_after_ms", "duration_ms", "delay_ms"):
        if draw(st.booleans()):
            form[field] = draw(st.one_of(st.sampled_from(["", "500", "-1"]), hostile_text))
    return kind, form


@pytest.mark.django_db
def test_forms_take_any_value_and_store_only_what_replays(
    client: Client, slug: str, fuzzing: None
) -> None:
    @FUZZ
    @example(("quick", {"consumers[0].processing_ms": "²"}), False)  # issue 9's 500s
    @example(("quick", {"consumers[0].processing_ms": "9" * 5000}), True)
    @example(("edit", {"yaml": 'name: "x\\ud800y"\ntopics: [{name: t}]'}), True)
    @example(("edit", {"yaml": "seed: " + "9" * 5000}), False)
    @given(form_posts(), st.booleans())
    def fuzz(post: tuple[str, dict[str, str]], htmx: bool) -> None:
        kind, fields = post
        headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
        _timed(
            lambda: client.post(
                f"/r/{slug}/{kind}",
                _form(fields),
                content_type="application/x-www-form-urlencoded",
                **headers,
            )
        )

    fuzz()
    assert _every_stored_link_replays(client) > 1  # some edits were valid, and replay


@pytest.mark.django_db
def test_the_import_incident_and_acl_forms_take_any_value(
    client: Client, slug: str, fuzzing: None
) -> None:
    fields = st.dictionaries(
        st.sampled_from(
            [
                "format",
                "target",
                "role",
                "config",
                "brokers",
                "replication_factor",
                "min_insync_replicas",
                "acks",
                "fault",
                "reset",
                "commit",
                "idempotence",
                "unclean",
                "acls",
                "principal",
                "host",
                "operation",
                "resource_type",
                "name",
                "super_users",
                "group",
                "topic",
                "allow_everyone",
                "listener",
                "mechanisms",
                "certificate",
                "family",
                "protocol",
                "mechanism",
                "credentials",
            ]
        ),
        st.one_of(hostile_text, st.sampled_from(["spring-yaml", "properties", "librdkafka", "1"])),
        max_size=5,
    )

    @FUZZ
    @example("import", {"format": "librdkafka", "config": "[" * 50_000})
    @example("import", {"format": "spring-yaml", "config": "spring: {kafka: {consumer: []}}"})
    @example("incident", {"brokers": "9" * 5000})
    @example("acls", {"acls": "[" * 50_000})
    @example("acls", {"acls": "Current ACLs for resource `ResourcePattern(" * 2000})
    @given(st.sampled_from(["import", "incident", "acls", "connect"]), fields)
    def fuzz(kind: str, form: dict[str, str]) -> None:
        paths = {"import": f"/r/{slug}/import", "incident": "/incident", "acls": "/acls"}
        path = paths.get(kind, "/connect")
        _timed(
            lambda: client.post(path, _form(form), content_type="application/x-www-form-urlencoded")
        )

    fuzz()
    assert _every_stored_link_replays(client) >= 1


# --- the JSON API ---------------------------------------------------------------------------


RAW_BODIES = [
    b"[" * 50_000,
    b'{"seed": ' + b"9" * 5000 + b"}",
    b"\xff\xfe\x00",
    b'{"name": "a", "name": "b"}',
    b"NaN",
    b'"\\ud800"',
    b"{}" * 60_000,
]


@st.composite
def api_bodies(draw: st.DrawFn) -> tuple[bytes, str]:
    choice = draw(st.integers(min_value=0, max_value=3))
    if choice == 0:
        body = draw(st.sampled_from(RAW_BODIES))
    elif choice == 1:
        body = draw(hostile_text).encode("utf-8", "surrogatepass")
    else:
        body = json.dumps(draw(mutated_sources())).encode()
    content_type = draw(
        st.sampled_from(
            ["application/json"] * 4 + ["text/plain", "application/json; charset=utf-8"]
        )
    )
    return body, content_type


@pytest.mark.django_db
def test_the_api_takes_any_body_and_stores_nothing(client: Client, fuzzing: None) -> None:
    before = SharedScenario.objects.count()

    @FUZZ
    @example((b"[" * 50_000, "application/json"))  # issue 9's 500s
    @example((json.dumps({**BASE, "name": "x\ud800y"}).encode(), "application/json"))
    @given(api_bodies())
    def fuzz(request: tuple[bytes, str]) -> None:
        body, content_type = request
        _timed(lambda: client.post("/api/run", body, content_type=content_type))

    fuzz()
    assert SharedScenario.objects.count() == before  # /api/run runs, it does not store


# --- the websocket ------------------------------------------------------------------------


ORIGIN = [(b"origin", b"http://localhost:8000"), (b"host", b"localhost:8000")]
ANSWERS = {"meta", "frames", "end", "error"}
BAD_CLOSES = {1006, 1011}  # abnormal, internal error
ws_messages = st.one_of(
    hostile_text,
    st.binary(max_size=40),
    st.builds(
        json.dumps,
        st.fixed_dictionaries(
            {"type": st.sampled_from(["run", "Run", "", "stop"])},
            optional={"from": st.one_of(st.integers(min_value=-5, max_value=10**30), json_values)},
        ),
    ),
    st.builds(json.dumps, json_values),
)


async def _talk(path: str, messages: list[str | bytes]) -> None:
    socket = WebsocketCommunicator(application, path, headers=ORIGIN)
    connected, _ = await socket.connect(timeout=SLOW_SECONDS)
    if not connected:
        return  # refused at the handshake: a clean answer
    try:
        for message in messages:
            kind = "bytes" if isinstance(message, bytes) else "text"  # empty ones too
            await socket.send_input({"type": "websocket.receive", kind: message})
            if not await _answered(socket):
                return
    finally:
        await socket.disconnect()


async def _answered(socket: WebsocketCommunicator) -> bool:
    """Reads until an error frame or the end of a stream; False once the server closed."""
    while True:
        output = await socket.receive_output(timeout=SLOW_SECONDS)
        if output["type"] == "websocket.close":
            assert output.get("code", 1000) not in BAD_CLOSES, output
            return False
        if output.get("bytes") is not None:  # a stream chunk: 8-byte token + deflated JSON
            message = inflate(output["bytes"][8:])
        else:
            message = json.loads(output["text"])
        assert message["type"] in ANSWERS, message
        if message["type"] in ("error", "end"):
            return True


@pytest.mark.django_db(transaction=True)
def test_the_websocket_takes_any_message(fuzzing: None) -> None:
    slug = scenarios.save(parse_scenario(BASE))

    @settings(FUZZ, max_examples=40)
    @given(
        st.lists(ws_messages, min_size=1, max_size=4),
        st.one_of(st.just(slug), st.sampled_from(["0123456789abcdef", "%00", "x" * 200])),
    )
    def fuzz(messages: list[str | bytes], target: str) -> None:
        started = time.monotonic()
        asyncio.run(_talk(f"/ws/runs/{target}", messages))
        assert time.monotonic() - started < SLOW_SECONDS * (len(messages) + 1)

    fuzz()
