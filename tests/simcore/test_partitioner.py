import zlib

import pytest

import simcore
from simcore.producer.partitioner import (
    _fnv1a_abs,
    fnv1a,
    key_path,
    librdkafka_partition,
    murmur2,
    partition_for_key,
    to_positive,
)

# Expected values from Kafka's own UtilsTest.testMurmur2 (clients/src/test/.../UtilsTest.java).
KAFKA_VECTORS = {
    b"21": -973932308,
    b"foobar": -790332482,
    b"a-little-bit-long-string": -985981536,
    b"a-little-bit-longer-string": -1486304829,
    b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
    b"abc": 479470107,
}


def test_it_matches_kafkas_murmur2_vectors():
    assert {k: murmur2(k) for k in KAFKA_VECTORS} == KAFKA_VECTORS


def test_it_maps_keys_like_the_java_client():
    for key, value in KAFKA_VECTORS.items():
        assert partition_for_key(key, 12) == (value & 0x7FFFFFFF) % 12
    assert to_positive(-1) == 0x7FFFFFFF


def test_it_hashes_keys_with_crc32_for_librdkafka_consistent_random():
    assert librdkafka_partition("consistent_random", b"order-7", 6) == zlib.crc32(b"order-7") % 6


def test_it_can_put_the_same_key_on_different_partitions_per_client():
    differs = [
        k
        for k in (f"order-{i}".encode() for i in range(50))
        if partition_for_key(k, 6) != librdkafka_partition("consistent_random", k, 6)
    ]
    assert differs  # a Java and a librdkafka producer disagree for some keys


# --- librdkafka: FNV-1a with Sarama's absolute value, and empty keys per partitioner -------

# librdkafka src/rdfnv1a.c unittest_fnv1a (Go's hash/fnv results, then abs() of the signed
# value as Sarama's NewHashPartitioner does): the hash the fnv1a partitioners take % N of.
LIBRDKAFKA_FNV1A_VECTORS = {
    b"kafka": 0xD33C4E1,
    b"giberish123456789": 0x77A58295,
    b"1234": 0x23BDD03,
    b"234": 0x2DEA3CD2,
    b"34": 0x740FA83E,
    b"4": 0x310CA263,
    b"PreAmbleWillBeRemoved,ThePrePartThatIs": 0x65CBD69C,
    b"reAmbleWillBeRemoved,ThePrePartThatIs": 0x6E49C79A,
    b"eAmbleWillBeRemoved,ThePrePartThatIs": 0x69EED356,
    b"AmbleWillBeRemoved,ThePrePartThatIs": 0x6ABCC023,
    b"": 0x7EE3623B,
}


def test_fnv1a_matches_librdkafkas_vectors_with_the_absolute_value():
    assert {k: fnv1a(k) for k in LIBRDKAFKA_FNV1A_VECTORS} == LIBRDKAFKA_FNV1A_VECTORS


def test_fnv1a_partitioners_take_the_absolute_value_before_the_modulo():
    # "" hashes to 0x811C9DC5 unsigned, i.e. negative as int32: abs() gives 0x7EE3623B
    for partitioner in ("fnv1a", "fnv1a_random"):
        assert librdkafka_partition(partitioner, b"", 7) == 0x7EE3623B % 7
        for key, value in LIBRDKAFKA_FNV1A_VECTORS.items():
            assert librdkafka_partition(partitioner, key, 60) == value % 60


def test_fnv1a_of_int32_min_stays_int32_min():
    # abs(INT32_MIN) overflows back to INT32_MIN in C; cast to uint32 it is 0x80000000
    assert _fnv1a_abs(0x80000000) == 0x80000000
    assert _fnv1a_abs(0xFFFFFFFF) == 1
    assert _fnv1a_abs(0x7FFFFFFF) == 0x7FFFFFFF


def test_murmur2_partitioners_mask_the_sign_bit():
    for partitioner in ("murmur2", "murmur2_random"):
        for key, value in KAFKA_VECTORS.items():
            assert librdkafka_partition(partitioner, key, 60) == (value & 0x7FFFFFFF) % 60


