"""Load and validate scenarios: YAML/JSON text or plain data -> a frozen `Scenario`.

    parse_scenario(data)     validate a mapping, apply each client family's Kafka defaults
    loads_scenario(text)     YAML (which also reads JSON) -> Scenario
    load_scenario(path)      a .yaml/.yml/.json file -> Scenario
    scenario_to_data(s)      the source data back, for editing and re-parsing
    canonical_json(obj)      sorted keys, no whitespace: the form that gets hashed
    scenario_digest(s)       sha256 of the canonical source: the content-addressed id

Every problem is a one-line `ScenarioError` naming the field; the format and its caps are
documented in docs/scenario-format.md.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Mapping
from os import PathLike
from pathlib import Path
from typing import Any

import yaml

from simcore.kernel.errors import ScenarioError
from simcore.scenario.checks import (
    FaultContext,
    as_list,
    as_mapping,
    check_broker,
    check_consumer,
    check_keys,
    check_producer,
    check_template,
    get_bool,
    get_enum,
    get_id,
    get_int,
    get_name,
    get_optional_int,
    get_rate,
    get_text,
    join,
    parse_faults,
)
from simcore.scenario.kafka_config import INT_MAX, closest, describe, resolve_config, spec_fields
from simcore.scenario.processing import expand as expand_processing
from simcore.scenario.processing import parse_processing
from simcore.scenario.questions import parse_questions
from simcore.scenario.security_section import parse_security
from simcore.scenario.spec import (
    CLIENTS,
    COMMIT_STRATEGIES,
    BrokerSpec,
    ConsumerSpec,
    ProducerSpec,
    Scenario,
    TopicSpec,
)
from simcore.scenario.txn_plan import parse_pipeline, parse_transaction_plan

__all__ = [
    "canonical_json",
    "load_scenario",
    "loads_scenario",
    "parse_scenario",
    "scenario_digest",
    "scenario_to_data",
]

# The playground's size caps (docs/scenario-format.md, "Caps").
MAX_TEXT_CHARS = 1_000_000
MAX_BROKERS, MAX_TOPICS, MAX_PARTITIONS = 9, 20, 64
MAX_PRODUCERS, MAX_CONSUMERS, MAX_FAULTS = 20, 50, 200
MAX_MESSAGES, MAX_RATE_PER_S = 5_000_000, 1_000_000
MAX_DURATION_MS, MAX_PROCESSING_MS, MAX_LATENCY_MS = 3_600_000, 600_000, 1000
MAX_SEED = 2**63 - 1

TOP_KEYS = ("name", "description", "seed", "duration_ms", "brokers", "network_latency_ms",
            "broker_config", "topics", "producers", "consumers", "faults",
            "questions", "security", "broker_racks")  # fmt: skip
TOPIC_KEYS = ("name", "partitions", "replication_factor", "config")
PRODUCER_KEYS = ("id", "topic", "messages", "rate_per_s", "rate_changes", "start_ms", "key",
                 "value",
                 "client", "partition", "config", "transactions")  # fmt: skip
CONSUMER_KEYS = ("id", "group", "topics", "start_ms", "client", "processing_ms",
                 "processing_changes", "commit", "commit_on_revoke", "injected",
                 "processing", "config", "pipeline")  # fmt: skip
_TOPIC_NAME = re.compile(r"[a-zA-Z0-9._-]{1,249}")  # Kafka's Topic.validate


# --- public API ----------------------------------------------------------------------


def parse_scenario(data: Mapping[str, Any]) -> Scenario:
    """Validate `data` and build the Scenario, with every Kafka default resolved."""
    root = as_mapping(data, "scenario", "name, topics, producers, consumers, ...")
    _check_unicode(root)
    check_keys(root, "", TOP_KEYS, "scenario")
    name = get_name(root, "name", "", 200)
    description = get_text(root, "description", "", 5000, default="")
    seed = get_int(root, "seed", "", 0, MAX_SEED, default=0)
    duration_ms = get_int(root, "duration_ms", "", 1, MAX_DURATION_MS, default=30_000)
    brokers = get_int(root, "brokers", "", 1, MAX_BROKERS, default=1)
    latency_ms = get_int(root, "network_latency_ms", "", 0, MAX_LATENCY_MS, default=1)
    broker = _parse_broker(root.get("broker_config"))
    topics = _parse_topics(root, brokers)
    producers = _parse_producers(root, topics, duration_ms)
    consumers = _parse_consumers(root, topics, duration_ms, producers)
    topics, consumers = expand_processing(topics, consumers)
    context = FaultContext(
        topics=topics,
        consumers={c.id: c for c in consumers},
        producer_ids=tuple(p.id for p in producers),
        idempotent_producers=tuple(p.id for p in producers if p.enable_idempotence),
        brokers=brokers,
        duration_ms=duration_ms,
    )
    return Scenario(
        name=name,
        description=description,
        seed=seed,
        duration_ms=duration_ms,
        brokers=brokers,
        network_latency_ms=latency_ms,
        broker=broker,
        topics=tuple(topics.values()),
        producers=producers,
        consumers=consumers,
        faults=parse_faults(root.get("faults"), context),
        questions=parse_questions(
            root.get("questions"),
            topics,
            consumers,
            [*(p.id for p in producers), *(c.id for c in consumers)],
            duration_ms,
        ),
        security=parse_security(root.get("security")),
        broker_racks=_broker_racks(root.get("broker_racks"), brokers),
        source=_json_copy(root),
    )


def loads_scenario(text: str) -> Scenario:
    """Parse YAML (or JSON, which YAML reads too) text into a Scenario."""
    if not isinstance(text, str):
        raise ScenarioError("scenario", f"must be text, got {describe(text)}")
    if len(text) > MAX_TEXT_CHARS:
        message = f"is {len(text)} characters long; the cap is {MAX_TEXT_CHARS}"
        raise ScenarioError("scenario", message)
    return _parse_document(_load_yaml(text))


def load_scenario(path: str | PathLike[str]) -> Scenario:
    """Read a .yaml, .yml or .json file into a Scenario."""
    file = Path(path)
    suffix = file.suffix.lower()
    if suffix not in (".yaml", ".yml", ".json"):
        raise ScenarioError(str(file), "must be a .yaml, .yml or .json file")
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(str(file), "no such file") from None
    except (OSError, UnicodeError) as exc:
        raise ScenarioError(str(file), f"cannot be read: {exc}") from None
    if suffix == ".json":
        return _parse_document(_load_json(text))
    return loads_scenario(text)


def canonical_json(obj: Any) -> str:
    """JSON with sorted keys and no whitespace: equal data, equal text."""
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def scenario_digest(scenario: Scenario) -> str:
    """sha256 hex of the canonical JSON of the scenario's source data."""
    text = canonical_json(scenario.source)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def scenario_to_data(scenario: Scenario) -> dict[str, Any]:
    """A fresh copy of the data the scenario was parsed from (safe to edit)."""
    return copy.deepcopy(dict(scenario.source))


