"""Two Daphne processes behind one Redis and one PostgreSQL behave as one site.

Each request picks its process explicitly (A or B), as a load balancer might, and comes
from a loopback address of its own when the test is about per-address limits.
"""

from __future__ import annotations

import http.client
import json
import re
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import psycopg
import pytest
import redis
import yaml
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from simcore import __version__ as SIMCORE_VERSION
from simcore import builtin_scenario, parse_scenario, scenario_digest
from tests.scale.conftest import Servers, wait_for

BUILTIN = "librdkafka-auto-commit"
HEAVY = "eager-scale-out"  # about a second to simulate: two requests overlap
RUN_MAX_EVENTS = 2_000_000  # the default cap, part of a run's key (runner.key_of)
SLUG = scenario_digest(builtin_scenario(BUILTIN))[:16]
TIMEOUT = 60
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    text: str


def request(
    base: str, method: str, path: str, body: str = "", source: str = "127.0.0.1", **headers: str
) -> Answer:
    parts = urlsplit(base)
    connection = http.client.HTTPConnection(
        parts.hostname, parts.port, timeout=TIMEOUT, source_address=(source, 0)
    )
    try:
        connection.request(method, path, body=body.encode(), headers=headers)
        response = connection.getresponse()
        text = response.read().decode()
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, text)
    finally:
        connection.close()


@dataclass
class Form:
    """What a browser holds after opening a page: the CSRF cookie and the form's token."""

    cookie: str
    token: str

    def post(self, base: str, path: str, fields: dict[str, str], source: str) -> Answer:
        body = urlencode({"csrfmiddlewaretoken": self.token, **fields})
        return request(
            base,
            "POST",
            path,
            body,
            source,
            **{"Content-Type": "application/x-www-form-urlencoded", "Cookie": self.cookie},
        )


def open_page(base: str, slug: str = SLUG) -> Form:
    page = request(base, "GET", f"/r/{slug}")
    assert page.status == 200, page.text[:500]
    cookie = page.headers["set-cookie"].split(";")[0]
    token = CSRF.search(page.text)
    assert token is not None
    return Form(cookie, token.group(1))


def save_variant(servers: Servers, seed: int, source: str = "127.0.0.1") -> str:
    """Saves the built-in under another seed through process A; its new slug."""
    text = yaml.safe_dump({**builtin_scenario(BUILTIN).source, "seed": seed})
    answer = open_page(servers.urls[0]).post(
        servers.urls[0], f"/r/{SLUG}/edit", {"yaml": text}, source
    )
    assert answer.status == 303, answer.text[:500]
    return answer.headers["location"].rsplit("/", 1)[1]


def play(base: str) -> Any:
    """A whole stream over the websocket: (meta and frame chunks without their tokens, end)."""
    ws_url = base.replace("http://", "ws://")

    def run(slug: str) -> tuple[list[bytes], dict[str, Any]]:
        chunks: list[bytes] = []
        with connect(
            f"{ws_url}/ws/runs/{slug}", origin=base, max_size=None, open_timeout=TIMEOUT
        ) as ws:
            ws.send(json.dumps({"type": "run", "from": 0}))
            while True:
                message = ws.recv(timeout=TIMEOUT)
                if isinstance(message, bytes):
                    chunks.append(message[8:])
                    ack = {"type": "ack", "chunks": len(chunks), "token": message[:8].hex()}
                    ws.send(json.dumps(ack))
                    continue
                data = json.loads(message)
                assert data["type"] == "end", data
                return chunks, data

    return run


def simulations(servers: Servers) -> int:
    client = redis.Redis.from_url(servers.redis_url)
    try:
        return int(client.get("playground:simulations") or 0)
    finally:
        client.close()


def server_errors(servers: Servers) -> list[str]:
    """The distinct error lines of both servers' logs, to say why a request failed."""
    lines = {
        line.strip()
        for log in servers.logs
        for line in log.read_text(errors="replace").splitlines()
        if "Error" in line or "error" in line
    }
    return sorted(lines)[:20]


def test_a_link_made_in_one_process_replays_in_the_other(servers: Servers) -> None:
    a, b = servers.urls
    form = open_page(a)
    saved = form.post(a, f"/r/{SLUG}/quick", {"consumers[0].processing_ms": "777"}, "127.0.0.1")
    assert saved.status == 303
    slug = saved.headers["location"].rsplit("/", 1)[1]
    page = request(b, "GET", f"/r/{slug}")
    assert page.status == 200
    assert 'value="777"' in page.text
    api = json.loads(request(b, "GET", f"/api/scenarios/{slug}").text)
    assert api["slug"] == slug
    assert api["source"]["consumers"][0]["processing_ms"] == 777


