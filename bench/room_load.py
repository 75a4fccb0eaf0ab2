"""Workshop room load (make load): one instructor and N participants in one room, one Daphne.

Starts its own server (bench/load.py's `Server`: Daphne, default settings, a fresh SQLite
file), creates a room for the `kafka-semantics` course through the page's button, and
connects N participants over websockets, each from its own loopback address (127.4.x.y),
as a class of laptops would. The instructor then walks through five scenarios of the
course (goto), on each: five seeks, play, pause and, where the scenario has questions,
opens each one and reveals it once every participant's answer is counted. Before a
question the instructor opens its page (`/room/<code>/host/<token>`) as a browser would,
which computes the run the reveal's answer comes from.

Each participant records when it receives each state `version`; the instructor records
when it sent the action that made it (its own echo says which version that was). Latency
= receipt − send, on one clock (one process). The next action waits until every
participant has the last one (at most ACTION_TIMEOUT s) — what is measured is one action
reaching the room, not a queue. Answers are checked against the reveal's count and the
database's: exactly N each; a participant's connection closing is a drop. "answer → answered"
is a participant's wait from sending its answer to the server's word that it is written;
"reveal → outcome" from the instructor's reveal to the "outcome" message (what the page left
out until then).

    python bench/room_load.py [--participants 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import HOST, ROOT, Server, address, fmt, http, pct, table

sys.path.insert(0, str(ROOT))
from simcore.scenario.builtins import builtin_scenario
from simcore.scenario.courses import courses

COURSE = "kafka-semantics"
POSITIONS = (0, 1, 11, 13, 21)  # java auto-commit, then the four built-ins with questions
SEEKS = 5
ACTION_TIMEOUT = 10.0
ANSWERS_TIMEOUT = 60.0  # was 6–8 s when each answer was a transaction of its own
CONNECT_TIMEOUT = 60.0
CSRF = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')


@dataclass
class Participant:
    k: int
    socket: ClientConnection | None = None
    seen: dict[int, float] = field(default_factory=dict)  # version → receipt time
    answered: set[int] = field(default_factory=set)  # polls
    asked_at: dict[int, float] = field(default_factory=dict)  # poll → answer sent
    acks: list[float] = field(default_factory=list)  # answer sent → "answered" received
    outcomes: list[float] = field(default_factory=list)  # receipt of each "outcome" message
    refused: list[str] = field(default_factory=list)
    dropped: str | None = None
    latest: int = -1
    got: asyncio.Event = field(default_factory=asyncio.Event)


def ws_url(port: int, code: str) -> str:
    return f"ws://{HOST}:{port}/ws/rooms/{code}"


async def open_socket(port: int, code: str, local: str) -> ClientConnection:
    return await connect(
        ws_url(port, code),
        origin=f"http://{HOST}:{port}",
        local_addr=(local, 0),
        compression=None,
        open_timeout=CONNECT_TIMEOUT,
    )


def answer_for(k: int, question: dict[str, Any]) -> Any:
    if question["kind"] == "number":
        return k % 7
    choices: list[str] = question["choices"]
    return choices[k % len(choices)]


async def participate(port: int, code: str, p: Participant, ready: asyncio.Event) -> None:
    try:
        p.socket = await open_socket(port, code, address(4, p.k))
        await p.socket.send(json.dumps({"type": "join", "name": f"p{p.k}"}))
        async for raw in p.socket:
            now = time.monotonic()
            message = json.loads(raw)
            if message["type"] == "state":
                p.seen[message["version"]] = now
                p.latest = max(p.latest, message["version"])
                p.got.set()
                question = message["question"]
                if question and not message["revealed"] and question["poll"] not in p.answered:
                    p.answered.add(question["poll"])
                    p.asked_at[question["poll"]] = time.monotonic()
                    value = answer_for(p.k, question)
                    await p.socket.send(
                        json.dumps({"type": "answer", "poll": question["poll"], "value": value})
                    )
                ready.set()
            elif message["type"] == "outcome":
                p.outcomes.append(now)
            elif message["type"] == "answered":
                p.acks.append(now - p.asked_at[message["poll"]])
            elif message["type"] == "error":
                p.refused.append(f"{message['field']}: {message['message']}")
    except ConnectionClosed as err:
        p.dropped = f"closed {err.rcvd.code if err.rcvd else '?'}"
    except OSError as err:
        p.dropped = f"connect: {err}"


class Instructor:
    def __init__(self, port: int, code: str, token: str) -> None:
        self.port, self.code, self.token = port, code, token
        self.sent: dict[int, tuple[str, float]] = {}  # version → (action, sent at)
        self.state: dict[str, Any] = {}
        self.view: dict[str, Any] = {}
        self.news = asyncio.Event()
        self.echoes: list[float] = []  # action → the instructor's own new state

    async def run(self, socket: ClientConnection) -> None:
        self.socket = socket
        await socket.send(json.dumps({"type": "host", "token": self.token}))
        async for raw in socket:
            message = json.loads(raw)
            if message["type"] == "state":
                self.state = message
            elif message["type"] == "host":
                self.view = message
            elif message["type"] == "error":
                raise RuntimeError(f"instructor refused: {message}")
            self.news.set()

    async def until(self, condition: Any, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not condition():
            self.news.clear()
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                await asyncio.wait_for(self.news.wait(), left)
            except TimeoutError:
                return False
        return True

    async def act(self, name: str, message: dict[str, Any]) -> int:
        """Sends an action; the version it made (read off the instructor's own echo)."""
        before = self.state.get("version", -1)
        start = time.monotonic()
        await self.socket.send(json.dumps(message))
        if not await self.until(lambda: self.state.get("version", -1) > before, ACTION_TIMEOUT):
            raise RuntimeError(f"{name}: no new state within {ACTION_TIMEOUT} s")
        version: int = self.state["version"]
        self.sent[version] = (name, start)
        self.echoes.append(time.monotonic() - start)
        return version


async def everyone_has(participants: list[Participant], version: int) -> None:
    deadline = time.monotonic() + ACTION_TIMEOUT
    for p in participants:
        while p.latest < version and p.dropped is None:
            p.got.clear()
            left = deadline - time.monotonic()
            if left <= 0:
                return
            try:
                await asyncio.wait_for(p.got.wait(), left)
            except TimeoutError:
                return


async def create_room(port: int) -> tuple[str, str]:
    page = await http(port, "GET", f"/course/{COURSE}", local=address(5, 1))
    token = CSRF.search(page.body)
    cookie = next(c.split(";")[0] for c in page.headers["set-cookie"] if c.startswith("csrftoken"))
    assert token is not None
    body = f"csrfmiddlewaretoken={token.group(1).decode()}&course={COURSE}".encode()
    made = await http(
        port,
        "POST",
        "/rooms/new",
        local=address(5, 1),
        body=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie},
    )
    assert made.status == 303, made.body[:300]
    _, _, code, _, secret = made.headers["location"][0].split("/")
    return code, secret