# --- text -> data --------------------------------------------------------------------


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects a key given twice in one mapping (YAML keeps the last)."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node)
        try:
            duplicate = key in seen
        except TypeError:
            continue  # unhashable: construct_mapping reports it
        if duplicate:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _load_yaml(text: str) -> Any:
    try:
        return yaml.load(text, Loader=_StrictLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        if mark is None:
            raise ScenarioError("yaml", f"syntax error: {problem}") from None
        where = f"line {mark.line + 1}, column {mark.column + 1}"
        message = f"syntax error at {where}: {problem}"
        raise ScenarioError("yaml", message, line=mark.line + 1) from None
    except RecursionError:
        raise ScenarioError("yaml", "the document is nested too deeply") from None
    except ValueError as exc:  # a 5,000-digit number, a 30th of February
        raise ScenarioError("yaml", f"holds a value that cannot be read: {_reason(exc)}") from None


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key, value in pairs:
        if key in data:
            raise ScenarioError("json", f"duplicate key {key!r}")
        data[key] = value
    return data


def _load_json(text: str) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_reject_duplicate_keys)
    except json.JSONDecodeError as exc:
        message = f"syntax error at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        raise ScenarioError("json", message, line=exc.lineno) from None
    except RecursionError:
        raise ScenarioError("json", "the document is nested too deeply") from None
    except ValueError as exc:  # a number over Python's 4,300-digit limit
        raise ScenarioError("json", f"holds a value that cannot be read: {_reason(exc)}") from None


