"""Scenario loading and validation: defaults per client family, normalisation, errors."""

from __future__ import annotations

import copy
import json
import pickle
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simcore.kernel.errors import ScenarioError
from simcore.scenario.kafka_config import INT_MAX
from simcore.scenario.parse import (
    canonical_json,
    load_scenario,
    loads_scenario,
    parse_scenario,
    scenario_digest,
    scenario_to_data,
)

EXAMPLE_YAML = """\
name: Auto-commit can lose messages (librdkafka)
description: optional markdown text
seed: 7
duration_ms: 30000
brokers: 3
network_latency_ms: 1          # optional, one-way client<->broker
topics:
  - {name: orders, partitions: 1, replication_factor: 3,
     config: {min.insync.replicas: 2, retention.ms: 604800000}}
producers:
  - id: p1
    topic: orders
    messages: 3
    rate_per_s: 1000
    start_ms: 0
    key: "order-{i}"
    value: "Order #{i}"
    client: java
    partition: 0
    config: {acks: all}
consumers:
  - id: c1
    group: billing
    topics: [orders]
    start_ms: 0
    client: librdkafka
    processing_ms: 3000
    commit: auto
    config: {enable.auto.commit: true, auto.commit.interval.ms: 5000,
             auto.offset.reset: earliest}
faults:
  - {at_ms: 5500, action: crash, target: c1, restart_after_ms: 1000}
  - {action: crash, target: c1, point: after_process, offset: 1, restart_after_ms: 1000}
  - {action: commit_fail, target: c1, at_ms: 2000, count: 1, retriable: true}
  - {action: commit_timeout, target: c1, at_ms: 2000, count: 1}
"""

MINIMAL: dict[str, Any] = {
    "name": "minimal",
    "topics": [{"name": "orders", "partitions": 2}],
    "producers": [{"id": "p1", "topic": "orders", "messages": 10, "rate_per_s": 100}],
    "consumers": [{"id": "c1", "group": "g", "topics": ["orders"]}],
}


def data(**top: Any) -> dict[str, Any]:
    out = copy.deepcopy(MINIMAL)
    out.update(top)
    return out


def with_consumer(**fields: Any) -> dict[str, Any]:
    out = data()
    out["consumers"][0].update(fields)
    return out


def with_producer(**fields: Any) -> dict[str, Any]:
    out = data()
    out["producers"][0].update(fields)
    return out


def error_of(scenario_data: Any) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(scenario_data)
    return info.value


# --- the example and the defaults ----------------------------------------------------


def test_it_parses_the_example() -> None:
    scenario = loads_scenario(EXAMPLE_YAML)
    assert (scenario.seed, scenario.brokers, scenario.duration_ms) == (7, 3, 30000)
    topic = scenario.topics[0]
    assert (topic.name, topic.replication_factor, topic.min_insync_replicas) == ("orders", 3, 2)
    producer = scenario.producers[0]
    assert (producer.key, producer.value, producer.partition, producer.acks) == (
        "order-{i}",
        "Order #{i}",
        0,
        -1,
    )
    consumer = scenario.consumers[0]
    assert consumer.client == "librdkafka"
    assert consumer.processing_ms == 3000
    assert consumer.auto_offset_reset == "earliest"
    assert [f.action for f in scenario.faults] == [
        "crash",
        "crash",
        "commit_fail",
        "commit_timeout",
    ]
    assert scenario.faults[1].point == "after_process"
    assert scenario.faults[1].offset == 1


def test_it_applies_scenario_and_topic_defaults() -> None:
    scenario = parse_scenario({"name": "n", "topics": [{"name": "t"}]})
    assert (scenario.seed, scenario.duration_ms, scenario.brokers) == (0, 30000, 1)
    assert (scenario.network_latency_ms, scenario.description) == (1, "")
    assert (scenario.producers, scenario.consumers, scenario.faults) == ((), (), ())
    topic = scenario.topics[0]
    assert (topic.partitions, topic.replication_factor) == (1, 1)
    assert (topic.min_insync_replicas, topic.retention_ms) == (1, 604_800_000)
    assert topic.config["unclean.leader.election.enable"] is False
    assert topic.config["cleanup.policy"] == "delete"


