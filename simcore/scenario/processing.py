"""A consumer's ``processing:`` block: which records fail, and what the application does
about it (issue 15). Parsed into ``spec.ProcessingSpec``; ``expand`` then adds what the
error handling needs in the cluster, as the frameworks do:

- ``dead_letter``: Spring's DeadLetterPublishingRecoverer publishes a record it gives up
  on to ``<topic>.DLT``, *the same partition* as the original (its default destination
  resolver), so the DLT needs at least the source's partitions.
- ``retry_topics``: Spring's @RetryableTopic (``TopicSuffixingStrategy.
  SUFFIX_WITH_DELAY_VALUE``) forwards a failed record to ``<topic>-retry-<delay>``, one
  topic per back-off delay, and at last to ``<topic>-dlt``; each retry topic has its own
  listener container, whose group id is the main one with the topic's suffix, and which
  processes a record only once its back-off is due.

Topics the scenario does not declare are created like the source topic (Spring creates
them with ``autoCreateTopics``); retry listeners are generated as consumers
``<id>-retry-<delay>`` in group ``<group>-retry-<delay>``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

from simcore.kernel.errors import ScenarioError
from simcore.scenario.checks import (
    as_list,
    as_mapping,
    check_keys,
    get_enum,
    get_int,
    get_optional_int,
    get_text,
    join,
)
from simcore.scenario.kafka_config import describe
from simcore.scenario.spec import (
    ON_FAILURE,
    SINKS,
    ConsumerSpec,
    FailureRule,
    ProcessingSpec,
    TopicSpec,
)

PROCESSING_KEYS = ("failures", "failure_rate", "rate_fails", "on_failure", "max_attempts",
                   "backoff_ms", "dead_letter_topic", "retry_delays", "sink")  # fmt: skip
RULE_KEYS = ("key", "topic", "partition", "offset", "fails")
MAX_RULES, MAX_ATTEMPTS, MAX_BACKOFF_MS, MAX_RETRY_TOPICS = 100, 1000, 600_000, 5


def parse_processing(
    raw: Any, path: str, subscriptions: tuple[str, ...], topics: Mapping[str, TopicSpec]
) -> ProcessingSpec | None:
    if raw is None:
        return None
    data = as_mapping(raw, path, "the processing block")
    check_keys(data, path, PROCESSING_KEYS, "processing")
    on_failure = get_enum(data, "on_failure", path, ON_FAILURE, "retry")
    delays = _retry_delays(data, path, on_failure)
    if on_failure == "retry_topics" and len(subscriptions) != 1:
        message = "retry topics are set up per listener of one topic; subscribe to one topic"
        raise ScenarioError(join(path, "on_failure"), message, allowed="one topic in topics")
    return ProcessingSpec(
        failures=_rules(data, path, subscriptions, topics),
        failure_rate=_rate(data, path),
        rate_fails=_attempts(data, "rate_fails", path, None, "always"),
        on_failure=on_failure,
        max_attempts=_max_attempts(data, path, on_failure),
        backoff_ms=get_int(data, "backoff_ms", path, 0, MAX_BACKOFF_MS, default=0),
        dead_letter_topic=_topic_name(data, path, on_failure),
        retry_delays=delays,
        sink=get_enum(data, "sink", path, SINKS, "none"),
    )


def _rules(
    data: Mapping[str, Any],
    path: str,
    subscriptions: tuple[str, ...],
    topics: Mapping[str, TopicSpec],
) -> tuple[FailureRule, ...]:
    raw = data.get("failures")
    if raw is None:
        return ()
    out = []
    for index, item in enumerate(as_list(raw, join(path, "failures"), MAX_RULES, "failures")):
        where = join(join(path, "failures"), index)
        rule = as_mapping(item, where, "a failing record: {key: ...} or {partition, offset}")
        check_keys(rule, where, RULE_KEYS, "failure")
        key = _optional_text(rule, "key", where, 200)
        topic = _optional_text(rule, "topic", where, 249)
        if topic is not None and topic not in subscriptions:
            allowed = ", ".join(subscriptions)
            message = f"the consumer does not read {describe(topic)} (it reads {allowed})"
            raise ScenarioError(join(where, "topic"), message, allowed=allowed)
        offset = get_optional_int(rule, "offset", where, 0, 2**62)
        partition = get_optional_int(rule, "partition", where, 0, 63)
        if (key is None) == (offset is None):
            message = "name the failing record by key, or by offset (with partition, topic)"
            raise ScenarioError(where, message, allowed="key, or offset [partition, topic]")
        if partition is not None and offset is None:
            raise ScenarioError(join(where, "partition"), "goes with offset", allowed="offset")
        widest = max(topics[t].partitions for t in ([topic] if topic else subscriptions))
        if partition is not None and partition >= widest:
            message = f"no such partition: {topic or 'its topics'} have {widest}"
            raise ScenarioError(join(where, "partition"), message, allowed=f"0..{widest - 1}")
        fails = _attempts(rule, "fails", where, None, "always")
        out.append(
            FailureRule(key=key, topic=topic, partition=partition, offset=offset, fails=fails)
        )
    return tuple(out)


def _optional_text(data: Mapping[str, Any], key: str, path: str, max_len: int) -> str | None:
    return None if data.get(key) is None else get_text(data, key, path, max_len)


def _attempts(
    data: Mapping[str, Any], key: str, path: str, default: int | None, forever: str
) -> int | None:
    """A number of attempts (1..1000), or ``forever`` ("always" / "unlimited") = None."""
    value = data.get(key)
    if value is None:
        return default
    if value == forever:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ATTEMPTS:
        message = f"must be {forever!r} or an integer between 1 and {MAX_ATTEMPTS}"
        raise ScenarioError(
            join(path, key),
            f"{message}, got {describe(value)}",
            allowed=f"{forever}, 1..{MAX_ATTEMPTS}",
        )
    return value


def _rate(data: Mapping[str, Any], path: str) -> float:
    value = data.get("failure_rate", 0.0)
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok or not math.isfinite(value) or not 0 <= value <= 1:
        message = f"must be a number from 0 to 1 (the share of records), got {describe(value)}"
        raise ScenarioError(join(path, "failure_rate"), message, allowed="0..1")
    return float(value)


def _max_attempts(data: Mapping[str, Any], path: str, on_failure: str) -> int | None:
    if on_failure == "skip":
        if data.get("max_attempts") not in (None, 1):
            message = "skip gives up at the first failure: leave max_attempts out (or 1)"
            raise ScenarioError(join(path, "max_attempts"), message, allowed="1")
        return 1
    if on_failure == "retry_topics":
        if data.get("max_attempts") is not None:
            message = "with retry_topics the attempts are one per topic: set retry_delays"
            raise ScenarioError(join(path, "max_attempts"), message, allowed="retry_delays")
        return 1  # the main listener tries once, then forwards
    attempts = _attempts(data, "max_attempts", path, 10, "unlimited")
    if attempts is None and on_failure == "dead_letter":
        message = "a dead-letter topic receives what is given up on: set a number of attempts"
        raise ScenarioError(join(path, "max_attempts"), message, allowed=f"1..{MAX_ATTEMPTS}")
    return attempts


def _retry_delays(data: Mapping[str, Any], path: str, on_failure: str) -> tuple[int, ...]:
    raw = data.get("retry_delays")
    where = join(path, "retry_delays")
    if on_failure != "retry_topics":
        if raw is not None:
            message = "retry_delays go with on_failure: retry_topics"
            raise ScenarioError(where, message, allowed="on_failure: retry_topics")
        return ()
    if raw is None:
        raise ScenarioError(where, "is required with retry_topics, e.g. [1000, 5000]")
    items = as_list(raw, where, MAX_RETRY_TOPICS, "retry delays")
    delays = tuple(get_int({"d": v}, "d", f"{where}[{i}]", 1, MAX_BACKOFF_MS) for i, v in
                   enumerate(items))  # fmt: skip
    if not delays or len(set(delays)) != len(delays):
        message = "list one or more different delays in ms, e.g. [1000, 5000]"
        raise ScenarioError(where, message, allowed=f"1 to {MAX_RETRY_TOPICS} distinct delays")
    return delays


def _topic_name(data: Mapping[str, Any], path: str, on_failure: str) -> str | None:
    name = _optional_text(data, "dead_letter_topic", path, 249)
    if name is not None and on_failure not in ("dead_letter", "retry_topics"):
        message = "a dead-letter topic goes with on_failure: dead_letter or retry_topics"
        raise ScenarioError(join(path, "dead_letter_topic"), message)
    return name


# --- the topics and listeners the error handling needs ----------------------------------


def dead_letter_topic(spec: ProcessingSpec, source: str) -> str:
    if spec.dead_letter_topic is not None:
        return spec.dead_letter_topic
    return f"{source}.DLT" if spec.on_failure == "dead_letter" else f"{source}-dlt"


def retry_topic(source: str, delay_ms: int) -> str:
    return f"{source}-retry-{delay_ms}"


def expand(
    topics: dict[str, TopicSpec], consumers: tuple[ConsumerSpec, ...]
) -> tuple[dict[str, TopicSpec], tuple[ConsumerSpec, ...]]:
    """The scenario's topics and consumers plus the DLTs, retry topics and retry
    listeners that the consumers' processing blocks imply (in the consumers' order)."""
    out = list(consumers)
    taken = {c.id for c in consumers}
    first_of_group: dict[str, int] = {}
    for index, consumer in enumerate(consumers):
        spec = consumer.processing
        if spec is None:
            continue
        path = join(join("consumers", index), "processing")
        _check_same_code(consumers, index, first_of_group, path)
        app = dataclasses.replace(spec, app=consumer.group)
        main = dataclasses.replace(consumer, processing=app)
        if spec.on_failure == "dead_letter":
            for source in consumer.topics:
                _ensure_topic(topics, dead_letter_topic(spec, source), topics[source], path)
        elif spec.on_failure == "retry_topics":
            main, listeners = _retry_listeners(main, topics, path)
            for listener in listeners:
                if listener.id in taken:
                    message = (
                        f"the retry listener's id {listener.id!r} is taken; rename that consumer"
                    )
                    raise ScenarioError(path, message)
                taken.add(listener.id)
            out.extend(listeners)
        out[index] = main
    return topics, tuple(out)


def _check_same_code(
    consumers: tuple[ConsumerSpec, ...], index: int, first_of_group: dict[str, int], path: str
) -> None:
    """The members of a group with a processing block run the same application: their
    blocks (and, for retry topics, their topics) must agree."""
    consumer = consumers[index]
    earlier = first_of_group.setdefault(consumer.group, index)
    other = consumers[earlier]
    if earlier != index and (
        other.processing != consumer.processing or other.topics != consumer.topics
    ):
        message = (
            f"differs from consumers[{earlier}]'s ({other.id}) in group {consumer.group!r}: a"
            " group's members run the same application; give them the same processing block"
            " and topics, or another group"
        )
        raise ScenarioError(path, message)


def _retry_listeners(
    main: ConsumerSpec, topics: dict[str, TopicSpec], path: str
) -> tuple[ConsumerSpec, list[ConsumerSpec]]:
    """The main listener (now knowing its first retry topic) and one per retry topic."""
    spec = main.processing
    assert spec is not None
    source = main.topics[0]
    chain = [retry_topic(source, d) for d in spec.retry_delays] + [dead_letter_topic(spec, source)]
    for name in chain:
        _ensure_topic(topics, name, topics[source], path)
    main_spec = dataclasses.replace(spec, next_topic=chain[0])
    listeners = []
    for stage, delay in enumerate(spec.retry_delays, start=1):
        suffix = f"-retry-{delay}"
        listeners.append(
            dataclasses.replace(
                main,
                id=f"{main.id}{suffix}",
                group=f"{main.group}{suffix}",
                topics=(chain[stage - 1],),
                group_instance_id=None,
                processing=dataclasses.replace(
                    main_spec, stage=stage, delay_ms=delay, next_topic=chain[stage]
                ),
            )
        )
    return dataclasses.replace(main, processing=main_spec), listeners


def _ensure_topic(topics: dict[str, TopicSpec], name: str, source: TopicSpec, path: str) -> None:
    existing = topics.get(name)
    if existing is None:
        topics[name] = TopicSpec(
            name,
            source.partitions,
            source.replication_factor,
            min_insync_replicas=source.min_insync_replicas,
        )
        return
    if existing.partitions < source.partitions:
        message = (
            f"{name!r} has {existing.partitions} partitions, fewer than {source.name!r}"
            f" ({source.partitions}): a failed record goes to the same partition number"
        )
        raise ScenarioError(path, message, allowed=f"at least {source.partitions} partitions")
