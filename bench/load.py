"""Load benchmark (make load): N visitors against one Daphne on loopback, then an abuse mix.

Starts its own server (Daphne, the app's default settings, a fresh SQLite file in a temp
directory), drives it from this process, stops it, and prints a table. Bounded: every
visitor has a deadline, every round ends, nothing leaves 127.0.0.0/8.

A visitor opens a built-in scenario's page, plays its whole stream over the websocket
(acknowledging chunks when the server asks for it) and saves one edit (a quick field, a
value of its own, so every edit is a new permalink; the redirect is not followed). Each
visitor comes from its own loopback address (127.1.x.y), as a room of laptops would, so
per-address limits apply to each one as they would in the room.

The abuse mix, while a normal visitor (127.3.0.1) is measured: one websocket (127.2.0.1)
sends {"type": "run"} 200 times and never reads; 20 parallel POST /api/run (127.2.0.2) of
scenarios that hit the wall-time cap (distinct seeds, so no cache helps); and 200
websockets (127.2.1.x) that each ask once for the heaviest stream and never read. The
normal visitor runs a small new scenario through /api/run and plays the small built-in's
stream, once a second.

Server memory is the resident set of the Daphne process and all its descendants (the
simulation workers), sampled every 0.2 s. The client runs on the same 2 cores as the
server: it reads every stream to the end but decodes (inflates and parses) the frames of
one visitor in ten, so that its own CPU weighs less on what is measured.

    python bench/load.py [--visitors 10,50,100,200] [--no-abuse] [--app-dir DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, WebSocketException

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
SMALLEST, HEAVIEST = "retries-max-in-flight-1", "eager-scale-out"  # by stream size
VISITOR_DEADLINE = 120.0  # seconds: a visitor not done by then counts as an error
START_SECONDS = 30.0


# --- the server -------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


# Twisted's default listen queue is 50: 200 visitors connecting at once overflowed it
# (the kernel's ListenOverflows counter), and each dropped SYN is retried after 1 s, then
# 3 s — whole seconds on a page's and a first frame's times. `make run` and the images use
# the same.
BACKLOG = int(os.environ.get("BENCH_BACKLOG", "1024"))


class Server:
    """Daphne on a loopback port, with a fresh database, and its memory sampled."""

    def __init__(self, app_dir: Path, env: dict[str, str]) -> None:
        self.app_dir = app_dir
        self.port = free_port()
        self.tmp = Path(tempfile.mkdtemp(prefix="playground-load-"))
        self.env = {
            **os.environ,
            "PYTHONPATH": str(app_dir),
            "DATABASE_URL": f"sqlite:///{self.tmp / 'db.sqlite3'}",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_SECRET_KEY_FILE": str(self.tmp / "no-key"),
            **env,
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.peak_rss = 0
        self.peak_web_rss = 0
        self._sampling = threading.Event()

    def start(self) -> None:
        python = str(ROOT / ".venv" / "bin" / "python")
        subprocess.run(
            [python, "manage.py", "migrate", "--noinput", "-v", "0"],
            cwd=self.app_dir,
            env=self.env,
            check=True,
        )
        self.log = open(self.tmp / "daphne.log", "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                python,
                "-m",
                "daphne",
                "-v",
                "0",
                "-e",  # as `make run`: a listen queue that holds a room arriving at once
                f"tcp:port={self.port}:interface={HOST}:backlog={BACKLOG}",
                "playground.asgi:application",
            ],
            cwd=self.app_dir,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + START_SECONDS
        while True:
            try:
                socket.create_connection((HOST, self.port), timeout=1).close()
                break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"Daphne did not start; see {self.tmp}/daphne.log") from None
                time.sleep(0.1)  # a server starting up: nothing to wait on but its port
        self._sampling.set()
        threading.Thread(target=self._sample, daemon=True).start()

    def rss_mb(self) -> float:
        if self.process is None:
            return 0.0
        return tree_rss(self.process.pid) / 1e6

    def web_rss_mb(self) -> float:
        """The Daphne process alone (without its simulation workers)."""
        if self.process is None:
            return 0.0
        try:
            pages = int(Path(f"/proc/{self.process.pid}/statm").read_text().split()[1])
        except OSError:
            return 0.0
        return pages * os.sysconf("SC_PAGE_SIZE") / 1e6

    def _sample(self) -> None:
        while self._sampling.is_set():
            self.peak_rss = max(self.peak_rss, int(self.rss_mb()))
            self.peak_web_rss = max(self.peak_web_rss, int(self.web_rss_mb()))
            time.sleep(0.2)

    def reset_peak(self) -> None:
        self.peak_rss = int(self.rss_mb())
        self.peak_web_rss = int(self.web_rss_mb())

    def stop(self) -> None:
        self._sampling.clear()
        if self.process is not None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        if os.environ.get("LOAD_KEEP_LOG"):
            print(f"server log kept in {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


def tree_rss(pid: int) -> int:
    """Resident bytes of `pid` and every descendant (the pool workers, the forkserver)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    total, todo = 0, [pid]
    page = os.sysconf("SC_PAGE_SIZE")
    while todo:
        current = todo.pop()
        try:
            total += int(Path(f"/proc/{current}/statm").read_text().split()[1]) * page
        except OSError:
            continue
        todo.extend(children.get(current, []))
    return total