def test_it_applies_java_consumer_defaults() -> None:
    consumer = parse_scenario(data()).consumers[0]
    assert consumer.client == "java"
    assert consumer.commit == "auto"
    assert consumer.enable_auto_commit is True
    assert consumer.auto_commit_interval_ms == 5000
    assert consumer.auto_offset_reset == "latest"
    assert consumer.max_poll_records == 500
    assert consumer.max_poll_interval_ms == 300_000
    assert (consumer.session_timeout_ms, consumer.heartbeat_interval_ms) == (45_000, 3000)
    assert (consumer.fetch_min_bytes, consumer.fetch_max_wait_ms) == (1, 500)
    assert consumer.default_api_timeout_ms == 60_000
    assert consumer.request_timeout_ms == 30_000
    assert consumer.retry_backoff_ms == 100
    assert consumer.isolation_level == "read_uncommitted"
    assert consumer.config["group.instance.id"] is None
    assert consumer.config["group.protocol"] == "classic"
    assert consumer.config["partition.assignment.strategy"] == (
        "org.apache.kafka.clients.consumer.RangeAssignor,"
        "org.apache.kafka.clients.consumer.CooperativeStickyAssignor"
    )


def test_it_applies_librdkafka_consumer_defaults() -> None:
    consumer = parse_scenario(with_consumer(client="librdkafka")).consumers[0]
    assert consumer.max_poll_records == 1  # one message per consume call
    assert consumer.auto_offset_reset == "latest"  # librdkafka's "largest"
    assert consumer.isolation_level == "read_committed"
    assert consumer.enable_auto_offset_store is True
    assert consumer.request_timeout_ms == 60_000  # socket.timeout.ms
    assert consumer.default_api_timeout_ms == 60_000
    assert "max.poll.records" not in consumer.config
    assert consumer.config["fetch.wait.max.ms"] == 500
    assert consumer.config["partition.assignment.strategy"] == "range,roundrobin"
    assert consumer.config["client.id"] == "rdkafka"


def test_it_applies_java_producer_defaults() -> None:
    producer = parse_scenario(data()).producers[0]
    assert (producer.acks, producer.enable_idempotence, producer.retries) == (-1, True, INT_MAX)
    assert (producer.delivery_timeout_ms, producer.request_timeout_ms) == (120_000, 30_000)
    assert (producer.linger_ms, producer.batch_size, producer.max_in_flight) == (5, 16384, 5)
    assert (producer.retry_backoff_ms, producer.partitioner) == (100, "murmur2")
    assert (producer.key, producer.value, producer.partition) == (None, "message {i}", None)
    assert producer.config["partitioner.class"] is None


def test_it_applies_librdkafka_producer_defaults() -> None:
    producer = parse_scenario(with_producer(client="librdkafka")).producers[0]
    assert (producer.acks, producer.enable_idempotence, producer.retries) == (-1, False, INT_MAX)
    assert producer.delivery_timeout_ms == 300_000
    assert (producer.linger_ms, producer.batch_size) == (5, 1_000_000)
    assert producer.max_in_flight == 1_000_000
    assert producer.partitioner == "consistent_random"
    assert set(producer.config) >= {"request.required.acks", "queue.buffering.max.ms"}


# --- normalisation -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "acks"),
    [("all", -1), ("ALL", -1), ("-1", -1), (-1, -1), (0, 0), ("0", 0), (1, 1), (" 1 ", 1)],
)
def test_it_normalises_acks(raw: Any, acks: int) -> None:
    config = {"acks": raw, "enable.idempotence": False}
    producer = parse_scenario(with_producer(config=config)).producers[0]
    assert producer.acks == acks
    assert producer.config["acks"] == acks


@pytest.mark.parametrize(
    ("raw", "reset"),
    [
        ("smallest", "earliest"),
        ("beginning", "earliest"),
        ("earliest", "earliest"),
        ("largest", "latest"),
        ("end", "latest"),
        ("error", "none"),
    ],
)
def test_it_normalises_librdkafka_offset_reset(raw: str, reset: str) -> None:
    scenario = with_consumer(client="librdkafka", config={"auto.offset.reset": raw})
    consumer = parse_scenario(scenario).consumers[0]
    assert consumer.auto_offset_reset == reset
    assert consumer.config["auto.offset.reset"] == reset


