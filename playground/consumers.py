"""The run as a websocket stream: a thin consumer over `runner`.

Protocol (JSON text frames):

    client → {"type": "run", "from": 0}        start, or resume at a step after a reconnect
    server → {"type": "meta", ...}              what the player needs before the first frame
    server → {"type": "frames", "start": i, "frames": [...]}   in chunks, in order
    server → {"type": "end", "total": n}
    server → {"type": "error", "field": ..., "message": ..., "allowed": ...}

A malformed message gets an error frame and the connection stays open; an unknown slug
gets an error frame and the connection is closed (there is nothing to stream).
"""

from __future__ import annotations

import json
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from playground import runner, scenarios
from playground.errors import error_payload, scenario_error_payload
from simcore import Scenario, ScenarioError

CHUNK_FRAMES = 100
MAX_MESSAGE_CHARS = 1000  # control messages are tiny
CLOSE_NOT_FOUND = 4404


class ProtocolError(Exception):
    def __init__(self, field: str, message: str, allowed: str | None = None) -> None:
        super().__init__(message)
        self.payload = error_payload(field, message, allowed)


def parse_message(text: str | None) -> int:
    """The step to stream from, or ProtocolError naming what is wrong."""
    if text is None:
        raise ProtocolError("message", "binary frames are not accepted: send JSON text")
    if len(text) > MAX_MESSAGE_CHARS:
        raise ProtocolError("message", f"is {len(text)} characters; at most {MAX_MESSAGE_CHARS}")
    try:
        message = json.loads(text)
    except ValueError:
        raise ProtocolError("message", "is not valid JSON") from None
    if not isinstance(message, dict):
        raise ProtocolError("message", "must be a JSON object")
    if message.get("type") != "run":
        raise ProtocolError("type", f"unknown message type {message.get('type')!r}", "run")
    start = message.get("from", 0)
    if isinstance(start, bool) or not isinstance(start, int) or start < 0:
        raise ProtocolError("from", f"must be a step number ≥ 0, got {start!r}", "0, 1, 2, …")
    return start


def meta(slug: str, scenario: Scenario, run: runner.RunData) -> dict[str, Any]:
    frames = run["frames"]
    return {
        "type": "meta",
        "slug": slug,
        "name": scenario.name,
        "error": run["error"],
        "total": len(frames),
        "t_end": frames[-1]["t"] if frames else 0,
        "series": run["series"],
        "consumers": [
            {"id": c.id, "group": c.group, "client": c.client} for c in scenario.consumers
        ],
        "log_size": {
            f"{p['topic']}-{p['partition']}": p["leo"]
            for p in (frames[-1]["partitions"] if frames else [])
        },
        "lost": run["lost"],
        "rebalances": {
            name: group["rebalances"]["list"]
            for name, group in ((run["summary"] or {}).get("consumer_groups") or {}).items()
        },
        "metric_keys": run["metric_keys"],
    }


class RunConsumer(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    async def connect(self) -> None:
        self.slug = self.scope["url_route"]["kwargs"]["slug"]
        await self.accept()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            start = parse_message(text_data)
        except ProtocolError as err:
            await self.send_json({"type": "error", **err.payload})
            return
        await self.stream(start)

    async def stream(self, start: int) -> None:
        try:
            scenario = await database_sync_to_async(scenarios.find)(self.slug)
        except ScenarioError as err:
            scenario, problem = None, scenario_error_payload(err)
        else:
            problem = error_payload("slug", f"no scenario with the link {self.slug!r}")
        if scenario is None:
            await self.send_json({"type": "error", **problem})
            await self.close(code=CLOSE_NOT_FOUND)
            return
        run = await runner.arun(scenario)
        await self.send_json(meta(self.slug, scenario, run))
        frames = run["frames"]
        for i in range(min(start, len(frames)), len(frames), CHUNK_FRAMES):
            await self.send_json(
                {"type": "frames", "start": i, "frames": frames[i : i + CHUNK_FRAMES]}
            )
        await self.send_json({"type": "end", "total": len(frames)})