async def session(server: Server, n: int) -> dict[str, Any]:
    port = server.port
    code, secret = await create_room(port)
    instructor = Instructor(port, code, secret)
    host_socket = await open_socket(port, code, address(5, 2))
    host_task = asyncio.create_task(instructor.run(host_socket))
    participants = [Participant(k) for k in range(n)]
    ready = [asyncio.Event() for _ in participants]
    joined_at = time.monotonic()
    tasks = [
        asyncio.create_task(participate(port, code, p, e))
        for p, e in zip(participants, ready, strict=True)
    ]
    for e in ready:
        await asyncio.wait_for(e.wait(), CONNECT_TIMEOUT)
    join_s = time.monotonic() - joined_at
    await instructor.until(lambda: instructor.view.get("participants") == n, ACTION_TIMEOUT)
    answers_ok: list[str] = []
    reveals: list[float] = []  # when each reveal was sent
    for position in POSITIONS:
        version = await instructor.act("goto", {"type": "goto", "position": position})
        await everyone_has(participants, version)
        # the instructor's page, as a browser opens it: computes the run
        page = await http(port, "GET", f"/room/{code}/host/{secret}", local=address(5, 2))
        assert page.status == 200, page.status
        step = 0
        for _ in range(SEEKS):
            step += 3
            at = step * 10
            message = {"type": "control", "action": "seek", "step": step, "at_ms": at}
            await everyone_has(participants, await instructor.act("seek", message))
        for action in ("play", "pause"):
            message = {"type": "control", "action": action, "step": step, "at_ms": step * 10}
            await everyone_has(participants, await instructor.act(action, message))
        # the position's questions from the course itself: the instructor's "host" view
        # of them is a separate message, which may still show the last position's
        slug = courses()[COURSE].order()[position]
        for question_id in [q.id for q in builtin_scenario(slug).questions]:
            version = await instructor.act("open", {"type": "open", "question": question_id})
            opened = time.monotonic()
            await everyone_has(participants, version)
            counted = await instructor.until(
                lambda: instructor.view.get("answers") == n, ANSWERS_TIMEOUT
            )
            counting = time.monotonic() - opened
            version = await instructor.act("reveal", {"type": "reveal"})
            await everyone_has(participants, version)
            reveals.append(instructor.sent[version][1])
            total = instructor.state["reveal"]["total"]
            exact = counted and total == n
            answers_ok.append(
                f"{question_id}: {total}/{n}{'' if exact else ' (NOT EXACT)'}"
                f" (the instructor's count at {n} {counting:.1f} s after opening)"
            )
    await asyncio.sleep(0.5)  # late messages of the last action, if any
    latencies: dict[str, list[float]] = defaultdict(list)
    missing = 0
    for version, (name, sent) in instructor.sent.items():
        for p in participants:
            if version in p.seen:
                latencies[name].append(p.seen[version] - sent)
                latencies["all"].append(p.seen[version] - sent)
            else:
                missing += 1
    latencies["instructor's echo"] = instructor.echoes
    latencies["answer → answered"] = [a for p in participants for a in p.acks]
    latencies["reveal → outcome"] = [
        at - sent for p in participants for sent, at in zip(reveals, p.outcomes, strict=False)
    ]
    dropped = [p for p in participants if p.dropped is not None]
    refused = sorted({r for p in participants for r in p.refused})
    for p in participants:
        if p.socket is not None:
            await p.socket.close()
    host_task.cancel()
    await host_socket.close()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {
        "latencies": latencies,
        "join_s": join_s,
        "missing": missing,
        "dropped": len(dropped),
        "drops": sorted({p.dropped or "" for p in dropped})[:5],
        "refused": refused[:5],
        "answers": answers_ok,
        "actions": len(instructor.sent),
        "outcome_missing": sum(len(reveals) - len(p.outcomes) for p in participants),
    }