def test_it_accepts_pasted_strings_for_booleans_and_integers() -> None:
    config = {"enable.auto.commit": "false", "max.poll.records": "10"}
    consumer = parse_scenario(with_consumer(commit="sync-per-batch", config=config)).consumers[0]
    assert consumer.enable_auto_commit is False
    assert consumer.max_poll_records == 10


def test_it_reads_librdkafka_aliases_under_the_canonical_name() -> None:
    config = {"linger.ms": 20, "retries": 3, "delivery.timeout.ms": 9000, "max.in.flight": 2}
    producer = parse_scenario(with_producer(client="librdkafka", config=config)).producers[0]
    assert (producer.linger_ms, producer.retries, producer.delivery_timeout_ms) == (20, 3, 9000)
    assert producer.max_in_flight == 2
    assert producer.config["queue.buffering.max.ms"] == 20
    assert "linger.ms" not in producer.config


def test_it_treats_a_zero_librdkafka_message_timeout_as_infinite() -> None:
    config = {"message.timeout.ms": 0}
    producer = parse_scenario(with_producer(client="librdkafka", config=config)).producers[0]
    assert producer.delivery_timeout_ms == INT_MAX
    assert producer.config["message.timeout.ms"] == 0


def test_it_accepts_java_assignor_short_names() -> None:
    config = {"partition.assignment.strategy": ["RangeAssignor", "StickyAssignor"]}
    consumer = parse_scenario(with_consumer(config=config)).consumers[0]
    expected = (
        "org.apache.kafka.clients.consumer.RangeAssignor,"
        "org.apache.kafka.clients.consumer.StickyAssignor"
    )
    assert consumer.config["partition.assignment.strategy"] == expected


def test_it_reads_assignors_in_preference_order_as_short_names() -> None:
    java = {
        "partition.assignment.strategy": (
            "org.apache.kafka.clients.consumer.CooperativeStickyAssignor,RoundRobinAssignor"
        )
    }
    consumer = parse_scenario(with_consumer(config=java)).consumers[0]
    assert consumer.assignors == ("cooperative-sticky", "roundrobin")
    default = parse_scenario(with_consumer()).consumers[0]
    assert default.assignors == ("range", "cooperative-sticky")  # Java's default list
    err = error_of(with_consumer(config={"partition.assignment.strategy": "fancy"}))
    assert err.field == "consumers[0].config.partition.assignment.strategy"


# --- client construction rules -------------------------------------------------------


def test_it_disables_implicit_java_idempotence_on_conflicting_acks() -> None:
    producer = parse_scenario(with_producer(config={"acks": 1})).producers[0]
    assert producer.enable_idempotence is False
    assert producer.config["enable.idempotence"] is False


def test_it_rejects_explicit_java_idempotence_with_acks_1() -> None:
    err = error_of(with_producer(config={"acks": "1", "enable.idempotence": True}))
    assert err.field == "producers[0].config.acks"
    assert "Must set acks to all in order to use the idempotent producer" in err.message


def test_it_rejects_java_idempotence_with_six_in_flight() -> None:
    err = error_of(with_producer(config={"max.in.flight.requests.per.connection": 6}))
    assert err.field == "producers[0].config.max.in.flight.requests.per.connection"
    assert "at most 5" in err.message


def test_it_allows_six_in_flight_without_idempotence() -> None:
    config = {"max.in.flight.requests.per.connection": 6, "enable.idempotence": False}
    assert parse_scenario(with_producer(config=config)).producers[0].max_in_flight == 6


def test_it_lowers_librdkafka_in_flight_for_idempotence() -> None:
    config = {"enable.idempotence": True}
    producer = parse_scenario(with_producer(client="librdkafka", config=config)).producers[0]
    assert (producer.enable_idempotence, producer.max_in_flight, producer.acks) == (True, 5, -1)


def test_it_rejects_librdkafka_idempotence_with_explicit_acks_1() -> None:
    config = {"enable.idempotence": True, "acks": 1}
    err = error_of(with_producer(client="librdkafka", config=config))
    assert err.field == "producers[0].config.acks"
    assert err.message == "`acks` must be set to `all` when `enable.idempotence` is true"


