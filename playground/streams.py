"""A run as the bytes its websocket stream sends, encoded once per scenario.

`encode` runs in the simulation worker: the meta message and the frames in chunks of
`CHUNK_FRAMES`, each JSON deflated (zlib) — about 25× smaller than the JSON text for the
built-ins (the heaviest, 3.4 MB of JSON, is 126 kB). The web process keeps these bytes in
a cache bounded by size (`runner`) and sends the same bytes to every viewer: a stream
costs the server the same for one viewer or two hundred (no JSON encoding per
connection, nothing on the event loop but the writes).

The protocol itself (acknowledgements, tokens, errors) is in `consumers`.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from typing import Any

import ujson

from simcore import Scenario

CHUNK_FRAMES = 100
LEVEL = 6  # zlib's default: level 9 saves 3% more for twice the time


@dataclass(frozen=True)
class Stream:
    """`chunks[0]` is the meta message, then one chunk per `CHUNK_FRAMES` frames; `ends[k]`
    is the step just after chunk k's last frame (0 for the meta)."""

    chunks: tuple[bytes, ...]
    ends: tuple[int, ...]
    total: int

    @property
    def nbytes(self) -> int:
        return sum(len(c) for c in self.chunks)

    def from_step(self, step: int) -> list[bytes]:
        """The meta, then every chunk holding a frame at or after `step` (a resume)."""
        return [self.chunks[0]] + [
            chunk for chunk, end in zip(self.chunks[1:], self.ends[1:], strict=True) if end > step
        ]


def frames(stream: Stream) -> list[dict[str, Any]]:
    """Every frame of the run, back from the stream's chunks (`jobs.decode`)."""
    return [frame for chunk in stream.chunks[1:] for frame in inflate(chunk)["frames"]]


def to_json(value: Any) -> bytes:
    """Compact JSON, as `json.dumps(value, separators=(",", ":"))` writes it (byte for byte
    for the built-ins' runs, a web test checks; a float such as 1e-07 is spelled 1e-7), in a
    third of the time: ujson (C). A heavy
    built-in's frames are ~2.8 MB of JSON, 45-80 ms of a "crash here" job with the standard
    library's encoder, 15-25 ms with ujson; reading it back stays `json.loads` (faster)."""
    return ujson.dumps(value, escape_forward_slashes=False).encode()


def deflate(message: dict[str, Any]) -> bytes:
    return zlib.compress(to_json(message), LEVEL)


def inflate(data: bytes) -> Any:
    return json.loads(zlib.decompress(data))


def encode(slug: str, scenario: Scenario, run: dict[str, Any]) -> Stream:
    frames = run["frames"]
    chunks, ends = [deflate(meta(slug, scenario, run))], [0]
    for start in range(0, len(frames), CHUNK_FRAMES):
        part = frames[start : start + CHUNK_FRAMES]
        chunks.append(deflate({"type": "frames", "start": start, "frames": part}))
        ends.append(start + len(part))
    return Stream(tuple(chunks), tuple(ends), len(frames))


def meta(slug: str, scenario: Scenario, run: dict[str, Any]) -> dict[str, Any]:
    """What the player needs before the first frame."""
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
        "fates": run.get("fates"),  # .get: an outcome cached before they existed
        "captions": run.get("captions", []),
        "rebalances": {
            name: group["rebalances"]["list"]
            for name, group in ((run["summary"] or {}).get("consumer_groups") or {}).items()
        },
        "metric_keys": run["metric_keys"],
        "focus": run.get("focus"),  # a wide topic's partitions shown first (playground/focus)
    }
