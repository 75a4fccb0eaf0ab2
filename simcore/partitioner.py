"""Which partition a record goes to, bit-exact with the clients.

Java ([J] producer/internals/BuiltInPartitioner.java, common/utils/Utils.java):
keyed records go to ``toPositive(murmur2(key)) % numPartitions`` over *all*
partitions; records without a key use the uniform sticky partitioner (KIP-480,
KIP-794): stay on one partition until a batch's worth of bytes went to it.
librdkafka ([R] CONFIGURATION.md ``partitioner``, src/rdkafka_msg.c): the default
``consistent_random`` hashes keys with CRC32 and spreads null keys randomly
(sticking to one partition for ``sticky.partitioning.linger.ms``, 10 ms).
"""

from __future__ import annotations

import zlib

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


def fnv1a(data: bytes) -> int:
    h = 0x811C9DC5
    for byte in data:
        h = ((h ^ byte) * 0x01000193) & _MASK
    return h


def librdkafka_partition(partitioner: str, key: bytes, num_partitions: int) -> int:
    """librdkafka's hash partitioners for a non-null key (src/rdkafka_msg.c)."""
    if partitioner in ("consistent", "consistent_random"):
        return zlib.crc32(key) % num_partitions
    if partitioner in ("murmur2", "murmur2_random"):
        return to_positive(murmur2(key)) % num_partitions
    if partitioner in ("fnv1a", "fnv1a_random"):
        return fnv1a(key) % num_partitions
    raise ValueError(f"partitioner {partitioner!r} does not hash keys")


def null_key_is_random(client: str, partitioner: str) -> bool:
    """Whether records without a key are spread (sticky/random) rather than hashed."""
    return client == "java" or partitioner == "random" or partitioner.endswith("_random")