def test_it_rejects_a_delivery_timeout_below_linger_plus_request_timeout() -> None:
    err = error_of(with_producer(config={"delivery.timeout.ms": 1000}))
    assert err.field == "producers[0].config.delivery.timeout.ms"
    assert "linger.ms + request.timeout.ms" in err.message


def test_it_raises_the_default_delivery_timeout_like_java() -> None:
    producer = parse_scenario(with_producer(config={"request.timeout.ms": 200_000})).producers[0]
    assert producer.delivery_timeout_ms == 200_005


def test_it_rejects_heartbeat_not_below_session_timeout() -> None:
    config = {"heartbeat.interval.ms": 10_000, "session.timeout.ms": 10_000}
    err = error_of(with_consumer(config=config))
    assert err.field == "consumers[0].config.heartbeat.interval.ms"
    assert "lower than the session timeout" in err.message


def test_it_rejects_a_session_timeout_the_broker_would_refuse() -> None:
    err = error_of(with_consumer(config={"session.timeout.ms": 3000, "heartbeat.interval.ms": 1}))
    assert err.field == "consumers[0].config.session.timeout.ms"
    assert "INVALID_SESSION_TIMEOUT" in err.message


def test_it_rejects_auto_commit_strategy_without_auto_commit() -> None:
    err = error_of(with_consumer(commit="auto", config={"enable.auto.commit": False}))
    assert err.field == "consumers[0].commit"
    assert "enable.auto.commit" in err.message
    assert "sync-per-batch" in (err.allowed or "")


def test_it_rejects_librdkafka_auto_commit_with_a_zero_interval() -> None:
    scenario = with_consumer(client="librdkafka", config={"auto.commit.interval.ms": 0})
    assert error_of(scenario).field == "consumers[0].commit"


# --- error kinds ---------------------------------------------------------------------


def test_it_suggests_the_closest_config_property() -> None:
    err = error_of(with_consumer(config={"enable.auto.comit": True}))
    assert str(err) == (
        "consumers[0].config.enable.auto.comit: unknown java consumer property;"
        " did you mean 'enable.auto.commit'?"
    )
    assert err.suggestion == "enable.auto.commit"
    assert "auto.commit.interval.ms" in (err.allowed or "")


def test_it_names_the_range_of_an_integer() -> None:
    err = error_of(data(topics=[{"name": "orders", "partitions": 0}]))
    assert str(err) == "topics[0].partitions: must be an integer between 1 and 64, got 0"
    assert err.allowed == "1..64"


def test_it_explains_java_properties_on_librdkafka() -> None:
    err = error_of(with_consumer(client="librdkafka", config={"max.poll.records": 10}))
    assert err.field == "consumers[0].config.max.poll.records"
    assert err.message == (
        "max.poll.records is a Java client property; librdkafka has no equivalent:"
        " the application consumes one message per poll"
    )


def test_it_explains_librdkafka_properties_on_java() -> None:
    err = error_of(with_consumer(config={"enable.auto.offset.store": False}))
    assert "librdkafka property" in err.message
    err = error_of(with_producer(config={"linger": 5}))
    assert err.suggestion == "linger.ms"
    err = error_of(with_producer(config={"queue.buffering.max.ms": 5}))
    assert err.suggestion == "linger.ms"


def test_it_points_a_property_to_the_right_place() -> None:
    err = error_of(with_producer(config={"enable.auto.commit": False}))
    assert "consumer property" in err.message
    err = error_of(with_consumer(**{"enable.auto.commit": False}))
    assert err.field == "consumers[0].enable.auto.commit"
    assert "consumers[0].config" in err.message


def test_it_suggests_the_closest_field_name() -> None:
    err = error_of(data(durations_ms=100))
    assert (err.field, err.suggestion) == ("durations_ms", "duration_ms")
    err = error_of(with_consumer(proccessing_ms=5))
    assert (err.field, err.suggestion) == ("consumers[0].proccessing_ms", "processing_ms")
    err = error_of(data(topics=[{"name": "orders", "partition": 2}]))
    assert (err.field, err.suggestion) == ("topics[0].partition", "partitions")


