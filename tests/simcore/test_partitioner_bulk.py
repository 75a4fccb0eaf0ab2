"""The bulk partitioners (simcore.producer.partitioner_bulk) equal the scalar ones key for key.

The scalar functions in simcore.producer.partitioner are the reference (Kafka's own murmur2
vectors in test_partitioner.py, the real librdkafka in tests/oracle); here every hashing
partitioner of both client families is compared over arbitrary keys, every template
shape the scenario validator accepts is rendered both ways, and a producer's bulk
placement is compared with placing its records one at a time.
"""

from __future__ import annotations

from random import Random

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st

import simcore
from simcore.producer.partitioner import librdkafka_partition, murmur2, partition_for_key
from simcore.producer.partitioner_bulk import (
    BLOCK,
    KeyedPartitions,
    murmur2_many,
    parse_template,
    partitions_of_keys,
    render_keys,
)
from simcore.producer.producer import render

FAMILIES = [("java", "murmur2_random")] + [
    ("librdkafka", p)
    for p in (
        "consistent",
        "consistent_random",
        "murmur2",
        "murmur2_random",
        "fnv1a",
        "fnv1a_random",
    )
]
KAFKA_VECTORS = [b"21", b"foobar", b"a-little-bit-long-string", b"abc", b""]


def scalar_partition(client: str, partitioner: str, key: bytes, count: int) -> int:
    if client == "java":
        return partition_for_key(key, count)
    return librdkafka_partition(partitioner, key, count)


def test_it_matches_kafkas_murmur2_vectors_in_bulk():
    for key in KAFKA_VECTORS:
        matrix = np.frombuffer(key, dtype=np.uint8).reshape(1, len(key))
        assert int(murmur2_many(matrix)[0]) == murmur2(key) & 0xFFFFFFFF


@given(
    keys=st.lists(st.binary(max_size=40), max_size=60),
    count=st.integers(1, 1000),
    family=st.sampled_from(FAMILIES),
)
@example(keys=KAFKA_VECTORS, count=12, family=FAMILIES[0])
@example(keys=[b"\xff" * 9, b"\x80\x00\x00\x00", b"k1", b""], count=7, family=FAMILIES[5])
def test_it_hashes_every_key_as_the_scalar_partitioners_do(keys, count, family):
    client, partitioner = family
    bulk = partitions_of_keys(client, partitioner, keys, count).tolist()
    assert bulk == [scalar_partition(client, partitioner, k, count) for k in keys]


# Template pieces as scenario.checks.check_template allows them: text (braces escaped,
# any characters) and {i} with an optional format spec 0?\d{0,2}[dxX]?.
SPECS = st.builds(
    lambda zero, width, kind: zero + width + kind,
    st.sampled_from(["", "0"]),
    st.sampled_from(["", "1", "3", "5", "07", "12"]),
    st.sampled_from(["", "d", "x", "X"]),
)
TEXT = st.text(max_size=6).map(lambda t: t.replace("{", "{{").replace("}", "}}"))
FIELD = SPECS.map(lambda spec: "{i" + (":" + spec if spec else "") + "}")
TEMPLATES = st.lists(st.one_of(TEXT, FIELD), max_size=4).map("".join)


@given(template=TEMPLATES, start=st.integers(0, 2_000_000), count=st.integers(1, 300))
@example(template="k{i}", start=9_990, count=30)
@example(template="{i:5}-{i:x}", start=0, count=20)
@example(template="é{i:0}{{}}", start=99_999, count=3)
def test_it_renders_templates_as_python_formats_them(template, start, count):
    pieces = parse_template(template)
    assert pieces is not None
    index = np.arange(start, start + count, dtype=np.int64)
    rendered = [bytes(row) for matrix in render_keys(pieces, index) for row in matrix]
    assert rendered == [render(template, i).encode() for i in range(start, start + count)]


@given(
    template=TEMPLATES,
    family=st.sampled_from([*FAMILIES, ("librdkafka", "random")]),
    count=st.integers(1, 64),
    cuts=st.lists(st.integers(1, BLOCK + 50), min_size=1, max_size=6),
    seed=st.integers(0, 2**32),
)
@example(template="k{i}", family=FAMILIES[0], count=6, cuts=[BLOCK - 3, 10], seed=1)
def test_a_producers_bulk_placement_is_its_record_by_record_placement(
    template, family, count, cuts, seed
):
    """In any chunking (records come as they fall due), across block boundaries; the
    random partitioner draws the same numbers from the producer's stream."""
    client, partitioner = family
    placer = KeyedPartitions(client, partitioner, template, None, count, Random(seed), sum(cuts))
    rng = Random(seed)
    start = 0
    for size in cuts:
        got = (
            [placer.constant] * size
            if placer.constant is not None
            else placer.of(start, start + size)
        )
        want = [
            rng.randrange(count)
            if partitioner == "random"
            else scalar_partition(client, partitioner, render(template, i).encode(), count)
            for i in range(start, start + size)
        ]
        assert got == want
        start += size


def test_an_explicit_partition_is_constant():
    placer = KeyedPartitions("java", "murmur2_random", "k{i}", 3, 6, Random(1), 10)
    assert placer.constant == 3


def test_a_keyed_run_puts_every_record_where_the_scalar_partitioner_does():
    scenario = simcore.parse_scenario(
        {
            "name": "keyed",
            "duration_ms": 2000,
            "topics": [{"name": "t", "partitions": 7}],
            "producers": [
                {"id": "j", "topic": "t", "messages": 400, "rate_per_s": 1000, "key": "k{i}"},
                {
                    "id": "r",
                    "topic": "t",
                    "messages": 400,
                    "rate_per_s": 1000,
                    "key": "user-{i:05x}",
                    "client": "librdkafka",
                },
            ],
        }
    )
    rows = simcore.simulate(scenario).messages()
    assert rows is not None
    assert len(rows) == 800
    for row in rows:
        client = "java" if row["producer"] == "j" else "librdkafka"
        want = scalar_partition(client, "consistent_random", row["key"].encode(), 7)
        assert row["partition"] == want, row["id"]
