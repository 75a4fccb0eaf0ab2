"""Requests per broker, not per partition (issue 16): a follower's replica fetcher sends one
FetchRequest per leader for all the partitions it follows there ([J] ReplicaFetcherThread,
AbstractFetcherThread), and the Java producer drains one batch per partition of a broker
into one ProduceRequest ([J] RecordAccumulator.drain); librdkafka sends one batch per
request."""

from __future__ import annotations

from typing import Any

import pytest

import simcore
from simcore.broker.replication import Replication
from tests.simcore.helpers import run

PARTITIONS = 6


def wide(
    producer_config: dict[str, Any] | None = None,
    broker_config: dict[str, Any] | None = None,
    faults: tuple[dict[str, Any], ...] = (),
    client: str = "java",
    messages: int = 600,
) -> dict[str, Any]:
    """3 brokers, 6 partitions at RF 3 (each broker leads two), keyed acks=all traffic."""
    return {
        "name": "sessions",
        "seed": 5,
        "duration_ms": 6000,
        "brokers": 3,
        "broker_config": broker_config or {},
        "topics": [{"name": "t", "partitions": PARTITIONS, "replication_factor": 3}],
        "producers": [
            {
                "id": "p",
                "topic": "t",
                "messages": messages,
                "rate_per_s": 400,
                "key": "k{i}",
                "client": client,
                "config": {"acks": "all", **(producer_config or {})},
            }
        ],
        "faults": list(faults),
    }


def leaders(result: simcore.Result) -> dict[str, int]:
    return {p.name: p.replica_order[0] for p in result.sim.cluster.partition_list}


@pytest.fixture
def requests(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int, int, list[str]]]:
    """Every follower FetchRequest as it reaches its leader: (time, follower, leader,
    its partitions)."""
    seen: list[tuple[int, int, int, list[str]]] = []
    original = Replication._fetch_at_leader

    def spy(self: Replication, request: Any) -> None:
        session = request.session
        names = [m.part.name for m in request.members]
        seen.append((self.engine.now, session.follower, session.leader, names))
        original(self, request)

    monkeypatch.setattr(Replication, "_fetch_at_leader", spy)
    return seen


def test_one_follower_request_covers_every_partition_it_follows_from_that_leader(
    requests: list[tuple[int, int, int, list[str]]],
) -> None:
    result = run(wide())
    lead = leaders(result)
    for follower in range(3):
        for leader in range(3):
            if leader == follower:
                continue
            expected = sorted(name for name, b in lead.items() if b == leader)
            sent = [names for _t, f, b, names in requests if (f, b) == (follower, leader)]
            assert sent, (follower, leader)
            assert all(sorted(names) == expected for names in sent)
            # and the request of the round before was answered first: one at a time
            times = [t for t, f, b, _n in requests if (f, b) == (follower, leader)]
            assert len(times) == len(set(times))
    # the event log shows each fetcher's partitions once (they never change here)
    shown = [
        (e[2], e[3]["leader"], e[3]["partitions"]) for e in result.events if e[1] == "fetch_session"
    ]
    assert len(shown) == 6
    assert all(
        sorted(parts) == sorted(n for n, b in lead.items() if b == leader)
        for _a, leader, parts in shown
    )
    text = result.event_dict(
        next(i for i, e in enumerate(result.events) if e[1] == "fetch_session")
    )
    assert "in one request per round" in text["text"]


def test_a_slow_follower_delays_the_high_watermark_of_every_partition_it_follows() -> None:
    slow = {"action": "slow_follower", "target": "broker-2", "at_ms": 0, "delay_ms": 300}
    normal, slowed = run(wide()), run(wide(faults=(slow,)))

    def first_hw_lag(result: simcore.Result) -> dict[str, int]:
        appended: dict[str, int] = {}
        lags: dict[str, int] = {}
        for t, kind, _actor, f in result.events:
            if kind == "append":
                appended.setdefault(f["part"], t)
            elif kind == "hw" and f["part"] not in lags:
                lags[f["part"]] = t - appended[f["part"]]
        return lags

    assert set(first_hw_lag(normal).values()) == {2}
    lags = first_hw_lag(slowed)
    assert len(lags) == PARTITIONS  # broker-2 follows all six (or leads them: then ISR)
    followed = [n for n, b in leaders(slowed).items() if b != 2]
    assert all(lags[name] >= 300 for name in followed)


def test_the_response_stays_within_replica_fetch_response_max_bytes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answers: list[tuple[int, int]] = []  # (bytes, batches) per response
    original = Replication._follower_receive

    def spy(self: Replication, session: Any, found: list[Any]) -> None:
        batches = [b for _member, bs, _hw in found for b in bs]
        answers.append((sum(b.size for b in batches), len(batches)))
        original(self, session, found)

    monkeypatch.setattr(Replication, "_follower_receive", spy)
    # a follower that comes back finds a backlog on every partition of its fetcher
    kill = {"action": "kill_broker", "target": "broker-2", "at_ms": 500, "restart_after_ms": 2000}
    cap = 400
    result = run(wide(broker_config={"replica.fetch.response.max.bytes": cap}, faults=(kill,)))
    assert max(n for _size, n in answers) > 1, "several batches do fit"
    # over the cap only when one batch alone is larger (KIP-74: the first one goes whole)
    assert all(size <= cap or n == 1 for size, n in answers)
    assert any(size > cap for size, n in answers), "some batches are larger than the cap"
    part_logs = [p.replicas for p in result.sim.cluster.partition_list]
    assert all(len({r.leo for r in replicas.values()}) == 1 for replicas in part_logs)


def test_the_java_producer_sends_one_request_per_broker_with_a_batch_per_partition() -> None:
    java = run(wide())
    p = java.sim.producers[0].sender
    assert p.batches_sent > p.request_count, "some requests carry several partitions' batches"
    assert java.summary()["ledger"]["topics"]["t"]["acked"] == 600
    # each request holds batches for distinct partitions of one leader
    sends: dict[tuple[int, int], list[str]] = {}
    for t, kind, _actor, f in java.events:
        if kind == "send":
            sends.setdefault((t, f["broker"]), []).append(f["part"])
    lead = leaders(java)
    for (_t, broker), parts in sends.items():
        assert len(parts) == len(set(parts))
        assert all(lead[part] == broker for part in parts)
    assert max(len(parts) for parts in sends.values()) == 2  # each broker leads two


def test_max_request_size_bounds_the_request_and_librdkafka_sends_a_batch_per_request() -> None:
    tight = run(wide(producer_config={"max.request.size": 1}))
    p = tight.sim.producers[0].sender
    assert p.batches_sent == p.request_count  # the first batch always goes, alone
    rdkafka = run(wide(client="librdkafka"))
    r = rdkafka.sim.producers[0].sender
    assert r.batches_sent == r.request_count
    assert rdkafka.summary()["ledger"]["topics"]["t"]["acked"] == 600