def test_it_lists_enum_values_and_suggests_one() -> None:
    err = error_of(with_consumer(commit="sync-per-recrod"))
    assert err.field == "consumers[0].commit"
    assert err.suggestion == "sync-per-record"
    assert "async-with-retry" in err.message
    err = error_of(with_consumer(config={"isolation.level": "read_commited"}))
    assert err.suggestion == "read_committed"


def test_it_names_the_expected_type() -> None:
    assert (
        "must be true or false" in error_of(with_consumer(config={"enable.auto.commit": 3})).message
    )
    assert "must be an integer" in error_of(data(seed="seven")).message
    assert "must be a list of topics" in error_of(data(topics="orders")).message
    assert "must be a mapping" in error_of(data(producers=[3])).message
    assert "must be text" in error_of(data(name=5)).message


def test_it_rejects_by_duration_as_not_modelled() -> None:
    err = error_of(with_consumer(config={"auto.offset.reset": "by_duration:PT1H"}))
    assert "KIP-1106" in err.message
    assert "not modelled" in err.message


def test_it_rejects_a_property_set_twice_through_an_alias() -> None:
    config = {"linger.ms": 5, "queue.buffering.max.ms": 10}
    err = error_of(with_producer(client="librdkafka", config=config))
    assert "second time" in err.message


def test_it_requires_name_and_topics() -> None:
    assert error_of({"topics": [{"name": "t"}]}).field == "name"
    assert error_of({"name": "n"}).field == "topics"
    assert error_of({"name": "n", "topics": []}).field == "topics"


def test_it_checks_topic_references() -> None:
    err = error_of(with_producer(topic="order"))
    assert (err.field, err.suggestion) == ("producers[0].topic", "orders")
    err = error_of(with_consumer(topics=["orders", "payments"]))
    assert err.field == "consumers[0].topics[1]"


def test_it_requires_unique_ids_across_producers_and_consumers() -> None:
    err = error_of(with_consumer(id="p1"))
    assert err.field == "consumers[0].id"
    assert "producers[0]" in err.message


def test_it_requires_replication_factor_within_brokers() -> None:
    err = error_of(data(brokers=2, topics=[{"name": "orders", "replication_factor": 3}]))
    assert err.field == "topics[0].replication_factor"
    assert "larger than available brokers: 2" in err.message


def test_it_allows_min_insync_replicas_above_the_replication_factor() -> None:
    topics = [{"name": "orders", "config": {"min.insync.replicas": 3}}]
    assert parse_scenario(data(topics=topics)).topics[0].min_insync_replicas == 3


def test_it_checks_fault_targets() -> None:
    err = error_of(data(faults=[{"action": "crash", "target": "c_1", "at_ms": 5}]))
    assert (err.field, err.suggestion) == ("faults[0].target", "c1")
    err = error_of(data(faults=[{"action": "crash", "target": "p1", "at_ms": 5}]))
    assert "is a producer" in err.message


@pytest.mark.parametrize(
    ("fault", "field"),
    [
        ({"at_ms": 5, "point": "after_poll", "offset": 1}, "faults[0]"),
        ({}, "faults[0]"),
        ({"point": "after_poll"}, "faults[0].offset"),
        ({"at_ms": 5, "offset": 3}, "faults[0].offset"),
        ({"point": "after_lunch", "offset": 0}, "faults[0].point"),
    ],
)
def test_it_checks_crash_triggers(fault: dict[str, Any], field: str) -> None:
    err = error_of(data(faults=[{"action": "crash", "target": "c1", **fault}]))
    assert err.field == field


def test_it_rejects_fault_fields_of_another_action() -> None:
    fault = {"action": "commit_fail", "target": "c1", "at_ms": 5, "restart_after_ms": 10}
    err = error_of(data(faults=[fault]))
    assert err.field == "faults[0].restart_after_ms"
    assert "does not apply to commit_fail faults" in err.message


def test_it_checks_crash_partitions_against_the_topic() -> None:
    fault = {"action": "crash", "target": "c1", "point": "after_poll", "offset": 0}
    assert parse_scenario(data(faults=[{**fault, "partition": 1}])).faults[0].partition == 1
    err = error_of(data(faults=[{**fault, "partition": 2}]))
    assert str(err) == "faults[0].partition: must be an integer between 0 and 1, got 2"