# --- a small HTTP/1.1 client that can choose its source address ---------------------------


@dataclass
class Response:
    status: int
    headers: dict[str, list[str]]
    body: bytes


async def http(
    port: int,
    method: str,
    path: str,
    *,
    local: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
) -> Response:
    reader, writer = await asyncio.open_connection(HOST, port, local_addr=(local, 0))
    lines = [
        f"{method} {path} HTTP/1.1",
        f"Host: {HOST}:{port}",
        "Connection: close",
        f"Content-Length: {len(body)}",
    ]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    raw = await reader.read()
    writer.close()
    head, _, content = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parsed: dict[str, list[str]] = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        parsed.setdefault(name.strip().lower(), []).append(value.strip())
    return Response(int(status_line.split()[1]), parsed, content)


# --- one visitor --------------------------------------------------------------------------


@dataclass
class Visit:
    page: float | None = None
    first_frame: float | None = None
    end: float | None = None
    edit: float | None = None
    frames: int = 0
    stream_bytes: int = 0
    error: str | None = None


async def play(port: int, slug: str, local: str, *, decode: bool) -> tuple[float, float, int, int]:
    """Plays a stream to its end: (first frame s, end s, frames, bytes) from the handshake."""
    start = time.monotonic()
    first: float | None = None
    received = total_bytes = frames = 0
    async with connect(
        f"ws://{HOST}:{port}/ws/runs/{slug}",
        origin=f"http://{HOST}:{port}",
        local_addr=(local, 0),
        max_size=None,
        compression=None,
        open_timeout=60,
    ) as ws:
        await ws.send(json.dumps({"type": "run", "from": 0}))
        while True:
            message = await ws.recv()
            total_bytes += len(message)
            if isinstance(message, bytes):  # a data chunk: 8-byte token, deflated JSON
                received += 1
                await ws.send(
                    json.dumps({"type": "ack", "chunks": received, "token": message[:8].hex()})
                )
                if received == 2:
                    first = time.monotonic() - start
                if decode:
                    data = json.loads(zlib.decompress(message[8:]))
                    if data["type"] == "frames":
                        assert data["start"] == frames, (data["start"], frames)
                        frames += len(data["frames"])
                continue
            if message.startswith(('{"type": "frames"', '{"type":"frames"')):  # protocol 1
                if first is None:
                    first = time.monotonic() - start
                if decode:
                    frames += len(json.loads(message)["frames"])
                continue
            data = json.loads(message)
            if data["type"] == "end":
                if decode and frames != data["total"]:
                    raise AssertionError(f"{frames} frames of {data['total']}")
                end = time.monotonic() - start
                return (first if first is not None else end), end, data["total"], total_bytes
            if data["type"] == "error":
                raise RuntimeError(f"error frame: {data.get('message')}")


CSRF = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')


async def edit(port: int, slug: str, local: str, page: Response, value: int) -> float:
    token = CSRF.search(page.body)
    cookie = next(
        (c.split(";")[0] for c in page.headers.get("set-cookie", []) if c.startswith("csrftoken=")),
        None,
    )
    if token is None or cookie is None:
        raise RuntimeError("no CSRF token on the page")
    form = f"csrfmiddlewaretoken={token.group(1).decode()}&consumers%5B0%5D.processing_ms={value}"
    start = time.monotonic()
    response = await http(
        port,
        "POST",
        f"/r/{slug}/quick",
        local=local,
        body=form.encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie},
    )
    if response.status != 303:
        raise RuntimeError(f"edit answered {response.status}")
    return time.monotonic() - start


