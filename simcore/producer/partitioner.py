"""Which partition a record goes to, bit-exact with the clients.

Java ([J] producer/internals/BuiltInPartitioner.java, common/utils/Utils.java):
keyed records go to ``toPositive(murmur2(key)) % numPartitions`` over *all*
partitions; records without a key use the uniform sticky partitioner (KIP-480,
KIP-794): stay on one partition until a batch's worth of bytes went to it.
librdkafka ([R] CONFIGURATION.md ``partitioner``, src/rdkafka_msg.c): the default
``consistent_random`` hashes keys with CRC32 and spreads null keys randomly
(sticking to one partition for ``sticky.partitioning.linger.ms``, 10 ms).

Which records librdkafka hashes (`key_path`) follows the code, [R] src/rdkafka_msg.c
``rd_kafka_msg_partitioner`` with src/rdkafka_topic.c setting ``random_partitioner``: a
NULL key goes to the sticky partitioner, except under ``consistent``, ``murmur2`` and
``fnv1a``, which hash it like an empty key ("NULL keys are mapped to single partition");
an *empty* key is not NULL, and only ``consistent_random`` spreads it ("Empty and NULL
keys are randomly partitioned"): ``murmur2_random`` and ``fnv1a_random`` test ``!key``,
so they hash the empty key. ``random`` picks a partition at random for every keyed record
(no stickiness). All of this is checked against the real client in tests/oracle.
"""

from __future__ import annotations

import zlib
from random import Random

MURMUR2_SEED = 0x9747B28C
_M = 0x5BD1E995
_MASK = 0xFFFFFFFF


def _signed(n: int) -> int:
    return n - (1 << 32) if n & 0x80000000 else n


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 (Utils.murmur2), as a signed 32-bit int like Java's."""
    length = len(data)
    h = (MURMUR2_SEED ^ length) & _MASK
    for i in range(0, length - length % 4, 4):
        k = data[i] | data[i + 1] << 8 | data[i + 2] << 16 | data[i + 3] << 24
        k = (k * _M) & _MASK
        k ^= k >> 24
        k = (k * _M) & _MASK
        h = (h * _M) & _MASK
        h ^= k
    tail = length & ~3
    rest = length % 4
    if rest == 3:
        h ^= data[tail + 2] << 16
    if rest >= 2:
        h ^= data[tail + 1] << 8
    if rest >= 1:
        h ^= data[tail]
        h = (h * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    h ^= h >> 15
    return _signed(h)


def to_positive(n: int) -> int:
    return n & 0x7FFFFFFF


def partition_for_key(key: bytes, num_partitions: int) -> int:
    """The Java client's partition for a non-null key."""
    return to_positive(murmur2(key)) % num_partitions


def _fnv1a_abs(h: int) -> int:
    """abs() of the hash as a signed 32-bit int, back to uint32 ([R] src/rdfnv1a.c: "Take
    absolute value to match the Sarama NewHashPartitioner implementation"); INT32_MIN
    stays 0x80000000, as it does in C."""
    signed = _signed(h)
    return (-signed if signed < 0 else signed) & _MASK


def fnv1a(data: bytes) -> int:
    """librdkafka's ``rd_fnv1a`` ([R] src/rdfnv1a.c): 32-bit FNV-1a, then its absolute
    value as a signed int (Sarama compatibility). The fnv1a partitioners take it % N."""
    h = 0x811C9DC5
    for byte in data:
        h = ((h ^ byte) * 0x01000193) & _MASK
    return _fnv1a_abs(h)


def librdkafka_partition(
    partitioner: str, key: bytes, num_partitions: int, rng: Random | None = None
) -> int:
    """librdkafka's partitioner for a record it does not send to the sticky partitioner
    (see `key_path`); ``random`` draws from `rng` ([R] src/rdkafka_msg.c
    ``rd_kafka_msg_partitioner_*``)."""
    if partitioner in ("consistent", "consistent_random"):
        return zlib.crc32(key) % num_partitions  # rd_crc32(key) % partition_cnt
    if partitioner in ("murmur2", "murmur2_random"):
        return to_positive(murmur2(key)) % num_partitions  # (rd_murmur2 & 0x7fffffff) % cnt
    if partitioner in ("fnv1a", "fnv1a_random"):
        return fnv1a(key) % num_partitions  # rd_fnv1a(key) % partition_cnt
    if partitioner == "random" and rng is not None:
        return rng.randrange(num_partitions)  # rd_jitter(0, partition_cnt - 1)
    raise ValueError(f"partitioner {partitioner!r} does not hash keys")


# librdkafka partitioners with rkt_conf.random_partitioner set ([R] src/rdkafka_topic.c,
# while sticky.partitioning.linger.ms > 0): they hash a NULL key instead of sticking.
_HASH_NULL_KEYS = ("consistent", "murmur2", "fnv1a")


def key_path(client: str, partitioner: str, key: str | None) -> str:
    """How a producer with this key template places its records (no explicit partition):
    ``"sticky"`` (spread: Java's uniform sticky partitioner, librdkafka's
    ``rd_kafka_msg_sticky_partition``), ``"hash"`` (the partitioner's hash of the key, an
    empty one included) or ``"random"`` (librdkafka ``random``: a draw per record).

    `key` is the producer's template: None is a NULL key, ``""`` an empty one (a
    template with any text or ``{i}`` never renders empty).
    Java ([J] BuiltInPartitioner, KafkaProducer.partition): keyBytes == null → sticky,
    any other key (an empty array too) → murmur2. librdkafka: see the module docstring.
    """
    if client == "java":
        return "sticky" if key is None else "hash"
    if key is None:
        return "hash" if partitioner in _HASH_NULL_KEYS else "sticky"
    if partitioner == "random":
        return "random"
    if key == "" and partitioner == "consistent_random":
        return "sticky"
    return "hash"