@pytest.mark.parametrize(
    ("changes", "field", "cap"),
    [
        ({"brokers": 10}, "brokers", "9"),
        ({"topics": [{"name": f"t{i}"} for i in range(21)]}, "topics", "20"),
        ({"duration_ms": 3_600_001}, "duration_ms", "3600000"),
        ({"seed": 2**63}, "seed", "9223372036854775807"),
        ({"name": "x" * 201}, "name", "200"),
        ({"description": "x" * 5001}, "description", "5000"),
        ({"network_latency_ms": 1001}, "network_latency_ms", "1000"),
        (
            {"consumers": [{"id": f"c{i}", "group": "g", "topics": ["orders"]} for i in range(51)]},
            "consumers",
            "50",
        ),
        ({"faults": [{"action": "crash", "target": "c1", "at_ms": 1}] * 201}, "faults", "200"),
    ],
)
def test_it_enforces_the_caps(changes: dict[str, Any], field: str, cap: str) -> None:
    err = error_of(data(**changes))
    assert err.field == field
    assert cap in err.message


@pytest.mark.parametrize(
    ("fields", "field", "cap"),
    [
        ({"messages": 5_000_001}, "producers[0].messages", "5000000"),
        ({"rate_per_s": 0}, "producers[0].rate_per_s", "1e+06"),
        ({"rate_per_s": 1_000_001}, "producers[0].rate_per_s", "1e+06"),
        ({"value": "x" * 201}, "producers[0].value", "200"),
        ({"partition": 2}, "producers[0].partition", "between 0 and 1"),
    ],
)
def test_it_enforces_producer_caps(fields: dict[str, Any], field: str, cap: str) -> None:
    err = error_of(with_producer(**fields))
    assert err.field == field
    assert cap in err.message


def test_it_caps_processing_time() -> None:
    err = error_of(with_consumer(processing_ms=600_001))
    assert str(err) == (
        "consumers[0].processing_ms: must be an integer between 0 and 600000, got 600001"
    )


@pytest.mark.parametrize("template", ["{x}", "{}", "{i!r}", "{i:>999999}", "{", "}"])
def test_it_rejects_bad_templates(template: str) -> None:
    err = error_of(with_producer(key=template))
    assert err.field == "producers[0].key"


def test_it_accepts_index_templates() -> None:
    producer = parse_scenario(with_producer(key="k-{i:05d}", value="{{literal}} {i}")).producers[0]
    assert (producer.key, producer.value) == ("k-{i:05d}", "{{literal}} {i}")


def test_it_renders_errors_on_one_line_and_pickles_them() -> None:
    err = error_of(data(name="a", description=["not", "text"]))
    assert "\n" not in str(err)
    again = pickle.loads(pickle.dumps(err))
    assert (str(again), again.field, again.allowed) == (str(err), err.field, err.allowed)


# --- text, files, digests ------------------------------------------------------------


def test_it_reports_yaml_syntax_errors_with_a_line_number() -> None:
    with pytest.raises(ScenarioError) as info:
        loads_scenario("name: x\ntopics:\n  - {name: t\nseed: 1\n")
    assert info.value.field == "yaml"
    assert info.value.line is not None
    assert f"line {info.value.line}" in str(info.value)


def test_it_rejects_duplicate_yaml_keys() -> None:
    with pytest.raises(ScenarioError) as info:
        loads_scenario("name: x\nname: y\ntopics: [{name: t}]\n")
    assert "duplicate key 'name'" in str(info.value)
    assert info.value.line == 2


def test_it_reads_json_text_and_rejects_empty_documents() -> None:
    assert loads_scenario(json.dumps(MINIMAL)).name == "minimal"
    with pytest.raises(ScenarioError, match="is empty"):
        loads_scenario("# nothing here\n")