async def visit(port: int, slug: str, local: str, value: int, *, decode: bool) -> Visit:
    out = Visit()
    try:
        async with asyncio.timeout(VISITOR_DEADLINE):
            start = time.monotonic()
            page = await http(port, "GET", f"/r/{slug}", local=local)
            if page.status != 200:
                raise RuntimeError(f"page answered {page.status}")
            out.page = time.monotonic() - start
            out.first_frame, out.end, out.frames, out.stream_bytes = await play(
                port, slug, local, decode=decode
            )
            out.edit = await edit(port, slug, local, page, value)
    except TimeoutError:
        out.error = f"not done in {VISITOR_DEADLINE:.0f} s"
    except (OSError, WebSocketException, RuntimeError, AssertionError, ValueError) as err:
        out.error = f"{type(err).__name__}: {err}"[:200]
    return out


def address(group: int, k: int) -> str:
    return f"127.{group}.{k // 250}.{k % 250 + 1}"


# --- statistics and the table --------------------------------------------------------------


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


@dataclass
class Round:
    name: str
    visitors: int
    visits: list[Visit]
    wall: float
    rss_peak: int
    rss_after: int
    notes: list[str] = field(default_factory=list)

    def row(self) -> list[str]:
        ok = [v for v in self.visits if v.error is None]
        col = lambda attr: [getattr(v, attr) for v in ok if getattr(v, attr) is not None]  # noqa: E731
        errors = len(self.visits) - len(ok)
        return [
            self.name,
            str(self.visitors),
            str(errors),
            f"{fmt(pct(col('page'), 0.5))} / {fmt(pct(col('page'), 0.95))}",
            f"{fmt(pct(col('first_frame'), 0.5))} / {fmt(pct(col('first_frame'), 0.95))}",
            f"{fmt(pct(col('end'), 0.5))} / {fmt(pct(col('end'), 0.95))}",
            fmt(pct(col("edit"), 0.95)),
            f"{self.wall:.1f}",
            str(self.rss_peak),
        ]


HEADER = [
    "scenario",
    "N",
    "errors",
    "page s p50/p95",
    "first frame s p50/p95",
    "end of stream s p50/p95",
    "edit s p95",
    "wall s",
    "server RSS MB (peak)",
]


