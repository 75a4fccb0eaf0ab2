"""Transactions: the real librdkafka client on the mock cluster against the simulator.

A transactional producer (librdkafka's ``init_transactions`` / ``begin`` / ``commit`` /
``abort``) commits 5 records, aborts 5, commits 5 on one partition. The log end offset
counts the three markers: 18 offsets for 15 records, in the real cluster and in the
simulator. A read_uncommitted consumer gets the 15 records and never a marker, and its
position ends past the last marker (18), as the simulator's does.

What the mock cannot judge: it answers fetches without the aborted-transactions list (its
LSO is its HW), so a read_committed librdkafka consumer on it sees the aborted records too;
read_committed filtering stays with Kafka's sources (``docs/transactions.md``).
"""

from __future__ import annotations

from typing import Any

import confluent_kafka

import simcore
from tests.oracle.mock_cluster import MockCluster


def _consume(
    cluster: MockCluster, group: str, isolation: str | None, expected: int
) -> tuple[list[str], int]:
    """The values a fresh group's consumer gets, and its position at the end."""
    config: dict[str, Any] = {"group.id": group, "auto.offset.reset": "earliest"}
    if isolation is not None:
        config["isolation.level"] = isolation
    consumer = confluent_kafka.Consumer(cluster.client_config(config))
    consumer.subscribe(["payments"])
    values: list[str] = []
    empty = 0
    while empty < 20 and len(values) < 100:
        message = consumer.poll(0.25)
        if message is None:
            empty += 1 if len(values) >= expected else 0
            continue
        if message.error() is None:
            values.append(message.value().decode())
    position = consumer.position([confluent_kafka.TopicPartition("payments", 0)])[0].offset
    consumer.close()
    return values, position


def test_markers_take_offsets_and_consumers_move_past_them(cluster: MockCluster):
    cluster.create_topic("payments", 1)
    producer = confluent_kafka.Producer(
        cluster.client_config({"transactional.id": "payments-app", "linger.ms": 5})
    )
    producer.init_transactions(10)
    n = 0
    for commit in (True, False, True):
        producer.begin_transaction()
        for _ in range(5):
            producer.produce("payments", value=f"Payment #{n}".encode(), partition=0)
            n += 1
        producer.flush(10)
        if commit:
            producer.commit_transaction(10)
        else:
            producer.abort_transaction(10)
    watcher = confluent_kafka.Consumer(cluster.client_config({"group.id": "watcher"}))
    _low, high = watcher.get_watermark_offsets(
        confluent_kafka.TopicPartition("payments", 0), timeout=10
    )
    watcher.close()
    everything, position = _consume(cluster, "audit", "read_uncommitted", 15)

    result = simcore.simulate(
        simcore.parse_scenario(
            {
                "name": "oracle",
                "seed": 1,
                "duration_ms": 8000,
                "brokers": 1,
                "broker_config": {"group.initial.rebalance.delay.ms": 0},
                "topics": [{"name": "payments", "partitions": 1, "replication_factor": 1}],
                "producers": [
                    {
                        "id": "p1",
                        "topic": "payments",
                        "client": "librdkafka",
                        "messages": 15,
                        "rate_per_s": 10,
                        "value": "Payment #{i}",
                        "config": {"transactional.id": "payments-app"},
                        "transactions": {"commit_every_ms": 500, "abort": [2]},
                    }
                ],
                "consumers": [
                    {
                        "id": "audit",
                        "group": "audit",
                        "topics": ["payments"],
                        "client": "librdkafka",
                        "config": {
                            "auto.offset.reset": "earliest",
                            "isolation.level": "read_uncommitted",
                        },
                    },
                ],
            }
        ),
        check_invariants=True,
    )
    log = result.sim.cluster.partitions[("payments", 0)].log
    audit = result.sim.consumers[0]

    assert high == 18  # 15 records and 3 markers
    assert log.leo == high
    assert sorted(everything) == sorted(f"Payment #{i}" for i in range(15))  # no marker
    assert position == 18
    assert len(audit.processed) == len(everything)
    assert audit.positions[("payments", 0)] == position
