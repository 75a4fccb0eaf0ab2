"""The run websocket, driven through Channels' WebsocketCommunicator (in-memory layer).

Every test needs `django_db(transaction=True)`: Channels closes old connections on each
message, and the ORM runs in a thread outside any test transaction (stack-notes).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from playground import runner, scenarios
from playground.asgi import application
from simcore import Scenario

pytestmark = pytest.mark.django_db(transaction=True)
ORIGIN = (b"origin", b"http://localhost")
TIMEOUT = 30  # the first run starts the worker pool


@pytest.fixture
async def slug(loss_scenario: Scenario) -> str:
    return await database_sync_to_async(scenarios.save)(loss_scenario)


@pytest.fixture
async def socket(slug: str) -> AsyncIterator[WebsocketCommunicator]:
    communicator = WebsocketCommunicator(application, f"/ws/runs/{slug}", headers=[ORIGIN])
    connected, _ = await communicator.connect(timeout=TIMEOUT)
    assert connected
    yield communicator
    await communicator.disconnect()


async def _stream(
    socket: WebsocketCommunicator, start: int = 0
) -> tuple[dict[str, Any], list[Any]]:
    await socket.send_json_to({"type": "run", "from": start})
    meta = await socket.receive_json_from(timeout=TIMEOUT)
    frames: list[Any] = []
    while True:
        message = await socket.receive_json_from(timeout=TIMEOUT)
        if message["type"] == "end":
            assert message["total"] == meta["total"]
            return meta, frames
        assert message["type"] == "frames"
        assert message["start"] == start + len(frames)  # in order, no gaps
        frames.extend(message["frames"])


async def test_it_streams_meta_then_every_frame_in_order(
    socket: WebsocketCommunicator, loss_scenario: Scenario
) -> None:
    meta, frames = await _stream(socket)
    assert meta["type"] == "meta"
    assert meta["name"] == loss_scenario.name
    assert meta["error"] is None
    assert meta["total"] == len(frames) > 1
    assert "orders-0" in meta["series"]["partitions"]
    assert [f["step"] for f in frames] == list(range(len(frames)))
    expected = await database_sync_to_async(runner.run)(loss_scenario)
    assert frames == expected["frames"]


async def test_it_resumes_at_a_given_step(socket: WebsocketCommunicator) -> None:
    _, everything = await _stream(socket)
    meta, rest = await _stream(socket, start=5)
    assert rest == everything[5:]
    assert meta["total"] == len(everything)


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ("not json", "message"),
        ("[1, 2]", "message"),
        ('{"type": "rewind"}', "type"),
        ('{"from": 0}', "type"),
        ('{"type": "run", "from": -1}', "from"),
        ('{"type": "run", "from": "zero"}', "from"),
        ('{"type": "run", "from": true}', "from"),
        ('{"type": "run", "from": 0, "pad": "' + "x" * 2000 + '"}', "message"),
    ],
)
async def test_it_answers_a_malformed_message_with_an_error_and_stays_open(
    socket: WebsocketCommunicator, raw: str, field: str
) -> None:
    await socket.send_to(text_data=raw)
    error = await socket.receive_json_from(timeout=TIMEOUT)
    assert error["type"] == "error"
    assert error["field"] == field
    assert error["message"]
    meta, frames = await _stream(socket)  # still open, still useful
    assert len(frames) == meta["total"]


async def test_it_rejects_binary_frames_and_stays_open(socket: WebsocketCommunicator) -> None:
    await socket.send_to(bytes_data=b"\x00\x01")
    error = await socket.receive_json_from(timeout=TIMEOUT)
    assert (error["type"], error["field"]) == ("error", "message")
    _, frames = await _stream(socket)
    assert frames


async def test_it_closes_after_an_error_for_an_unknown_slug() -> None:
    communicator = WebsocketCommunicator(application, "/ws/runs/0123456789abcdef", headers=[ORIGIN])
    connected, _ = await communicator.connect(timeout=TIMEOUT)
    assert connected
    await communicator.send_json_to({"type": "run", "from": 0})
    error = await communicator.receive_json_from(timeout=TIMEOUT)
    assert (error["type"], error["field"]) == ("error", "slug")
    closed = await communicator.receive_output(timeout=TIMEOUT)
    assert closed == {"type": "websocket.close", "code": 4404}


async def test_it_refuses_a_connection_without_an_allowed_origin(slug: str) -> None:
    communicator = WebsocketCommunicator(
        application, f"/ws/runs/{slug}", headers=[(b"origin", b"http://evil.example")]
    )
    connected, _ = await communicator.connect(timeout=TIMEOUT)
    assert not connected


async def test_meta_and_frames_carry_what_the_panels_draw(
    socket: WebsocketCommunicator, loss_scenario: Scenario
) -> None:
    meta, frames = await _stream(socket)
    assert meta["lost"] == []
    assert meta["rebalances"]["billing"][0]["cause"] == "c1 joins"
    names = {key["name"] for key in meta["metric_keys"]}
    assert {"records-consumed-rate", "records-lag-max", "record-send-rate"} <= names
    for frame in frames:
        assert len(frame["metrics"]) == len(meta["metric_keys"])
        assert set(frame["produce"]) == {p.id for p in loss_scenario.producers}
    assert frames[-1]["produce"]["p1"]["acks"] > 0
