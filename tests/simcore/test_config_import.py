"""Java .properties, Spring Boot application.yml/.properties and librdkafka dicts into a
scenario, and back (issue 12): modelled properties reach the run, real unmodelled ones are
warnings, unknown ones errors with a suggestion; each format round-trips."""

from __future__ import annotations

import pytest

from simcore import ScenarioError, builtin_scenario, parse_scenario
from simcore.scenario.config_import import (
    apply,
    parse_properties,
    read,
    to_properties,
    to_spring_yaml,
)

BASE = builtin_scenario("acks-1-leader-dies")  # one producer p1, one consumer c1 (java)

PRODUCER_PROPERTIES = r"""
# the billing service's producer
bootstrap.servers=kafka-1:9092,kafka-2:9092
acks = all
enable.idempotence: true
linger.ms 20
compression.type=lz4
key.serializer=org.apache.kafka.common.serialization.StringSerializer
client.id=billing\
  -producer
"""

SPRING_YAML = """
spring:
  kafka:
    bootstrap-servers: kafka:9092
    consumer:
      group-id: invoices
      auto-offset-reset: earliest
      auto-commit-interval: 2s
      max-poll-records: 50
      key-deserializer: org.apache.kafka.common.serialization.StringDeserializer
      properties:
        session.timeout.ms: 30000
        fetch.max.bytes: 1048576
    producer:
      acks: 1
      batch-size: 32KB
      properties:
        enable.idempotence: false
    listener:
      ack-mode: RECORD
"""


def scenario_with(text: str, fmt: str, role: str | None = None, target: str | None = None):  # type: ignore[no-untyped-def]
    source, warnings = apply(BASE.source, read(text, fmt, role), target)
    return parse_scenario(source), warnings


def test_java_properties_are_read_as_java_reads_them() -> None:
    props = parse_properties(PRODUCER_PROPERTIES)
    assert props["acks"] == "all"
    assert props["enable.idempotence"] == "true"
    assert props["linger.ms"] == "20"
    assert props["client.id"] == "billing-producer"  # the continued line
    assert parse_properties("a\\=b=c\\u00e9\nempty=")["a=b"] == "cé"
    assert parse_properties("x=1\n! comment\n# also\n")["x"] == "1"


def test_a_producer_properties_file_sets_the_producer_and_warns_about_the_rest() -> None:
    scenario, warnings = scenario_with(PRODUCER_PROPERTIES, "properties", "producer")
    p1 = scenario.producers[0]
    assert (p1.acks, p1.enable_idempotence) == (-1, True)
    assert any("compression.type=lz4" in w and "does not model" in w for w in warnings)
    assert any("bootstrap.servers" in w for w in warnings)
    assert any("key.serializer" in w for w in warnings)


def test_an_unknown_property_is_an_error_with_a_suggestion() -> None:
    with pytest.raises(ScenarioError) as err:
        scenario_with("ackz=all\n", "properties", "producer")
    assert err.value.field == "producers[0].config.ackz"
    assert err.value.suggestion == "acks"
    with pytest.raises(ScenarioError) as err:
        scenario_with("enable.auto.comit=false\n", "properties", "consumer")
    assert err.value.suggestion == "enable.auto.commit"


def test_a_bad_value_is_the_scenarios_own_error() -> None:
    with pytest.raises(ScenarioError) as err:
        scenario_with("acks=2\n", "properties", "producer")
    assert err.value.field == "producers[0].config.acks"


def test_spring_yaml_sets_both_clients_and_the_containers_commits() -> None:
    scenario, warnings = scenario_with(SPRING_YAML, "spring-yaml")
    c1, p1 = scenario.consumers[0], scenario.producers[0]
    assert c1.group == "invoices"
    assert c1.auto_offset_reset == "earliest"
    assert c1.auto_commit_interval_ms == 2000
    assert c1.max_poll_records == 50
    assert c1.session_timeout_ms == 30000
    assert c1.enable_auto_commit is False  # Spring's default, said so
    assert c1.commit == "sync-per-record"  # ack-mode RECORD
    assert (p1.acks, p1.enable_idempotence, p1.batch_size) == (1, False, 32 * 1024)
    assert any("Spring Kafka's default" in w for w in warnings)
    assert c1.fetch_max_bytes == 1048576  # modelled (KIP-74): no warning
    assert not any("fetch.max.bytes" in w for w in warnings)


