"""Lag and produce retries: the real librdkafka client on the mock cluster against the
simulator.

- Lag: a consumer commits each of the first three of seven records synchronously, then
  stops. The group's lag (``kafka-consumer-groups --describe``: LOG-END-OFFSET, the high
  watermark, minus CURRENT-OFFSET, the committed offset) is read from the real cluster
  with another client (committed offset, watermarks) and from the simulator's
  ``groups_table()``.
- Retries: the broker answers the first two Produce requests of an idempotent producer
  with NOT_LEADER_OR_FOLLOWER (nothing written); the client retries, and every record is
  delivered once, in order, by the third request.

The mock cannot judge the broker's side of this (it deduplicates only transactional
producers, and an injected error never writes): that stays with Kafka's sources.
"""

from __future__ import annotations

from typing import Any

import confluent_kafka

import simcore
from tests.oracle.mock_cluster import (
    API_PRODUCE,
    ERR_NOT_LEADER_OR_FOLLOWER,
    MockCluster,
    wait_for,
)


def _scenario(producer: dict[str, Any], **extra: Any) -> simcore.Scenario:
    return simcore.parse_scenario(
        {
            "name": "oracle",
            "seed": 1,
            "duration_ms": 10000,
            "brokers": 1,
            "broker_config": {"group.initial.rebalance.delay.ms": 100},
            "topics": [{"name": "orders", "partitions": 1, "replication_factor": 1}],
            "producers": [producer],
            **extra,
        }
    )


# --- lag -----------------------------------------------------------------------------------


def test_lag_is_the_high_watermark_minus_the_committed_offset(cluster: MockCluster):
    cluster.set_initial_rebalance_delay_ms(100)
    cluster.create_topic("orders", 1)
    producer = confluent_kafka.Producer(cluster.client_config())
    for i in range(7):
        producer.produce("orders", key=f"order-{i}".encode(), value=f"order{i}".encode())
    assert producer.flush(10) == 0

    config = {"group.id": "billing", "enable.auto.commit": False, "auto.offset.reset": "earliest"}
    consumer = confluent_kafka.Consumer(cluster.client_config(config))
    consumer.subscribe(["orders"])
    done: list[int] = []

    def three_committed() -> bool:
        msg = consumer.poll(0.1)
        if msg is not None and not msg.error():
            consumer.commit(message=msg, asynchronous=False)  # stores msg.offset() + 1
            done.append(msg.offset())
        return len(done) == 3

    wait_for(three_committed, 20, "three records committed one by one", step=lambda: None)
    consumer.close()

    reader = confluent_kafka.Consumer(cluster.client_config({"group.id": "billing"}))
    try:
        tp = confluent_kafka.TopicPartition("orders", 0)
        (committed,) = reader.committed([tp], timeout=10)
        _low, high = reader.get_watermark_offsets(tp, timeout=10)
    finally:
        reader.close()
    real = {"CURRENT-OFFSET": committed.offset, "LOG-END-OFFSET": high}
    real["LAG"] = high - committed.offset

    producer_spec = {
        "id": "p1",
        "topic": "orders",
        "messages": 7,
        "rate_per_s": 1000,
        "key": "order-{i}",
        "value": "order{i}",
        "client": "librdkafka",
    }
    consumer_spec = {
        "id": "c1",
        "group": "billing",
        "topics": ["orders"],
        "client": "librdkafka",
        "processing_ms": 100,
        "commit": "sync-per-record",
        "config": {"enable.auto.commit": False, "auto.offset.reset": "earliest"},
    }
    stop = {"action": "crash", "target": "c1", "point": "after_commit", "offset": 2}
    result = simcore.simulate(_scenario(producer_spec, consumers=[consumer_spec], faults=[stop]))
    (row,) = result.groups_table()
    simulated = {key: row[key] for key in ("CURRENT-OFFSET", "LOG-END-OFFSET", "LAG")}
    assert real == simulated == {"CURRENT-OFFSET": 3, "LOG-END-OFFSET": 7, "LAG": 4}


# --- produce retries ---------------------------------------------------------------------


def test_an_idempotent_producer_retries_rejected_requests_and_delivers_once(cluster):
    cluster.create_topic("orders", 1)
    config = {"enable.idempotence": True, "linger.ms": 100}
    producer = confluent_kafka.Producer(cluster.client_config(config))
    # let the producer get its producer id first, so the injected errors hit Produce
    wait_for(lambda: producer.list_topics(timeout=5).topics.get("orders"), 10, "metadata")
    cluster.start_tracking()
    cluster.push_request_errors(API_PRODUCE, ERR_NOT_LEADER_OR_FOLLOWER, ERR_NOT_LEADER_OR_FOLLOWER)
    reports: list[tuple[Any, int]] = []
    for i in range(5):
        producer.produce(
            "orders",
            key=f"k{i}".encode(),
            value=f"v{i}".encode(),
            on_delivery=lambda err, msg: reports.append((err, msg.offset())),
        )
    assert producer.flush(30) == 0
    real_requests = cluster.count_requests(API_PRODUCE)
    assert [err for err, _ in reports] == [None] * 5
    real_offsets = [offset for _, offset in reports]

    reader = confluent_kafka.Consumer(
        cluster.client_config({"group.id": "check", "auto.offset.reset": "earliest"})
    )
    try:
        reader.assign([confluent_kafka.TopicPartition("orders", 0, 0)])
        values: list[bytes] = []

        def all_read() -> bool:
            msg = reader.poll(0.1)
            if msg is not None and not msg.error():
                values.append(msg.value())
            return len(values) >= 5

        wait_for(all_read, 20, "the five records read back", step=lambda: None)
        _low, high = reader.get_watermark_offsets(confluent_kafka.TopicPartition("orders", 0))
    finally:
        reader.close()

    producer_spec = {
        "id": "p",
        "topic": "orders",
        "messages": 5,
        "rate_per_s": 1000,
        "key": "k{i}",
        "value": "v{i}",
        "client": "librdkafka",
        "config": config,
    }
    faults = [
        {
            "action": "produce_error",
            "target": "p",
            "at_ms": 0,
            "count": 2,
            "error": "NOT_LEADER_OR_FOLLOWER",
        }
    ]
    result = simcore.simulate(_scenario(producer_spec, faults=faults))
    sends = [f["attempt"] for _, kind, _, f in result.events if kind == "send"]
    ledger = result.summary()["ledger"]["topics"]["orders"]
    simulated_offsets = [m["offsets"] for m in result.messages() or []]

    assert real_requests == len(sends) == 3  # two rejected, the third written
    assert sends == [1, 2, 3]
    assert real_offsets == [0, 1, 2, 3, 4] == [o[0] for o in simulated_offsets]
    assert values == [f"v{i}".encode() for i in range(5)] and high == 5
    assert all(len(o) == 1 for o in simulated_offsets)
    assert (ledger["acked"], ledger["in_log"], ledger["log_duplicates"]) == (5, 5, 0)