def table(rows: list[list[str]], header: list[str]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


# --- rounds -------------------------------------------------------------------------------


async def visitors_round(server: Server, name: str, slug: str, n: int, base: int) -> Round:
    server.reset_peak()
    start = time.monotonic()
    visits = await asyncio.gather(
        *(visit(server.port, slug, address(1, k), base + k, decode=k % 10 == 0) for k in range(n))
    )
    wall = time.monotonic() - start
    round_ = Round(name, n, list(visits), wall, server.peak_rss, int(server.rss_mb()))
    errors = sorted({v.error for v in visits if v.error})
    round_.notes = [f"{sum(v.error == e for v in visits)}× {e}" for e in errors]
    return round_


def cap_scenario(seed: int) -> dict[str, Any]:
    """50 consumers on 64 partitions for an hour, record by record: over 10 s of CPU."""
    return {
        "name": "cap hitter",
        "seed": seed,
        "duration_ms": 3_600_000,
        "brokers": 3,
        "topics": [{"name": "t", "partitions": 64, "replication_factor": 3}],
        "producers": [{"id": "p1", "topic": "t", "messages": 5000, "rate_per_s": 2}],
        "consumers": [
            {
                "id": f"c{i}",
                "group": f"g{i % 5}",
                "topics": ["t"],
                "processing_ms": 1,
                "config": {"auto.offset.reset": "earliest"},
            }
            for i in range(1, 51)
        ],
    }


ANSWERS: dict[str, int] = {}  # each distinct error answer of /api/run, counted


async def api_run(port: int, local: str, scenario: dict[str, Any]) -> tuple[int, float, str]:
    start = time.monotonic()
    try:
        async with asyncio.timeout(VISITOR_DEADLINE):
            response = await http(
                port,
                "POST",
                "/api/run",
                local=local,
                body=json.dumps(scenario).encode(),
                headers={"Content-Type": "application/json"},
            )
    except TimeoutError:
        return 0, time.monotonic() - start, "timeout"
    retry = response.headers.get("retry-after", [""])[0]
    if response.status != 200:
        try:
            message = json.loads(response.body)["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = response.body[:80].decode(errors="replace")
        key = f"{response.status} {re.sub(r'[0-9]+', 'N', message)[:90]}"
        ANSWERS[key] = ANSWERS.get(key, 0) + 1
    return response.status, time.monotonic() - start, retry


async def flood(port: int, slug: str, stop: asyncio.Event) -> str:
    """200 run requests, never reading; how did the server end it?"""
    try:
        async with connect(
            f"ws://{HOST}:{port}/ws/runs/{slug}",
            origin=f"http://{HOST}:{port}",
            local_addr=(address(2, 0), 0),
            max_size=None,
            max_queue=1,
            compression=None,
        ) as ws:
            for _ in range(200):
                await ws.send(json.dumps({"type": "run", "from": 0}))
            closed = asyncio.ensure_future(ws.wait_closed())
            waiter = asyncio.ensure_future(stop.wait())
            await asyncio.wait([closed, waiter], return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            if closed.done():
                return f"closed by the server, code {ws.close_code}"
            closed.cancel()
            return "still open at the end of the mix"
    except ConnectionClosed as err:
        return f"closed by the server, code {err.rcvd.code if err.rcvd else None}"
    except (OSError, WebSocketException) as err:
        return f"{type(err).__name__}: {err}"


async def silent_viewers(port: int, slug: str, n: int, stop: asyncio.Event) -> str:
    """`n` websockets that each ask once for the heaviest stream and never read."""
    outcomes: dict[str, int] = {}

    async def one(k: int) -> None:
        try:
            async with connect(
                f"ws://{HOST}:{port}/ws/runs/{slug}",
                origin=f"http://{HOST}:{port}",
                local_addr=(address(2, 1000 + k), 0),
                max_size=None,
                max_queue=1,
                compression=None,
                open_timeout=60,
            ) as ws:
                await ws.send(json.dumps({"type": "run", "from": 0}))
                closed = asyncio.ensure_future(ws.wait_closed())
                waiter = asyncio.ensure_future(stop.wait())
                await asyncio.wait([closed, waiter], return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
                key = f"closed {ws.close_code}" if closed.done() else "open"
                closed.cancel()
        except (OSError, WebSocketException, TimeoutError) as err:
            key = type(err).__name__
        outcomes[key] = outcomes.get(key, 0) + 1

    await asyncio.gather(*(one(k) for k in range(n)))
    return ", ".join(f"{v}× {k}" for k, v in sorted(outcomes.items()))


async def abuse_round(
    server: Server, heavy: str, small: str, small_source: dict[str, Any], cap_sources: int
) -> dict[str, Any]:
    server.reset_peak()
    port, stop = server.port, asyncio.Event()
    start = time.monotonic()
    flooding = asyncio.ensure_future(flood(port, heavy, stop))
    silent = asyncio.ensure_future(silent_viewers(port, heavy, 200, stop))
    capped = asyncio.ensure_future(
        asyncio.gather(
            *(
                api_run(port, address(2, 1 + k % cap_sources), cap_scenario(1000 + k))
                for k in range(20)
            )
        )
    )
    runs: list[tuple[int, float]] = []
    streams: list[float] = []
    stream_errors: list[str] = []
    seed = 50_000
    normal = address(3, 0)
    while time.monotonic() - start < 30 or not capped.done():
        if time.monotonic() - start > 150:
            break
        seed += 1
        status, seconds, _ = await api_run(port, normal, {**small_source, "seed": seed})
        runs.append((status, seconds))
        try:
            async with asyncio.timeout(VISITOR_DEADLINE):
                _, end, _, _ = await play(port, small, normal, decode=True)
            streams.append(end)
        except (OSError, WebSocketException, RuntimeError, TimeoutError) as err:
            stream_errors.append(f"{type(err).__name__}: {err}"[:120])
        await asyncio.sleep(2.0)  # the visitor's own pace: one try every 2 s
    stop.set()
    cap_results = await capped
    result = {
        "wall": time.monotonic() - start,
        "flood": await flooding,
        "silent": await silent,
        "cap_statuses": sorted(f"{s}" for s, _, _ in cap_results),
        "cap_seconds": [round(t, 1) for _, t, _ in cap_results],
        "cap_retry_after": sorted({r for _, _, r in cap_results if r}),
        "normal_runs": len(runs),
        "normal_run_errors": sum(1 for s, _ in runs if s != 200),
        "normal_run_statuses": sorted({s for s, _ in runs}),
        "normal_run_p50": pct([t for _, t in runs], 0.5),
        "normal_run_p95": pct([t for _, t in runs], 0.95),
        "normal_stream_p50": pct(streams, 0.5),
        "normal_stream_p95": pct(streams, 0.95),
        "normal_stream_errors": stream_errors,
        "error_answers": dict(ANSWERS),
        "rss_peak": server.peak_rss,
        "web_process_rss_peak": server.peak_web_rss,
    }
    await asyncio.sleep(5)  # let the server drop what the abusers left (close handshakes)
    result["rss_after"] = int(server.rss_mb())
    return result


def builtin_slug(app_dir: Path, name: str) -> str:
    code = (
        "import sys; from simcore import builtin_scenario, scenario_digest;"
        f"print(scenario_digest(builtin_scenario({name!r}))[:16])"
    )
    out = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), "-c", code],
        cwd=app_dir,
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(app_dir)},
    )
    return out.stdout.strip()