def report(n: int, result: dict[str, Any], rss: int) -> str:
    rows = []
    names = ("goto", "seek", "play", "pause", "open", "reveal", "all", "instructor's echo")
    for name in (*names, "answer → answered", "reveal → outcome"):
        values = result["latencies"].get(name, [])
        rows.append(
            [
                name,
                str(len(values)),
                fmt(pct(values, 0.5) and 1000 * pct(values, 0.5)),  # type: ignore[operator]
                fmt(pct(values, 0.95) and 1000 * pct(values, 0.95)),  # type: ignore[operator]
                fmt(max(values) * 1000 if values else None),
            ]
        )
    lines = [
        f"One instructor, {n} participants in one room, one Daphne process"
        f" ({result['actions']} actions, {len(POSITIONS)} scenarios of the course):",
        "",
        table(rows, ["action", "receipts", "p50 ms", "p95 ms", "max ms"]),
        "",
        f"- {n} participants joined in {result['join_s']:.1f} s",
        f"- answers counted (reveal's count / participants): {', '.join(result['answers'])}",
        f"- states never received: {result['missing']}; dropped connections:"
        f" {result['dropped']} {' '.join(result['drops'])}",
        f"- error frames: {result['refused'] or 'none'}",
        f"- outcome messages never received: {result['outcome_missing']}",
        f"- server RSS peak: {rss} MB",
    ]
    return "\n".join(lines)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process (the Daphne process, not its workers)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def main_async(args: argparse.Namespace) -> int:
    server = Server(Path(args.app_dir).resolve(), {})
    server.start()
    try:
        server.reset_peak()
        assert server.process is not None
        before = cpu_seconds(server.process.pid)
        result = await session(server, args.participants)
        used = cpu_seconds(server.process.pid) - before
        print(report(args.participants, result, server.peak_rss))
        receipts = len(result["latencies"]["all"])
        print(
            f"- Daphne CPU over the session: {used:.1f} s"
            f" ({1000 * used / max(1, receipts):.2f} ms per state received,"
            " joins, answers and pages included)"
        )
        p95 = pct(result["latencies"]["all"], 0.95)
        ok = (
            p95 is not None
            and p95 < 0.5
            and result["dropped"] == 0
            and result["missing"] == 0
            and all("NOT" not in a for a in result["answers"])
            and result["outcome_missing"] == 0
        )
        print(f"\ntarget (p95 < 500 ms, 0 dropped, answers exact): {'met' if ok else 'NOT met'}")
    finally:
        server.stop()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--participants", type=int, default=200)
    parser.add_argument("--app-dir", default=str(ROOT), help="the checkout to serve")
    return asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