def _reason(exc: ValueError) -> str:
    return str(exc).split("; use sys.", 1)[0]  # not Python's advice on raising the limit


_UNENCODABLE = re.compile("[\x00\ud800-\udfff]")


def _check_unicode(root: Mapping[str, Any]) -> None:
    """Reject NUL and lone surrogates (which a JSON or YAML escape such as "\\ud800" makes)
    in any key or text: they cannot be encoded as UTF-8 or stored by PostgreSQL. Each
    container is visited once, so YAML aliases cost what their text costs."""
    stack: list[tuple[str, Any]] = [("", root)]
    seen: set[int] = set()
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            _check_string(value, path or "scenario")
        elif isinstance(value, Mapping | list | tuple) and id(value) not in seen:
            seen.add(id(value))
            items = list(value.items() if isinstance(value, Mapping) else enumerate(value))
            for key, item in reversed(items):
                if isinstance(key, str):
                    shown = _UNENCODABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", key)
                    _check_string(key, join(path, shown), what="the key")
                stack.append((join(path, key), item))


def _check_string(text: str, path: str, what: str = "the text") -> None:
    found = _UNENCODABLE.search(text)
    if found is None:
        return
    char = (
        "a NUL character"
        if found.group() == "\x00"
        else f"a lone surrogate U+{ord(found.group()):04X}"
    )
    raise ScenarioError(
        path,
        f"{what} holds {char} at position {found.start()}",
        allowed="Unicode text without NUL",
    )


def _parse_document(data: Any) -> Scenario:
    if data is None:
        raise ScenarioError("scenario", "is empty: expected a mapping with name and topics")
    return parse_scenario(data)


def _json_copy(data: Mapping[str, Any]) -> dict[str, Any]:
    try:
        copied: dict[str, Any] = json.loads(json.dumps(data, allow_nan=False))
        return copied
    except (TypeError, ValueError) as exc:  # unreachable for validated data; kept as a net
        raise ScenarioError("scenario", f"is not JSON-compatible: {exc}") from None


# --- broker and topics ---------------------------------------------------------------


def _broker_racks(raw: Any, brokers: int) -> tuple[str, ...]:
    """``broker_racks: [az-a, az-b, az-c]``: each broker's ``broker.rack``, in broker order."""
    if raw is None:
        return ()
    items = as_list(raw, "broker_racks", brokers, "racks")
    if len(items) != brokers:
        message = f"must give one rack per broker: {brokers}, got {len(items)}"
        raise ScenarioError("broker_racks", message)
    for k, item in enumerate(items):
        if not isinstance(item, str) or not _RACK.fullmatch(item):
            raise ScenarioError(
                join("broker_racks", k),
                f"must be a rack name, got {item!r}",
                allowed="1..64 letters, digits, '.', '_' or '-'",
            )
    return tuple(items)


_RACK = re.compile(r"[A-Za-z0-9._-]{1,64}")


def _parse_broker(raw: Any) -> BrokerSpec:
    values, spelled = resolve_config("broker", None, raw, "broker_config")
    check_broker(values, spelled)
    return BrokerSpec(config=values, **spec_fields("broker", None, values))


# --- topics --------------------------------------------------------------------------


def _parse_topics(root: Mapping[str, Any], brokers: int) -> dict[str, TopicSpec]:
    if root.get("topics") is None:
        raise ScenarioError("topics", "is required: list at least one topic")
    items = as_list(root["topics"], "topics", MAX_TOPICS, "topics")
    if not items:
        raise ScenarioError("topics", "must list at least one topic")
    topics: dict[str, TopicSpec] = {}
    for index, raw in enumerate(items):
        path = join("topics", index)
        topic = _parse_topic(raw, path, brokers)
        _check_topic_collision(topic.name, topics, path)
        topics[topic.name] = topic
    return topics