def test_it_loads_files(tmp_path: Any) -> None:
    (tmp_path / "a.yaml").write_text(EXAMPLE_YAML, encoding="utf-8")
    (tmp_path / "b.json").write_text(json.dumps(MINIMAL), encoding="utf-8")
    (tmp_path / "bad.json").write_text('{"name": "x",\n "topics": [}', encoding="utf-8")
    assert load_scenario(tmp_path / "a.yaml").seed == 7
    assert load_scenario(str(tmp_path / "b.json")).name == "minimal"
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path / "bad.json")
    assert info.value.line == 2
    with pytest.raises(ScenarioError, match="no such file"):
        load_scenario(tmp_path / "missing.yaml")
    with pytest.raises(ScenarioError, match=r"\.yaml, \.yml or \.json"):
        load_scenario(tmp_path / "a.txt")


def test_it_digests_independently_of_key_order() -> None:
    reordered = {key: MINIMAL[key] for key in reversed(list(MINIMAL))}
    reordered["producers"] = [dict(reversed(list(MINIMAL["producers"][0].items())))]
    first, second = parse_scenario(MINIMAL), parse_scenario(reordered)
    assert scenario_digest(first) == scenario_digest(second)
    assert len(scenario_digest(first)) == 64
    assert scenario_digest(first) != scenario_digest(parse_scenario(data(seed=1)))


def test_it_writes_canonical_json() -> None:
    assert canonical_json({"b": 1, "a": ["é", None]}) == '{"a":["é",null],"b":1}'


def test_it_keeps_the_source_and_hands_back_a_copy() -> None:
    given = data()
    scenario = parse_scenario(given)
    given["name"] = "changed later"
    assert scenario.source["name"] == "minimal"
    edited = scenario_to_data(scenario)
    edited["faults"] = [{"action": "crash", "target": "c1", "at_ms": 100, "injected": True}]
    reparsed = parse_scenario(edited)
    assert reparsed.faults[0].injected is True
    assert "faults" not in scenario.source
    assert scenario_digest(reparsed) != scenario_digest(scenario)


# --- junk never escapes as anything but ScenarioError --------------------------------

FIELD_NAMES = [
    "name",
    "topics",
    "producers",
    "consumers",
    "faults",
    "seed",
    "brokers",
    "id",
    "group",
    "topic",
    "partitions",
    "replication_factor",
    "config",
    "action",
    "target",
    "at_ms",
    "point",
    "offset",
    "client",
    "commit",
    "messages",
    "rate_per_s",
    "key",
    "value",
    "acks",
    "enable.auto.commit",
    "linger.ms",
    "session.timeout.ms",
]
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(["orders", "c1", "p1", "all", "crash", "librdkafka", "{i}", "-1"])
)
keys = st.sampled_from(FIELD_NAMES) | st.text(max_size=8) | st.integers()
junk = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=5),
    max_leaves=25,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, inner in value.items():
            found += _paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += _paths(inner, (*prefix, index))
    return found


def _only_scenario_errors(candidate: Any) -> None:
    try:
        parse_scenario(candidate)
    except ScenarioError as err:
        message = str(err)
    else:
        return
    assert "\n" not in message


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(junk)
def test_it_raises_only_scenario_errors_on_junk(candidate: Any) -> None:
    _only_scenario_errors(candidate)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_it_raises_only_scenario_errors_on_mutated_scenarios(draw: st.DataObject) -> None:
    scenario = loads_scenario(EXAMPLE_YAML)
    candidate = scenario_to_data(scenario)
    path = draw.draw(st.sampled_from(_paths(candidate)[1:]))
    parent = candidate
    for step in path[:-1]:
        parent = parent[step]
    if draw.draw(st.booleans()) and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw.draw(junk)
    _only_scenario_errors(candidate)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_it_raises_only_scenario_errors_on_junk_text(text: str) -> None:
    try:
        loads_scenario(text)
    except ScenarioError as err:
        message = str(err)
    else:
        return
    assert "\n" not in message


# --- brokers, broker faults and producer faults --------------------------------------

BROKER_FAULTS_DATA: dict[str, Any] = data(
    brokers=3,
    broker_config={"replica.lag.time.max.ms": 10_000},
    topics=[
        {
            "name": "orders",
            "partitions": 2,
            "replication_factor": 3,
            "config": {"unclean.leader.election.enable": "true"},
        }
    ],
    faults=[
        {"action": "kill_broker", "target": "broker-0", "at_ms": 100, "restart_after_ms": 50},
        {"action": "isolate_broker", "target": "broker-1", "at_ms": 200, "duration_ms": 900},
        {"action": "slow_follower", "target": "broker-2", "at_ms": 300, "delay_ms": 40},
        {"action": "drop_produce_response", "target": "p1", "at_ms": 0, "count": 2},
        {"action": "delay_produce_response", "target": "p1", "at_ms": 5, "delay_ms": 700},
    ],
)