def test_a_stream_computed_in_one_process_costs_the_other_no_simulation(
    servers: Servers,
) -> None:
    a, b = servers.urls
    slug = save_variant(servers, 90_001)
    before = simulations(servers)
    from_a, end_a = play(a)(slug)
    assert simulations(servers) == before + 1  # A simulated it
    from_b, end_b = play(b)(slug)
    assert simulations(servers) == before + 1  # B served A's bytes
    assert from_b == from_a and end_b == end_a
    meta = json.loads(zlib.decompress(from_b[0]))
    assert (meta["type"], meta["total"]) == ("meta", end_a["total"])
    page = request(b, "GET", f"/r/{slug}")  # the page in B too: decoded, not simulated
    assert page.status == 200
    assert simulations(servers) == before + 1


def test_rate_limits_count_across_processes(servers: Servers) -> None:
    """30 edits a minute per address (the default): the 31st is refused whichever
    process takes it, though neither has seen more than 16."""
    a, b = servers.urls
    form = open_page(a)
    source = "127.0.4.1"
    statuses = []
    for k in range(31):
        base = (a, b)[k % 2]
        answer = form.post(
            base, f"/r/{SLUG}/quick", {"consumers[0].processing_ms": str(5000 + k)}, source
        )
        statuses.append(answer.status)
    assert statuses[:30] == [303] * 30
    assert statuses[30] == 429
    assert int(answer.headers["retry-after"]) >= 1


def test_two_hundred_concurrent_writers_give_no_errors(servers: Servers) -> None:
    a, b = servers.urls
    form = open_page(a)

    def write(k: int) -> int:
        base, source = (a, b)[k % 2], f"127.0.5.{k + 1}"  # each writer its own address
        fields = {"consumers[0].processing_ms": str(20_000 + k)}
        return form.post(base, f"/r/{SLUG}/quick", fields, source).status

    with ThreadPoolExecutor(max_workers=200) as pool:
        statuses = list(pool.map(write, range(200)))
    assert statuses == [303] * 200, (statuses, server_errors(servers))
    with psycopg.connect(servers.database_url.replace("postgres://", "postgresql://")) as db:
        stored = db.execute(
            "SELECT count(*) FROM playground_sharedscenario"
            " WHERE (source->'consumers'->0->>'processing_ms')::int BETWEEN 20000 AND 20199"
        ).fetchone()
    assert stored == (200,)


def test_a_websocket_message_over_one_mib_closes_with_1009(servers: Servers) -> None:
    a = servers.urls[0]
    with connect(
        f"{a.replace('http://', 'ws://')}/ws/runs/{SLUG}", origin=a, open_timeout=TIMEOUT
    ) as ws:
        ws.send("x" * (1024 * 1024 + 1))
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=TIMEOUT)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


def save_heavy_variant(servers: Servers, seed: int) -> tuple[str, str]:
    """The heaviest built-in (about a second to simulate) under another seed, saved
    through A without running it: (slug, the run's claim key in Redis)."""
    source = {**builtin_scenario(HEAVY).source, "seed": seed}
    answer = open_page(servers.urls[0]).post(
        servers.urls[0], f"/r/{SLUG}/edit", {"yaml": yaml.safe_dump(source)}, "127.0.0.1"
    )
    assert answer.status == 303, answer.text[:500]
    slug = answer.headers["location"].rsplit("/", 1)[1]
    digest = scenario_digest(parse_scenario(source))
    return slug, f"playground:computing:{SIMCORE_VERSION}:{digest}-{RUN_MAX_EVENTS}"


def counter(servers: Servers, name: str) -> int:
    client = redis.Redis.from_url(servers.redis_url)
    try:
        return int(client.get(f"playground:{name}") or 0)
    finally:
        client.close()


def both_at_once(servers: Servers, slug: str) -> list[Answer]:
    with ThreadPoolExecutor(2) as pool:
        return list(
            pool.map(lambda base: request(base, "GET", f"/api/scenarios/{slug}"), servers.urls)
        )


def test_two_processes_asked_at_once_compute_a_run_once(servers: Servers) -> None:
    slug, _claim = save_heavy_variant(servers, 91_001)
    before = simulations(servers)
    answers = both_at_once(servers, slug)
    assert [a.status for a in answers] == [200, 200], [a.text[:300] for a in answers]
    assert answers[0].text == answers[1].text
    assert simulations(servers) == before + 1


def test_a_process_takes_over_a_run_whose_claim_goes_away(servers: Servers) -> None:
    slug, claim = save_heavy_variant(servers, 91_002)
    client = redis.Redis.from_url(servers.redis_url)
    try:
        client.set(claim, "a process that will stop", ex=120)  # as if another were computing
        before, waits = simulations(servers), counter(servers, "waits")
        with ThreadPoolExecutor(2) as pool:
            pending = pool.submit(both_at_once, servers, slug)
            wait_for(lambda: counter(servers, "waits") >= waits + 2, "both processes waiting")
            assert simulations(servers) == before  # neither computes what is claimed
            client.delete(claim)  # the claimant stopped without storing a run
            answers = pending.result(timeout=TIMEOUT)
    finally:
        client.close()
    assert [a.status for a in answers] == [200, 200], [a.text[:300] for a in answers]
    assert answers[0].text == answers[1].text
    assert simulations(servers) == before + 1  # one of them took over, the other waited