def _parse_topic(raw: Any, path: str, brokers: int) -> TopicSpec:
    data = as_mapping(raw, path, "a topic")
    check_keys(data, path, TOPIC_KEYS, "topic")
    name = _topic_name(data, path)
    partitions = get_int(data, "partitions", path, 1, MAX_PARTITIONS, default=1)
    replication = get_int(data, "replication_factor", path, 1, MAX_BROKERS, default=1)
    if replication > brokers:
        message = (
            f"Replication factor: {replication} larger than available brokers: {brokers}"
            " (InvalidReplicationFactorException); raise brokers or lower it"
        )
        raise ScenarioError(join(path, "replication_factor"), message, allowed=f"1..{brokers}")
    values, _ = resolve_config("topic", None, data.get("config"), join(path, "config"))
    fields = spec_fields("topic", None, values)
    return TopicSpec(name, partitions, replication, config=values, **fields)


def _topic_name(data: Mapping[str, Any], path: str) -> str:
    name = get_text(data, "name", path, 249)
    if not _TOPIC_NAME.fullmatch(name) or name in (".", ".."):
        message = (
            "a topic name uses only ASCII letters, digits, '.', '_' and '-' (1 to 249"
            f" characters, not '.' or '..'), got {describe(name)}"
        )
        raise ScenarioError(join(path, "name"), message)
    if name.startswith("__"):
        message = f"names starting with '__' are Kafka's internal topics, got {describe(name)}"
        raise ScenarioError(join(path, "name"), message)
    return name


def _check_topic_collision(name: str, topics: Mapping[str, TopicSpec], path: str) -> None:
    for index, other in enumerate(topics):
        if other == name:
            raise ScenarioError(join(path, "name"), f"duplicate topic name: topics[{index}]")
        if other.replace(".", "_") == name.replace(".", "_"):
            message = (
                f"topic {name!r} collides with {other!r} (topics[{index}]): Kafka treats"
                " '.' and '_' alike in metric names and rejects the second"
            )
            raise ScenarioError(join(path, "name"), message)


def _topic_ref(name: Any, path: str, topics: Mapping[str, TopicSpec]) -> TopicSpec:
    if isinstance(name, str) and name in topics:
        return topics[name]
    allowed = ", ".join(topics)
    message = f"no topic named {describe(name)} in topics (defined: {allowed})"
    raise ScenarioError(path, message, allowed=allowed, suggestion=closest(name, topics))


# --- producers and consumers ---------------------------------------------------------


def _entries(root: Mapping[str, Any], key: str, cap: int) -> list[Any]:
    raw = root.get(key)
    return [] if raw is None else as_list(raw, key, cap, key)


def _parse_producers(
    root: Mapping[str, Any], topics: Mapping[str, TopicSpec], duration_ms: int
) -> tuple[ProducerSpec, ...]:
    producers: list[ProducerSpec] = []
    for index, raw in enumerate(_entries(root, "producers", MAX_PRODUCERS)):
        path = join("producers", index)
        producer = _parse_producer(raw, path, topics, duration_ms)
        _check_unique_id(producer.id, path, producers, ())
        producers.append(producer)
    return tuple(producers)


def _parse_producer(
    raw: Any, path: str, topics: Mapping[str, TopicSpec], duration_ms: int
) -> ProducerSpec:
    data = as_mapping(raw, path, "a producer")
    check_keys(data, path, PRODUCER_KEYS, "producer")
    producer_id = get_id(data, "id", path)
    client = get_enum(data, "client", path, CLIENTS, "java")
    topic = _topic_ref(get_text(data, "topic", path, 249), join(path, "topic"), topics)
    values, spelled = resolve_config("producer", client, data.get("config"), join(path, "config"))
    check_producer(values, spelled, client, path)
    fields = spec_fields("producer", client, values)
    if client == "librdkafka" and fields["delivery_timeout_ms"] == 0:
        fields["delivery_timeout_ms"] = INT_MAX  # message.timeout.ms 0 = infinite
    return ProducerSpec(
        id=producer_id,
        topic=topic.name,
        messages=get_int(data, "messages", path, 0, MAX_MESSAGES),
        rate_per_s=get_rate(data, "rate_per_s", path, MAX_RATE_PER_S),
        rate_changes=_rate_changes(data, path, duration_ms),
        start_ms=get_int(data, "start_ms", path, 0, duration_ms, default=0),
        key=_key_template(data, path),
        value=_value_template(data, path),
        client=client,
        partition=get_optional_int(data, "partition", path, 0, topic.partitions - 1),
        transactions=parse_transaction_plan(data, path, fields["transactional_id"], duration_ms),
        config=values,
        **fields,
    )


