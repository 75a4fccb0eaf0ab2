import zlib

from simcore.partitioner import librdkafka_partition, murmur2, partition_for_key, to_positive

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