def test_spring_properties_read_like_the_yaml() -> None:
    text = "\n".join(
        [
            "spring.kafka.consumer.group-id=invoices",
            "spring.kafka.consumer.auto-offset-reset=earliest",
            "spring.kafka.consumer.properties[session.timeout.ms]=30000",
            "spring.kafka.consumer.properties.heartbeat.interval.ms=1000",
            "spring.kafka.listener.ack-mode=BATCH",
            "spring.kafka.listener.sync-commits=false",
        ]
    )
    scenario, _ = scenario_with(text, "spring-properties")
    c1 = scenario.consumers[0]
    assert (c1.group, c1.session_timeout_ms, c1.heartbeat_interval_ms) == ("invoices", 30000, 1000)
    assert c1.commit == "async"


def test_spring_errors_name_the_key() -> None:
    with pytest.raises(ScenarioError) as err:
        read("spring:\n  kafka:\n    consumer:\n      auto-ofset-reset: earliest\n", "spring-yaml")
    assert err.value.field == "spring.kafka.consumer.auto-ofset-reset"
    assert err.value.suggestion == "auto-offset-reset"
    with pytest.raises(ScenarioError) as err:
        read("spring:\n  kafka:\n    consumer:\n      auto-commit-interval: soon\n", "spring-yaml")
    assert err.value.field == "spring.kafka.consumer.auto-commit-interval"


def test_a_librdkafka_dict_from_python() -> None:
    source = dict(BASE.source)
    source["consumers"] = [{**source["consumers"][0], "client": "librdkafka"}]
    base = parse_scenario(source)
    text = "{'group.id': 'billing', 'enable.auto.commit': False, 'enable.auto.offset.store': False,"
    text += " 'auto.offset.reset': 'earliest', 'statistics.interval.ms': 0}"
    data, warnings = apply(base.source, read(text, "librdkafka", "consumer"))
    c1 = parse_scenario(data).consumers[0]
    assert c1.enable_auto_commit is False
    assert any("statistics.interval.ms" in w for w in warnings)


@pytest.mark.parametrize("fmt", ["properties", "librdkafka", "spring-yaml"])
def test_each_format_round_trips(fmt: str) -> None:
    if fmt == "spring-yaml":
        first, _ = scenario_with(SPRING_YAML, fmt)
        again, _ = scenario_with(to_spring_yaml(first), fmt)
    else:
        text = "acks=all\nenable.idempotence=true\nlinger.ms=20\nretries=3\n"
        if fmt == "librdkafka":
            text = "{'acks': 'all', 'linger.ms': 20, 'retries': 3}"
        first, _ = scenario_with(text, fmt, "producer")
        again, _ = scenario_with(to_properties(first, "p1"), "properties", "producer")
    assert again.producers == first.producers
    assert again.consumers == first.consumers


def test_consumer_properties_round_trip_with_the_group() -> None:
    text = "group.id=ledger\nauto.offset.reset=latest\nenable.auto.commit=false\n"
    first, _ = scenario_with(text, "properties", "consumer")
    exported = to_properties(first, "c1")
    assert "group.id=ledger" in exported
    again, _ = scenario_with(exported, "properties", "consumer")
    assert again.consumers == first.consumers


def test_bad_format_role_and_target_are_named() -> None:
    with pytest.raises(ScenarioError) as err:
        read("acks=1", "toml", "producer")
    assert err.value.field == "format"
    with pytest.raises(ScenarioError) as err:
        read("acks=1", "properties", "broker")
    assert err.value.field == "role"
    with pytest.raises(ScenarioError) as err:
        apply(BASE.source, read("acks=1", "properties", "producer"), target="p9")
    assert err.value.field == "target"
    with pytest.raises(ScenarioError) as err:
        read("[1, 2", "librdkafka", "producer")
    assert err.value.field == "config"


@pytest.mark.parametrize(
    ("text", "fmt"),
    [
        ("[" * 50_000, "librdkafka"),
        ("{'a': " * 5_000, "librdkafka"),
        ("a: [" * 3_000, "spring-yaml"),
    ],
)
def test_deep_nesting_is_an_error_not_a_crash(text: str, fmt: str) -> None:
    with pytest.raises(ScenarioError) as err:
        read(text, fmt, "producer")
    assert err.value.field == "config"