MAX_RATE_CHANGES = 50


def _rate_changes(
    data: Mapping[str, Any], path: str, duration_ms: int
) -> tuple[tuple[int, float, bool], ...]:
    """``rate_changes: [{at_ms, rate_per_s}]``: a burst, a lull (rate 0) or a new pace."""

    def rate(item: Mapping[str, Any], where: str) -> float:
        value = item.get("rate_per_s")
        if value == 0 and not isinstance(value, bool):
            return 0.0  # a pause
        return get_rate(item, "rate_per_s", where, MAX_RATE_PER_S)

    return _changes(data, "rate_changes", "rate_per_s", path, duration_ms, rate)


def _processing_changes(
    data: Mapping[str, Any], path: str, duration_ms: int
) -> tuple[tuple[int, int, bool], ...]:
    """``processing_changes: [{at_ms, processing_ms}]``: the consumer slows down (or
    speeds up) from then on."""

    def processing(item: Mapping[str, Any], where: str) -> int:
        return get_int(item, "processing_ms", where, 0, MAX_PROCESSING_MS)

    return _changes(data, "processing_changes", "processing_ms", path, duration_ms, processing)


def _changes(
    data: Mapping[str, Any], key: str, value_key: str, path: str, duration_ms: int, value: Any
) -> tuple[Any, ...]:
    """A list of ``{at_ms, <value_key>, injected?}`` changes, sorted by time."""
    items = as_list(data.get(key, []), join(path, key), MAX_RATE_CHANGES, key.replace("_", " "))
    changes = []
    for index, raw in enumerate(items):
        where = join(join(path, key), index)
        item = as_mapping(raw, where, f"an entry of {key}")
        check_keys(item, where, ("at_ms", value_key, "injected"), key)
        at_ms = get_int(item, "at_ms", where, 0, duration_ms)
        changes.append((at_ms, value(item, where), get_bool(item, "injected", where, False)))
    return tuple(sorted(changes, key=lambda c: c[0]))


def _key_template(data: Mapping[str, Any], path: str) -> str | None:
    raw = data.get("key")
    return None if raw is None else check_template(raw, join(path, "key"))


def _value_template(data: Mapping[str, Any], path: str) -> str:
    if "value" not in data:
        return "message {i}"
    if data["value"] is None:
        message = "null values (tombstones) are not modelled; use a text template"
        raise ScenarioError(join(path, "value"), message)
    return check_template(data["value"], join(path, "value"))


def _parse_consumers(
    root: Mapping[str, Any],
    topics: Mapping[str, TopicSpec],
    duration_ms: int,
    producers: tuple[ProducerSpec, ...],
) -> tuple[ConsumerSpec, ...]:
    consumers: list[ConsumerSpec] = []
    for index, raw in enumerate(_entries(root, "consumers", MAX_CONSUMERS)):
        path = join("consumers", index)
        consumer = _parse_consumer(raw, path, topics, duration_ms)
        _check_unique_id(consumer.id, path, producers, consumers)
        _check_static_member(consumer, path, consumers)
        _check_group_protocol(consumer, path, consumers)
        consumers.append(consumer)
    return tuple(consumers)


def _parse_consumer(
    raw: Any, path: str, topics: Mapping[str, TopicSpec], duration_ms: int
) -> ConsumerSpec:
    data = as_mapping(raw, path, "a consumer")
    check_keys(data, path, CONSUMER_KEYS, "consumer")
    consumer_id = get_id(data, "id", path)
    group = get_name(data, "group", path, 249)
    subscriptions = _subscriptions(data, path, topics)
    client = get_enum(data, "client", path, CLIENTS, "java")
    piped = data.get("pipeline") is not None
    commit = get_enum(
        data, "commit", path, COMMIT_STRATEGIES, "sync-per-batch" if piped else "auto"
    )
    values, spelled = resolve_config("consumer", client, data.get("config"), join(path, "config"))
    pipeline = parse_pipeline(data, path, topics, subscriptions, values, duration_ms)
    check_consumer(values, spelled, client, commit, path)
    return ConsumerSpec(
        id=consumer_id,
        group=group,
        topics=subscriptions,
        start_ms=get_int(data, "start_ms", path, 0, duration_ms, default=0),
        client=client,
        processing_ms=get_int(data, "processing_ms", path, 0, MAX_PROCESSING_MS, default=0),
        commit=commit,
        processing_changes=_processing_changes(data, path, duration_ms),
        injected=get_bool(data, "injected", path, False),
        assignors=_assignor_names(values["partition.assignment.strategy"]),
        group_instance_id=values["group.instance.id"],
        commit_on_revoke=get_bool(data, "commit_on_revoke", path, False),
        processing=parse_processing(
            data.get("processing"), join(path, "processing"), subscriptions, topics
        ),
        pipeline=pipeline,
        config=values,
        **spec_fields("consumer", client, values),
    )


