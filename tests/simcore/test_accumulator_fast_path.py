"""The accumulator's fast path for keyed records (issue 16) makes the batches ``_fill`` makes.

``Producer._accumulate_placed`` opens the common batch itself — a partition without an open
batch whose records due at this wake-up fit one batch — and leaves the rest to ``_fill``.
Here the same runs go through a reference that sends every partition's records to
``_fill`` (the code before the fast path): the timelines (every send and ack itemised:
small runs), the batches sent and the ledgers must be the same, and both paths must have
been taken.
"""

from __future__ import annotations

from typing import Any

import pytest

import simcore
from simcore.producer.producer import Producer

pytestmark = pytest.mark.engine_internals


def _reference_accumulate_placed(self: Producer, start: int, end: int) -> None:
    placer = self._placer
    assert placer is not None
    base = self.msg_base
    while start < end:
        stop = min(end, 10 ** len(str(start)))
        size = self.record_size(start)
        if placer.constant is not None:
            self._fill(placer.constant, range(base + start, base + stop), size)
        else:
            groups: dict[int, list[int]] = {}
            for gid, part in zip(
                range(base + start, base + stop), placer.of(start, stop), strict=True
            ):
                groups.setdefault(part, []).append(gid)
            for part, ids in groups.items():
                self._fill(part, ids, size)
        self._sticky_bytes += size * (stop - start)
        self.sent += stop - start
        start = self.next_i = stop


def _scenario(partitions: int, rate: int, config: dict[str, Any], client: str) -> dict[str, Any]:
    return {
        "name": "keyed accumulator",
        "seed": 3,
        "duration_ms": 4000,
        "brokers": 3,
        "topics": [{"name": "t", "partitions": partitions, "replication_factor": 3}],
        "producers": [
            {
                "id": "p",
                "topic": "t",
                "messages": 3000,
                "rate_per_s": rate,
                "key": "user-{i}",
                "client": client,
                "config": config,
            }
        ],
    }


def _run(data: dict[str, Any], monkeypatch: pytest.MonkeyPatch, reference: bool) -> tuple[Any, int]:
    calls = 0
    fill = Producer._fill

    def counting_fill(self: Producer, part: int, ids: Any, size: int) -> None:
        nonlocal calls
        calls += 1
        fill(self, part, ids, size)

    with monkeypatch.context() as patch:
        patch.setattr(Producer, "_fill", counting_fill)
        if reference:
            patch.setattr(Producer, "_accumulate_placed", _reference_accumulate_placed)
        result = simcore.simulate(simcore.parse_scenario(data))
    return result, calls


@pytest.mark.parametrize(
    ("partitions", "rate", "config", "client"),
    [
        (60, 2000, {"linger.ms": 5, "acks": "all"}, "java"),  # a record or two per partition
        (4, 3000, {"linger.ms": 20, "batch.size": 200}, "java"),  # groups overflow batches
        (12, 1500, {"linger.ms": 10, "batch.size": 300}, "librdkafka"),
    ],
)
def test_the_fast_path_makes_the_batches_fill_makes(
    partitions: int,
    rate: int,
    config: dict[str, Any],
    client: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = _scenario(partitions, rate, config, client)
    fast, fast_fills = _run(data, monkeypatch, reference=False)
    ref, ref_fills = _run(data, monkeypatch, reference=True)
    assert fast.digest == ref.digest
    assert fast.events == ref.events
    fast_sender, ref_sender = fast.sim.producers[0].sender, ref.sim.producers[0].sender
    assert fast_sender.sent_batches == ref_sender.sent_batches
    assert fast.ledger == ref.ledger
    # the fast path opened some batches itself, and ``_fill`` still had work
    assert 0 < fast_fills < ref_fills