@pytest.mark.parametrize(
    ("partitioner", "key", "expected"),
    [
        # src/rdkafka_msg.c rd_kafka_msg_partitioner: a NULL key goes to the sticky
        # partitioner unless rkt_conf.random_partitioner, which rdkafka_topic.c sets for
        # consistent, murmur2 and fnv1a (they hash the NULL key: "mapped to single partition")
        ("consistent", None, "hash"),
        ("murmur2", None, "hash"),
        ("fnv1a", None, "hash"),
        ("consistent_random", None, "sticky"),
        ("murmur2_random", None, "sticky"),
        ("fnv1a_random", None, "sticky"),
        ("random", None, "sticky"),
        # an empty key is not NULL: only consistent_random spreads it (CONFIGURATION.md:
        # "Empty and NULL keys are randomly partitioned"); murmur2_random / fnv1a_random
        # test `!key` only, so they hash the empty key
        ("consistent", "", "hash"),
        ("consistent_random", "", "sticky"),
        ("murmur2", "", "hash"),
        ("murmur2_random", "", "hash"),
        ("fnv1a", "", "hash"),
        ("fnv1a_random", "", "hash"),
        # random: rd_kafka_msg_partitioner_random for every keyed record (no stickiness)
        ("random", "", "random"),
        ("random", "k{i}", "random"),
        ("consistent_random", "k{i}", "hash"),
    ],
)
def test_librdkafka_key_path(partitioner, key, expected):
    assert key_path("librdkafka", partitioner, key) == expected


def test_java_hashes_every_non_null_key_even_an_empty_one():
    # BuiltInPartitioner: keyBytes == null → sticky, else murmur2 (an empty array too)
    assert key_path("java", "murmur2", None) == "sticky"
    assert key_path("java", "murmur2", "") == "hash"
    assert key_path("java", "murmur2", "k{i}") == "hash"


def _placements(partitioner: str, key: str | None, partitions: int = 6, messages: int = 60):
    producer: dict = {
        "id": "p",
        "topic": "t",
        "messages": messages,
        "rate_per_s": 1000,
        "client": "librdkafka",
        "config": {"partitioner": partitioner},
    }
    if key is not None:
        producer["key"] = key
    data = {
        "name": "placements",
        "seed": 3,
        "duration_ms": 2000,
        "brokers": 1,
        "topics": [{"name": "t", "partitions": partitions, "replication_factor": 1}],
        "producers": [producer],
    }
    result = simcore.simulate(simcore.parse_scenario(data))
    return [m["partition"] for m in result.messages() or []]


def test_consistent_random_spreads_empty_keys_in_a_run():
    placed = _placements("consistent_random", "")
    assert len(placed) == 60
    assert len(set(placed)) > 1  # sticky for 10 ms at a time, not all on crc32("") % 6 == 0


@pytest.mark.parametrize("partitioner", ["murmur2_random", "fnv1a_random", "murmur2", "fnv1a"])
def test_hashing_partitioners_put_empty_keys_on_one_partition_in_a_run(partitioner):
    assert set(_placements(partitioner, "")) == {librdkafka_partition(partitioner, b"", 6)}


def test_consistent_maps_empty_keys_to_partition_0_in_a_run():
    assert set(_placements("consistent", "")) == {0}  # crc32("") == 0


def test_random_partitioner_with_keys_runs_and_spreads():
    placed = _placements("random", "k{i}")
    assert len(placed) == 60
    assert len(set(placed)) > 1


def test_fnv1a_run_places_keys_with_the_absolute_value():
    keys = [f"k{i}".encode() for i in range(60)]
    expected = [_fnv1a_abs(_fnv1a_raw(k)) % 7 for k in keys]
    assert _placements("fnv1a", "k{i}", partitions=7) == expected


def _fnv1a_raw(data: bytes) -> int:
    h = 0x811C9DC5
    for byte in data:
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return h
