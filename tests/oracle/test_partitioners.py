"""librdkafka's partitioners, key by key, against the real client's delivery reports.

Each partitioner's real producer writes the same keys to topics of 1, 3, 6, 7 and 60
partitions on the mock cluster; the partition of every delivery report is compared with
``simcore.producer.partitioner`` and with where a simulated run of a librdkafka producer put the
same record.
"""

from __future__ import annotations

from typing import Any

import confluent_kafka
import pytest

import simcore
from simcore.producer.partitioner import key_path, librdkafka_partition
from tests.oracle.mock_cluster import MockCluster

HASHING = ("consistent", "consistent_random", "murmur2", "murmur2_random", "fnv1a", "fnv1a_random")
COUNTS = (1, 3, 6, 7, 60)
TEMPLATE_KEYS = [f"k{i}" for i in range(100)]  # what the template "k{i}" renders to
KEYS: list[bytes] = [
    b"",
    b"kafka",
    b"giberish123456789",
    "ключ-7".encode(),
    bytes(range(256)),
    *(bytes([b]) for b in range(0, 256, 17)),
    *(k.encode() for k in TEMPLATE_KEYS),
]


def _produce(
    cluster: MockCluster,
    config: dict[str, Any],
    records: list[tuple[str, bytes | None]],
) -> list[tuple[str, bytes | None, int]]:
    """Produces (topic, key) records; returns (topic, key, partition) per delivery report,
    in produce order."""
    reports: dict[int, tuple[str, bytes | None, int]] = {}
    producer = confluent_kafka.Producer(cluster.client_config(config))

    def delivered(index: int) -> Any:
        def callback(err: Any, msg: Any) -> None:
            assert err is None, err
            reports[index] = (msg.topic(), msg.key(), msg.partition())

        return callback

    for index, (topic, key) in enumerate(records):
        producer.produce(topic, key=key, value=b"v", on_delivery=delivered(index))
        producer.poll(0)
    assert producer.flush(30) == 0, "undelivered records"
    return [reports[index] for index in range(len(records))]


def _simulated_partitions(
    partitioner: str, key: str | None, partitions: int, messages: int
) -> list[int]:
    producer: dict[str, Any] = {
        "id": "p",
        "topic": "t",
        "messages": messages,
        "rate_per_s": 1000,
        "client": "librdkafka",
        "config": {"partitioner": partitioner},
    }
    if key is not None:
        producer["key"] = key
    scenario = simcore.parse_scenario(
        {
            "name": "oracle partitioner",
            "seed": 11,
            "duration_ms": 5000,
            "brokers": 1,
            "topics": [{"name": "t", "partitions": partitions, "replication_factor": 1}],
            "producers": [producer],
        }
    )
    return [m["partition"] for m in simcore.simulate(scenario).messages() or []]


@pytest.fixture
def topics(cluster: MockCluster) -> dict[int, str]:
    names = {n: f"parts-{n}" for n in COUNTS}
    for n, name in names.items():
        cluster.create_topic(name, n)
    return names


@pytest.mark.parametrize("partitioner", HASHING)
def test_every_key_lands_where_simcore_says(cluster, topics, partitioner):
    records = [(topics[n], key) for n in COUNTS for key in KEYS]
    real = _produce(cluster, {"partitioner": partitioner}, records)
    mismatches = [
        (topic, key, got, librdkafka_partition(partitioner, key, int(topic.split("-")[1])))
        for topic, key, got in real
        if key and got != librdkafka_partition(partitioner, key, int(topic.split("-")[1]))
    ]
    assert mismatches == []
    # the empty key: hashed by every hashing partitioner but consistent_random
    empty = {got for topic, key, got in real if key == b"" and topic == topics[60]}
    if key_path("librdkafka", partitioner, "") == "hash":
        assert empty == {librdkafka_partition(partitioner, b"", 60)}
    # and a simulated run puts "k{i}" where the real producer put it
    placed = {(topic, key): got for topic, key, got in real}
    for n in COUNTS:
        real_k = [placed[(topics[n], k.encode())] for k in TEMPLATE_KEYS]
        assert _simulated_partitions(partitioner, "k{i}", n, len(TEMPLATE_KEYS)) == real_k


@pytest.mark.parametrize("partitioner", [*HASHING, "random"])
@pytest.mark.parametrize("key", [None, ""], ids=["null", "empty"])
def test_null_and_empty_keys_are_spread_or_hashed_as_simcore_says(
    cluster, topics, partitioner, key
):
    # sticky.partitioning.linger.ms=0 turns the sticky partitioner into a draw per record
    # (CONFIGURATION.md), so 200 spread records cannot all share a partition of 60.
    raw = None if key is None else key.encode()
    config = {"partitioner": partitioner, "sticky.partitioning.linger.ms": 0}
    real = {got for _, _, got in _produce(cluster, config, [(topics[60], raw)] * 200)}
    simulated = set(_simulated_partitions(partitioner, key, 60, 200))
    path = key_path("librdkafka", partitioner, key)
    if path == "hash":
        assert real == simulated == {librdkafka_partition(partitioner, b"", 60)}
    else:  # spread: sticky for 10 ms at a time in the simulator, a draw per record here
        assert len(real) > 1
        assert len(simulated) > 1


def test_the_default_partitioner_is_consistent_random(cluster, topics):
    real = _produce(cluster, {}, [(topics[7], k.encode()) for k in TEMPLATE_KEYS])
    assert [got for _, _, got in real] == [
        librdkafka_partition("consistent_random", k.encode(), 7) for k in TEMPLATE_KEYS
    ]
    scenario_default = _simulated_partitions("consistent_random", "k{i}", 7, len(TEMPLATE_KEYS))
    assert scenario_default == [got for _, _, got in real]


def test_random_spreads_keyed_records_per_record(cluster, topics):
    config = {"partitioner": "random"}
    real = {got for _, _, got in _produce(cluster, config, [(topics[60], b"same-key")] * 200)}
    assert len(real) > 1  # even with the default sticky linger: random ignores the key
    assert len(set(_simulated_partitions("random", "same-key", 60, 200))) > 1