def test_it_applies_broker_defaults() -> None:
    broker = parse_scenario(data()).broker
    assert broker.replica_lag_time_max_ms == 30_000
    assert broker.replica_fetch_wait_max_ms == 500
    assert broker.broker_session_timeout_ms == 9000
    assert broker.config["replica.lag.time.max.ms"] == 30_000


def test_it_parses_broker_config_topic_flags_and_broker_faults() -> None:
    scenario = parse_scenario(BROKER_FAULTS_DATA)
    assert scenario.broker.replica_lag_time_max_ms == 10_000
    assert scenario.topics[0].unclean_leader_election is True
    kill, isolate, slow, drop, delay = scenario.faults
    assert (kill.target, kill.restart_after_ms) == ("broker-0", 50)
    assert (isolate.duration_ms, slow.delay_ms, slow.duration_ms) == (900, 40, None)
    assert (drop.target, drop.count, delay.delay_ms) == ("p1", 2, 700)


def test_it_checks_broker_config() -> None:
    err = error_of(
        data(broker_config={"replica.fetch.wait.max.ms": 2000, "replica.lag.time.max.ms": 1000})
    )
    assert err.field == "broker_config.replica.fetch.wait.max.ms"
    assert "frequent changes in ISR" in err.message
    err = error_of(data(broker_config={"replica.lag.time.max": 1}))
    assert (err.field, err.suggestion) == (
        "broker_config.replica.lag.time.max",
        "replica.lag.time.max.ms",
    )
    err = error_of(data(**{"replica.lag.time.max.ms": 1}))
    assert "put it under broker_config" in err.message


@pytest.mark.parametrize(
    ("fault", "field", "text"),
    [
        ({"action": "kill_broker", "target": "broker-3", "at_ms": 1}, "target", "broker-2"),
        ({"action": "kill_broker", "target": "b1", "at_ms": 1}, "target", "one of broker-0"),
        ({"action": "kill_broker", "target": "broker-0"}, "at_ms", "required"),
        ({"action": "slow_follower", "target": "broker-1", "at_ms": 1}, "delay_ms", "required"),
        (
            {"action": "isolate_broker", "target": "broker-1", "at_ms": 1, "count": 2},
            "count",
            "does not apply",
        ),
        (
            {"action": "drop_produce_response", "target": "c1", "at_ms": 1},
            "target",
            "is a consumer",
        ),
        ({"action": "crash", "target": "p1", "at_ms": 1}, "target", "is a producer"),
        (
            {"action": "delay_produce_response", "target": "p1", "at_ms": 1, "delay_ms": 0},
            "delay_ms",
            "between 1 and 600000",
        ),
    ],
)
def test_it_checks_broker_and_producer_faults(fault: dict[str, Any], field: str, text: str) -> None:
    err = error_of(data(brokers=3, faults=[fault]))
    assert err.field == f"faults[0].{field}"
    assert text in err.message


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_it_raises_only_scenario_errors_on_mutated_broker_scenarios(
    draw: st.DataObject,
) -> None:
    candidate = copy.deepcopy(BROKER_FAULTS_DATA)
    path = draw.draw(st.sampled_from(_paths(candidate)[1:]))
    parent = candidate
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = draw.draw(junk)
    _only_scenario_errors(candidate)


def test_it_documents_every_property_and_fault() -> None:
    from pathlib import Path

    from simcore.scenario.kafka_config import CATALOGS
    from simcore.scenario.spec import FAULT_ACTIONS

    doc = (Path(__file__).parents[2] / "docs" / "scenario-format.md").read_text("utf-8")
    for cat in CATALOGS.values():
        for name in cat.index:
            assert f"`{name}`" in doc, name
    for action in FAULT_ACTIONS:
        assert f"`{action}`" in doc, action