def _assignor_names(value: str) -> tuple[str, ...]:
    """Short names in preference order: RangeAssignor -> range, CooperativeStickyAssignor ->
    cooperative-sticky (librdkafka already uses the short names)."""
    names = []
    for item in value.split(","):
        short = item.strip().rsplit(".", 1)[-1]
        short = re.sub(r"Assignor$", "", short)
        short = re.sub(r"(?<!^)(?=[A-Z])", "-", short).lower()
        names.append({"round-robin": "roundrobin"}.get(short, short))
    return tuple(names)


def _subscriptions(
    data: Mapping[str, Any], path: str, topics: Mapping[str, TopicSpec]
) -> tuple[str, ...]:
    where = join(path, "topics")
    if data.get("topics") is None:
        raise ScenarioError(where, "is required: the list of topics to subscribe to")
    names = as_list(data["topics"], where, MAX_TOPICS, "topic names")
    if not names:
        raise ScenarioError(where, "must name at least one topic")
    for index, name in enumerate(names):
        _topic_ref(name, join(where, index), topics)
        if name in names[:index]:
            raise ScenarioError(join(where, index), f"lists {name!r} twice")
    return tuple(names)


def _check_unique_id(new_id: str, path: str, producers: Any, consumers: Any) -> None:
    for kind, items in (("producers", producers), ("consumers", consumers)):
        for index, item in enumerate(items):
            if item.id == new_id:
                message = (
                    f"duplicate id {new_id!r}: already used by {kind}[{index}] (ids are"
                    " unique across producers and consumers)"
                )
                raise ScenarioError(join(path, "id"), message)


def _check_group_protocol(consumer: ConsumerSpec, path: str, earlier: list[ConsumerSpec]) -> None:
    """One protocol per group, and (consumer protocol) one subscription per group: the
    online upgrade of a classic group and the heterogeneous uniform assignor are not
    modelled."""
    for index, other in enumerate(earlier):
        if other.group != consumer.group:
            continue
        if other.group_protocol != consumer.group_protocol:
            message = (
                f"is {consumer.group_protocol!r} but consumers[{index}] in group"
                f" {consumer.group!r} uses {other.group_protocol!r}; mixed groups (KIP-848's"
                " online upgrade of a classic group) are not modelled: give every member of"
                " a group the same group.protocol"
            )
            raise ScenarioError(join(path, "config.group.protocol"), message)
        if consumer.group_protocol == "consumer" and set(other.topics) != set(consumer.topics):
            message = (
                f"must match consumers[{index}]'s topics {list(other.topics)} in group"
                f" {consumer.group!r}: under group.protocol=consumer the playground models"
                " the uniform assignor for groups whose members all subscribe to the same"
                " topics"
            )
            raise ScenarioError(join(path, "topics"), message)
        if (
            consumer.group_protocol == "consumer"
            and other.remote_assignor != consumer.remote_assignor
        ):
            message = (
                f"differs from consumers[{index}]'s in group {consumer.group!r}; give every"
                " member the same group.remote.assignor"
            )
            raise ScenarioError(join(path, "config.group.remote.assignor"), message)


def _check_static_member(consumer: ConsumerSpec, path: str, earlier: list[ConsumerSpec]) -> None:
    instance = consumer.config["group.instance.id"]
    for index, other in enumerate(earlier):
        same_group = other.group == consumer.group
        if instance and same_group and other.config["group.instance.id"] == instance:
            message = (
                f"{instance!r} is already the group.instance.id of consumers[{index}] in the"
                " same group; the second member would fence the first (FENCED_INSTANCE_ID)"
            )
            raise ScenarioError(join(path, "config.group.instance.id"), message)
