"""The run websocket, driven through Channels' WebsocketCommunicator (in-memory layer).

Every test needs `django_db(transaction=True)`: Channels closes old connections on each
message, and the ORM runs in a thread outside any test transaction (stack-notes).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from playground import consumers, runner, scenarios
from playground.admission import Busy
from playground.asgi import application
from playground.rates import Rate
from playground.streams import inflate
from simcore import Scenario, builtin_scenario

pytestmark = pytest.mark.django_db(transaction=True)
ORIGIN = (b"origin", b"http://localhost")
TIMEOUT = 30  # the first run starts the worker pool
HEAVY = "eager-scale-out"  # 1,129 frames: 12 chunks


@pytest.fixture
async def slug(loss_scenario: Scenario) -> str:
    return await database_sync_to_async(scenarios.save)(loss_scenario)


@pytest.fixture
async def heavy_slug() -> str:
    return await database_sync_to_async(scenarios.save)(builtin_scenario(HEAVY))


def communicator(slug: str, client: str = "10.0.0.1") -> WebsocketCommunicator:
    socket = WebsocketCommunicator(application, f"/ws/runs/{slug}", headers=[ORIGIN])
    socket.scope["client"] = (client, 50000)
    return socket


@pytest.fixture
async def socket(slug: str) -> AsyncIterator[WebsocketCommunicator]:
    connection = communicator(slug)
    connected, _ = await connection.connect(timeout=TIMEOUT)
    assert connected
    yield connection
    await connection.disconnect()


async def receive(socket: WebsocketCommunicator) -> dict[str, Any]:
    """The next message: a data chunk inflated (with its `token`), text parsed, or the close."""
    output = await socket.receive_output(timeout=TIMEOUT)
    if output["type"] == "websocket.close":
        return {"type": "close", "code": output.get("code")}
    if output.get("bytes") is not None:
        data: dict[str, Any] = inflate(output["bytes"][8:])
        return {**data, "token": output["bytes"][:8].hex(), "raw": output["bytes"][8:]}
    text: dict[str, Any] = json.loads(output["text"])
    return text


async def ack(socket: WebsocketCommunicator, chunks: int, token: str) -> None:
    await socket.send_json_to({"type": "ack", "chunks": chunks, "token": token})


async def _stream(
    socket: WebsocketCommunicator, start: int = 0
) -> tuple[dict[str, Any], list[Any]]:
    """Plays a stream, acknowledging every chunk: (meta, frames by step from `start`)."""
    await socket.send_json_to({"type": "run", "from": start})
    meta = await receive(socket)
    assert meta["type"] == "meta", meta
    await ack(socket, 1, meta["token"])
    frames: dict[int, Any] = {}
    chunks = 1
    while True:
        message = await receive(socket)
        if message["type"] == "end":
            assert message["total"] == meta["total"]
            return meta, [frames[k] for k in sorted(frames) if k >= start]
        assert message["type"] == "frames", message
        chunks += 1
        await ack(socket, chunks, message["token"])
        assert message["start"] <= start + len([k for k in frames if k >= start])  # no gaps
        frames.update({message["start"] + k: f for k, f in enumerate(message["frames"])})


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


async def test_a_run_socket_takes_no_channel_on_the_layer(slug: str) -> None:
    from channels.layers import get_channel_layer

    layer: Any = get_channel_layer()
    before = set(layer.channels)
    connection = communicator(slug)
    connected, _ = await connection.connect(timeout=TIMEOUT)
    assert connected
    _meta, frames = await _stream(connection)
    assert frames and set(layer.channels) == before
    await connection.disconnect()


async def test_it_resumes_at_a_given_step(socket: WebsocketCommunicator) -> None:
    _, everything = await _stream(socket)
    meta, rest = await _stream(socket, start=5)
    assert rest == everything[5:]
    assert meta["total"] == len(everything)


async def test_a_resume_past_the_end_gets_the_meta_and_the_end(
    socket: WebsocketCommunicator,
) -> None:
    _, everything = await _stream(socket)
    meta, rest = await _stream(socket, start=len(everything))
    assert rest == []
    assert meta["total"] == len(everything)


async def test_a_resume_skips_the_chunks_before_its_step(heavy_slug: str) -> None:
    socket = communicator(heavy_slug)
    assert (await socket.connect(timeout=TIMEOUT))[0]
    meta, rest = await _stream(socket, start=450)
    await socket.disconnect()
    assert meta["total"] > 1000
    assert [f["step"] for f in rest] == list(range(450, meta["total"]))


async def test_every_viewer_gets_the_same_bytes_behind_its_own_token(slug: str) -> None:
    seen = []
    for client in ("10.0.0.1", "10.0.0.2"):
        socket = communicator(slug, client)
        assert (await socket.connect(timeout=TIMEOUT))[0]
        await socket.send_json_to({"type": "run", "from": 0})
        seen.append(await receive(socket))
        await socket.disconnect()
    first, second = seen
    assert first["raw"] == second["raw"]
    assert first["token"] != second["token"]


async def test_it_sends_at_most_a_window_of_chunks_before_an_ack(
    heavy_slug: str, settings: Any
) -> None:
    settings.STREAM_WINDOW = 3
    socket = communicator(heavy_slug)
    assert (await socket.connect(timeout=TIMEOUT))[0]
    await socket.send_json_to({"type": "run", "from": 0})
    sent = [await receive(socket) for _ in range(3)]
    assert [m["type"] for m in sent] == ["meta", "frames", "frames"]
    assert await socket.receive_nothing(timeout=0.3)  # the fourth waits for an ack
    await ack(socket, 2, sent[1]["token"])  # acknowledges the meta and the first chunk
    fourth, fifth = await receive(socket), await receive(socket)
    assert (fourth["start"], fifth["start"]) == (200, 300)
    assert await socket.receive_nothing(timeout=0.3)
    await socket.disconnect()


async def test_an_ack_with_a_wrong_token_counts_for_nothing(heavy_slug: str, settings: Any) -> None:
    settings.STREAM_WINDOW = 2
    socket = communicator(heavy_slug)
    assert (await socket.connect(timeout=TIMEOUT))[0]
    await socket.send_json_to({"type": "run", "from": 0})
    first, second = await receive(socket), await receive(socket)
    await ack(socket, 2, "00" * 8 if second["token"] != "00" * 8 else "11" * 8)
    error = await receive(socket)
    assert (error["type"], error["field"]) == ("error", "token")
    await ack(socket, 3, second["token"])  # not sent yet: cannot be acknowledged
    error = await receive(socket)
    assert (error["type"], error["field"]) == ("error", "chunks")
    await ack(socket, 1, first["token"])
    third = await receive(socket)
    assert third["start"] == 100
    await socket.disconnect()


async def test_a_reader_that_never_acknowledges_is_closed(heavy_slug: str, settings: Any) -> None:
    settings.STREAM_WINDOW, settings.STREAM_ACK_SECONDS = 2, 1
    socket = communicator(heavy_slug)
    assert (await socket.connect(timeout=TIMEOUT))[0]
    await socket.send_json_to({"type": "run", "from": 0})
    assert [(await receive(socket))["type"] for _ in range(2)] == ["meta", "frames"]
    error = await receive(socket)
    assert (error["type"], error["field"]) == ("error", "ack")
    assert await receive(socket) == {"type": "close", "code": consumers.CLOSE_TOO_SLOW}


async def test_a_second_run_while_streaming_gets_an_error_and_the_first_goes_on(
    heavy_slug: str, settings: Any
) -> None:
    settings.STREAM_WINDOW = 2
    socket = communicator(heavy_slug)
    assert (await socket.connect(timeout=TIMEOUT))[0]
    await socket.send_json_to({"type": "run", "from": 0})
    _meta, second = await receive(socket), await receive(socket)
    await socket.send_json_to({"type": "run", "from": 0})
    error = await receive(socket)
    assert error["type"] == "error" and "already being sent" in error["message"]
    await ack(socket, 2, second["token"])
    assert (await receive(socket))["start"] == 100
    await socket.disconnect()


async def test_a_flood_of_messages_closes_the_connection(slug: str, settings: Any) -> None:
    settings.RATE_WS_MESSAGES = Rate(5, 60)
    socket = communicator(slug)
    assert (await socket.connect(timeout=TIMEOUT))[0]
    for _ in range(5):
        await socket.send_to(text_data="not json")
        assert (await receive(socket))["field"] == "message"
    await socket.send_to(text_data="not json")
    error = await receive(socket)
    assert error["type"] == "error" and "messages in 60 s" in error["message"]
    assert await receive(socket) == {"type": "close", "code": consumers.CLOSE_TOO_MANY}


async def test_an_address_may_hold_only_so_many_connections(slug: str, settings: Any) -> None:
    settings.WS_PER_CLIENT = 2
    held = [communicator(slug, "10.9.9.9") for _ in range(2)]
    for socket in held:
        assert (await socket.connect(timeout=TIMEOUT))[0]
    extra = communicator(slug, "10.9.9.9")
    assert (await extra.connect(timeout=TIMEOUT))[0]
    error = await receive(extra)
    assert (error["type"], error["field"]) == ("error", "connections")
    assert await receive(extra) == {"type": "close", "code": consumers.CLOSE_TOO_MANY}
    other = communicator(slug, "10.9.9.8")  # another address is not affected
    assert (await other.connect(timeout=TIMEOUT))[0]
    _, frames = await _stream(other)
    assert frames
    await held[0].disconnect()
    again = communicator(slug, "10.9.9.9")  # a place is free again
    assert (await again.connect(timeout=TIMEOUT))[0]
    _, frames = await _stream(again)
    assert frames
    for socket in (held[1], other, again):
        await socket.disconnect()


async def test_a_busy_server_answers_with_retry_after_and_stays_open(
    socket: WebsocketCommunicator, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = runner.aoutcome

    async def busy_once(scenario: Scenario, client: str | None) -> runner.Outcome:
        monkeypatch.setattr(runner, "aoutcome", real)
        raise Busy("every simulation worker is busy", 7)

    monkeypatch.setattr(runner, "aoutcome", busy_once)
    await socket.send_json_to({"type": "run", "from": 0})
    error = await receive(socket)
    assert (error["type"], error["field"], error["retry_after"]) == ("error", "run", 7)
    assert "try again in 7 s" in error["allowed"]
    _, frames = await _stream(socket)  # asking again later works on the same connection
    assert frames


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
        ('{"type": "ack", "chunks": 1}', "token"),
        ('{"type": "ack", "chunks": 0, "token": "0011223344556677"}', "chunks"),
        ('{"type": "ack", "chunks": 1, "token": "0011223344556677"}', "chunks"),
    ],
)
async def test_it_answers_a_malformed_message_with_an_error_and_stays_open(
    socket: WebsocketCommunicator, raw: str, field: str
) -> None:
    await socket.send_to(text_data=raw)
    error = await receive(socket)
    assert error["type"] == "error"
    assert error["field"] == field
    assert error["message"]
    meta, frames = await _stream(socket)  # still open, still useful
    assert len(frames) == meta["total"]


async def test_it_rejects_binary_frames_and_stays_open(socket: WebsocketCommunicator) -> None:
    await socket.send_to(bytes_data=b"\x00\x01")
    error = await receive(socket)
    assert (error["type"], error["field"]) == ("error", "message")
    _, frames = await _stream(socket)
    assert frames


async def test_it_closes_after_an_error_for_an_unknown_slug() -> None:
    socket = communicator("0123456789abcdef")
    connected, _ = await socket.connect(timeout=TIMEOUT)
    assert connected
    await socket.send_json_to({"type": "run", "from": 0})
    error = await receive(socket)
    assert (error["type"], error["field"]) == ("error", "slug")
    assert await receive(socket) == {"type": "close", "code": consumers.CLOSE_NOT_FOUND}


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