async def pages_round(server: Server, slug: str, n: int) -> str:
    """N first visitors open one page at once on a cold server, and nothing else: what the
    page costs (issue 9: the cold herd)."""

    async def one(k: int) -> tuple[float, int]:
        start = time.monotonic()
        answer = await http(server.port, "GET", f"/r/{slug}", local=address(1, k))
        return time.monotonic() - start, answer.status

    results = await asyncio.gather(*(one(k) for k in range(n)))
    times = [t for t, _ in results]
    errors = sum(1 for _, status in results if status != 200)
    return (
        f"pages only, N={n}: errors {errors}, page s p50/p95"
        f" {fmt(pct(times, 0.5))} / {fmt(pct(times, 0.95))}"
    )


async def main_async(args: argparse.Namespace) -> int:
    app_dir = Path(args.app_dir).resolve()
    if args.pages_only:
        server = Server(app_dir, {})
        server.start()
        try:
            print(await pages_round(server, builtin_slug(app_dir, args.heavy), args.pages_only))
        finally:
            server.stop()
        return 0
    sizes = [int(n) for n in args.visitors.split(",") if n.strip()]
    server = Server(app_dir, {})
    server.start()
    rows: list[list[str]] = []
    notes: list[str] = []
    try:
        print(f"server on {HOST}:{server.port}, idle RSS {server.rss_mb():.0f} MB", flush=True)
        slugs = {name: builtin_slug(app_dir, name) for name in (args.small, args.heavy)}
        base = 10_000
        for name in [n for n in (args.small, args.heavy) if n not in args.skip.split(",")]:
            for n in sizes:
                round_ = await visitors_round(server, name, slugs[name], n, base)
                base += 1000
                rows.append(round_.row())
                notes += [f"{name} N={n}: {note}" for note in round_.notes]
                print(table([round_.row()], HEADER).splitlines()[-1], flush=True)
        abuse = None
        if args.abuse:
            source = json.loads(
                (
                    await http(
                        server.port,
                        "GET",
                        f"/api/scenarios/{slugs[args.small]}",
                        local=address(3, 1),
                    )
                ).body
            )["source"]
            abuse = await abuse_round(
                server, slugs[args.heavy], slugs[args.small], source, args.cap_sources
            )
        print()
        print(table(rows, HEADER))
        for note in notes:
            print(f"- {note}")
        if abuse:
            print()
            print("Abuse mix (a flooding websocket, 20 cap-hitting /api/run, 200 silent viewers):")
            for key, value in abuse.items():
                print(f"- {key}: {fmt(value) if isinstance(value, float) else value}")
        print(f"\nserver RSS at the end: {server.rss_mb():.0f} MB")
        if args.json:
            Path(args.json).write_text(
                json.dumps({"rows": rows, "notes": notes, "abuse": abuse}, indent=1)
            )
    finally:
        server.stop()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--visitors", default="10,50,100,200")
    parser.add_argument("--small", default=SMALLEST)
    parser.add_argument("--heavy", default=HEAVIEST)
    parser.add_argument("--no-abuse", dest="abuse", action="store_false")
    parser.add_argument(
        "--cap-sources",
        type=int,
        default=1,
        help="addresses the 20 cap-hitting runs come from (1: one abuser)",
    )
    parser.add_argument(
        "--skip", default="", help="built-ins whose rounds to skip (comma-separated)"
    )
    parser.add_argument("--app-dir", default=str(ROOT), help="the checkout to serve")
    parser.add_argument(
        "--pages-only",
        type=int,
        default=0,
        metavar="N",
        help="only N first visitors opening the heavy page at once on a cold server",
    )
    parser.add_argument("--json", help="also write the results to this file")
    return asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
