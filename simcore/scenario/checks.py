"""Field readers and the client families' cross-property rules, for `simcore.scenario.parse`.

Readers take a mapping, a key and the mapping's path, and return a checked value or raise
a one-line `ScenarioError` naming the field, the value and what is allowed.

The rules reproduce what each client does when it is constructed: the Java producer's
idempotence and delivery-timeout post-processing ([J] `producer/ProducerConfig.java`
`postProcessAndValidateIdempotenceConfigs`, `KafkaProducer.configureDeliveryTimeout`),
librdkafka's `rd_kafka_conf_finalize` ([R] `src/rdkafka_conf.c`), the heartbeat check in
[J] `consumer/internals/Heartbeat.java` and the broker's session-timeout bounds.
Where a client silently adjusts a default, so do we; where it throws, we raise.
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from simcore.kernel.errors import ScenarioError
from simcore.scenario.kafka_config import CATALOGS, INT_MAX, closest, describe
from simcore.scenario.spec import (
    BROKER_FAULTS,
    CRASH_POINTS,
    FAULT_ACTIONS,
    IDEMPOTENT_PRODUCE_ERRORS,
    PRODUCE_ERRORS,
    PRODUCER_FAULTS,
    BrokerIsolation,
    BrokerKill,
    CommitFail,
    CommitTimeout,
    ConsumerCrash,
    ConsumerSpec,
    ConsumerStop,
    DelayedProduceResponse,
    DroppedProduceResponse,
    FaultSpec,
    ProduceError,
    SlowFollower,
    TopicSpec,
)

MISSING: Any = object()
TEMPLATE_MAX = 200
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_FORMAT_SPEC = re.compile(r"0?\d{0,2}[dxX]?")  # e.g. {i:05d}; wide specs could blow up memory


def join(path: str, key: str | int) -> str:
    """`topics` + 0 -> `topics[0]`; `topics[0]` + `name` -> `topics[0].name`."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


# --- structure -----------------------------------------------------------------------


def as_mapping(value: Any, path: str, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ScenarioError(path, f"must be a mapping ({what}), got {describe(value)}")
    return value


def as_list(value: Any, path: str, cap: int, what: str) -> list[Any]:
    if not isinstance(value, (list, tuple)):
        raise ScenarioError(path, f"must be a list of {what}, got {describe(value)}")
    if len(value) > cap:
        message = f"at most {cap} {what} (the playground's cap), got {len(value)}"
        raise ScenarioError(path, message, allowed=f"0..{cap} entries")
    return list(value)


def check_keys(data: Mapping[Any, Any], path: str, allowed: Sequence[str], what: str) -> None:
    """Reject keys that are not text or not among `allowed`, suggesting the closest one."""
    for key in data:
        if not isinstance(key, str):
            raise ScenarioError(path or "scenario", f"keys must be text, got {describe(key)}")
        if key in allowed:
            continue
        where, names = join(path, key), ", ".join(allowed)
        if any(key in cat.index for cat in CATALOGS.values()):
            place = join(path, "config") if path else _top_level_home(key)
            message = f"{key} is a Kafka property: put it under {place}"
            raise ScenarioError(where, message, allowed=names)
        suggestion = closest(key, allowed)
        raise ScenarioError(where, f"unknown {what} field", allowed=names, suggestion=suggestion)


def _top_level_home(key: str) -> str:
    if key in CATALOGS[("broker", None)].index:
        return "broker_config"
    return "the config of a topic, producer or consumer"


# --- scalar readers ------------------------------------------------------------------


def _get(data: Mapping[str, Any], key: str, path: str, default: Any) -> Any:
    value = data.get(key)
    if value is None:
        if default is MISSING:
            raise ScenarioError(join(path, key), "is required")
        return default
    return value


def get_int(
    data: Mapping[str, Any], key: str, path: str, low: int, high: int, default: Any = MISSING
) -> int:
    value = _get(data, key, path, default)
    if isinstance(value, bool) or not isinstance(value, int):
        message = f"must be an integer between {low} and {high}, got {describe(value)}"
        raise ScenarioError(join(path, key), message, allowed=f"{low}..{high}")
    if not low <= value <= high:
        message = f"must be an integer between {low} and {high}, got {value}"
        raise ScenarioError(join(path, key), message, allowed=f"{low}..{high}")
    return value


def get_optional_int(
    data: Mapping[str, Any], key: str, path: str, low: int, high: int
) -> int | None:
    """An integer in low..high, or None when the key is absent or null."""
    if data.get(key) is None:
        return None
    return get_int(data, key, path, low, high)


def get_rate(data: Mapping[str, Any], key: str, path: str, high: float) -> float:
    value = _get(data, key, path, MISSING)
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok or not math.isfinite(value) or not 0 < value <= high:
        message = f"must be a number greater than 0 and at most {high:g}, got {describe(value)}"
        raise ScenarioError(join(path, key), message, allowed=f"0 < x <= {high:g}")
    return float(value)


def get_bool(data: Mapping[str, Any], key: str, path: str, default: bool) -> bool:
    value = _get(data, key, path, default)
    if not isinstance(value, bool):
        raise ScenarioError(join(path, key), f"must be true or false, got {describe(value)}")
    return value


def get_text(
    data: Mapping[str, Any], key: str, path: str, max_len: int, default: Any = MISSING
) -> str:
    value = _get(data, key, path, default)
    if not isinstance(value, str):
        raise ScenarioError(join(path, key), f"must be text, got {describe(value)}")
    if len(value) > max_len:
        message = f"must be at most {max_len} characters, got {len(value)}"
        raise ScenarioError(join(path, key), message, allowed=f"0..{max_len} characters")
    return value


def get_name(data: Mapping[str, Any], key: str, path: str, max_len: int = 200) -> str:
    value = get_text(data, key, path, max_len)
    if not value.strip():
        raise ScenarioError(join(path, key), "must not be empty")
    return value


def get_id(data: Mapping[str, Any], key: str, path: str) -> str:
    value = get_text(data, key, path, 100)
    if not _ID.fullmatch(value):
        message = (
            "must start with a letter or digit and use only letters, digits, '.', '_' and"
            f" '-' (at most 100 characters), got {describe(value)}"
        )
        raise ScenarioError(join(path, key), message)
    return value


def get_enum(
    data: Mapping[str, Any], key: str, path: str, choices: Sequence[str], default: Any = MISSING
) -> str:
    value = _get(data, key, path, default)
    if value not in choices or not isinstance(value, str):
        allowed = ", ".join(choices)
        message = f"must be one of {allowed}, got {describe(value)}"
        suggestion = closest(value, choices)
        raise ScenarioError(join(path, key), message, allowed=allowed, suggestion=suggestion)
    return value


def check_template(value: Any, path: str) -> str:
    """A key/value template: text with `{i}` (the message index) as the only placeholder."""
    if not isinstance(value, str):
        raise ScenarioError(
            path, f"must be a text template such as 'order-{{i}}', got {describe(value)}"
        )
    if len(value) > TEMPLATE_MAX:
        message = f"must be at most {TEMPLATE_MAX} characters, got {len(value)}"
        raise ScenarioError(path, message)
    try:
        parts = list(string.Formatter().parse(value))
    except ValueError as exc:
        message = f"is not a valid template ({exc}); write {{{{ and }}}} for literal braces"
        raise ScenarioError(path, message) from None
    for _, name, spec, conversion in parts:
        if name is None:
            continue
        if name != "i" or conversion or not _FORMAT_SPEC.fullmatch(spec or ""):
            shown = "{" + name + (f"!{conversion}" if conversion else "")
            shown += (f":{spec}" if spec else "") + "}"
            message = f"unsupported placeholder {shown}; only {{i}} (the message index) is"
            raise ScenarioError(path, message + " supported, e.g. {i} or {i:05d}")
    return value


# --- broker rules --------------------------------------------------------------------


def check_broker(values: Mapping[str, Any], spelled: Mapping[str, str]) -> None:
    if values["replica.fetch.wait.max.ms"] > values["replica.lag.time.max.ms"]:
        message = (
            "replica.fetch.wait.max.ms should always be less than or equal to"
            " replica.lag.time.max.ms to prevent frequent changes in ISR"
        )
        name = spelled.get("replica.fetch.wait.max.ms", "replica.fetch.wait.max.ms")
        raise ScenarioError(join("broker_config", name), message)


# --- consumer rules ------------------------------------------------------------------

_SESSION_MIN, _SESSION_MAX = 6000, 1_800_000  # broker group.{min,max}.session.timeout.ms
MANUAL_COMMITS = "sync-per-record, sync-per-batch, async, async-with-retry"


def _at(path: str, spelled: Mapping[str, str], name: str) -> str:
    return join(join(path, "config"), spelled.get(name, name))


def check_consumer(
    values: Mapping[str, Any], spelled: Mapping[str, str], client: str, commit: str, path: str
) -> None:
    """Cross-property rules of one consumer's resolved config and commit strategy."""
    _check_group_protocol_props(values, spelled, path)
    session = values["session.timeout.ms"]
    heartbeat = values["heartbeat.interval.ms"]
    if not _SESSION_MIN <= session <= _SESSION_MAX:
        message = (
            f"must be between {_SESSION_MIN} and {_SESSION_MAX}, got {session}: the broker's"
            " group.min.session.timeout.ms / group.max.session.timeout.ms defaults reject"
            " the JoinGroup with INVALID_SESSION_TIMEOUT"
        )
        raise ScenarioError(_at(path, spelled, "session.timeout.ms"), message)
    if heartbeat >= session:
        message = (
            "Heartbeat must be set lower than the session timeout: heartbeat.interval.ms"
            f" {heartbeat} >= session.timeout.ms {session}"
        )
        raise ScenarioError(_at(path, spelled, "heartbeat.interval.ms"), message)
    if client == "librdkafka":
        _check_librdkafka_consumer(values, spelled, path)
    _check_commit_mode(values, client, commit, path)


# ConsumerConfig's CONSUMER_PROTOCOL_UNSUPPORTED_CONFIGS / CLASSIC_PROTOCOL_UNSUPPORTED_CONFIGS:
# the Java client throws ConfigException when one is set under the other protocol.
_CLASSIC_ONLY = ("partition.assignment.strategy", "heartbeat.interval.ms", "session.timeout.ms")


def _check_group_protocol_props(
    values: Mapping[str, Any], spelled: Mapping[str, str], path: str
) -> None:
    consumer_protocol = values["group.protocol"] == "consumer"
    if consumer_protocol:
        for name in _CLASSIC_ONLY:
            if name in spelled:
                message = (
                    "cannot be set with group.protocol=consumer (the Java client throws"
                    " ConfigException): the broker assigns the partitions"
                    " (group.remote.assignor) and sets the heartbeat interval and session"
                    " timeout (broker_config group.consumer.heartbeat.interval.ms,"
                    " group.consumer.session.timeout.ms)"
                )
                raise ScenarioError(_at(path, spelled, name), message)
    elif "group.remote.assignor" in spelled:
        message = (
            "only applies with group.protocol=consumer (the Java client throws"
            " ConfigException under classic); set group.protocol: consumer, or choose a"
            " client-side assignor with partition.assignment.strategy"
        )
        raise ScenarioError(_at(path, spelled, "group.remote.assignor"), message)


def _check_librdkafka_consumer(
    values: Mapping[str, Any], spelled: Mapping[str, str], path: str
) -> None:
    if values["max.poll.interval.ms"] < values["session.timeout.ms"]:
        message = "`max.poll.interval.ms` must be >= `session.timeout.ms`"
        raise ScenarioError(_at(path, spelled, "max.poll.interval.ms"), message)
    assignors = values["partition.assignment.strategy"].split(",")
    if "cooperative-sticky" in assignors and len(assignors) > 1:
        message = (
            "all partition.assignment.strategy assignors must have the same protocol type:"
            " cooperative-sticky cannot be listed with range or roundrobin"
        )
        raise ScenarioError(_at(path, spelled, "partition.assignment.strategy"), message)


def _check_commit_mode(values: Mapping[str, Any], client: str, commit: str, path: str) -> None:
    if commit != "auto":
        return
    if not values["enable.auto.commit"]:
        message = (
            "auto relies on the client's auto-commit, but config enable.auto.commit is"
            f" false; set enable.auto.commit: true, or pick {MANUAL_COMMITS}"
        )
        raise ScenarioError(join(path, "commit"), message, allowed=MANUAL_COMMITS)
    if client == "librdkafka" and values["auto.commit.interval.ms"] == 0:
        message = (
            "auto needs auto.commit.interval.ms > 0: in librdkafka 0 disables the auto-commit timer"
        )
        raise ScenarioError(join(path, "commit"), message, allowed=MANUAL_COMMITS)


# --- producer rules ------------------------------------------------------------------


def check_producer(
    values: dict[str, Any], spelled: Mapping[str, str], client: str, path: str
) -> None:
    """Apply the client's construction-time rules to `values` (in place), or raise."""
    if client == "java":
        _java_idempotence(values, spelled, path)
        _java_delivery_timeout(values, spelled, path)
    else:
        _librdkafka_transactional(values, spelled, path)
        _librdkafka_idempotence(values, spelled, path)
        _librdkafka_linger(values, spelled, path)
    _transactional(values, spelled, path)


TRANSACTION_MAX_TIMEOUT_MS = 900_000  # the broker's transaction.max.timeout.ms default


def _transactional(values: dict[str, Any], spelled: Mapping[str, str], path: str) -> None:
    """A transactional.id needs idempotence ([J] ProducerConfig
    .postProcessAndValidateIdempotenceConfigs: "Cannot set a transactional.id without also
    enabling idempotence."), and a transaction.timeout.ms the broker accepts (above
    transaction.max.timeout.ms InitProducerId fails: INVALID_TRANSACTION_TIMEOUT)."""
    if values["transactional.id"] is None:
        return
    if values["transactional.id"] == "":
        raise ScenarioError(_at(path, spelled, "transactional.id"), "must not be empty")
    if not values["enable.idempotence"]:
        message = "Cannot set a transactional.id without also enabling idempotence."
        name = "enable.idempotence" if "enable.idempotence" in spelled else "acks"
        raise ScenarioError(_at(path, spelled, name), message)
    timeout = values["transaction.timeout.ms"]
    if timeout > TRANSACTION_MAX_TIMEOUT_MS:
        message = (
            f"{timeout} is above the broker's transaction.max.timeout.ms"
            f" ({TRANSACTION_MAX_TIMEOUT_MS}): initTransactions() would fail with"
            " INVALID_TRANSACTION_TIMEOUT"
        )
        raise ScenarioError(_at(path, spelled, "transaction.timeout.ms"), message)


def _librdkafka_transactional(
    values: dict[str, Any], spelled: Mapping[str, str], path: str
) -> None:
    """librdkafka: transactional.id turns idempotence on unless it is explicitly off
    ([R] src/rdkafka_conf.c rd_kafka_conf_finalize)."""
    if values["transactional.id"] is None:
        return
    if "enable.idempotence" in spelled and not values["enable.idempotence"]:
        message = "`transactional.id` requires `enable.idempotence=true`"
        raise ScenarioError(_at(path, spelled, "enable.idempotence"), message)
    values["enable.idempotence"] = True


_JAVA_RETRIES = "Must set retries to non-zero when using the idempotent producer."
_JAVA_ACKS = (
    "Must set acks to all in order to use the idempotent producer. Otherwise we cannot"
    " guarantee idempotence."
)


def _java_idempotence(values: dict[str, Any], spelled: Mapping[str, str], path: str) -> None:
    # Explicit enable.idempotence=true + a conflict throws; the implicit default is
    # silently switched off instead (Kafka 3.2+). max.in.flight > 5 throws either way.
    if not values["enable.idempotence"]:
        return
    explicit = "enable.idempotence" in spelled
    conflicts = []
    if values["retries"] == 0:
        conflicts.append(("retries", _JAVA_RETRIES))
    if values["acks"] != -1:
        conflicts.append(("acks", _JAVA_ACKS))
    if explicit and conflicts:
        name, message = conflicts[0]
        hint = " (or set enable.idempotence: false)"
        raise ScenarioError(_at(path, spelled, name), message + hint)
    in_flight = values["max.in.flight.requests.per.connection"]
    if in_flight > 5:
        message = (
            "To use the idempotent producer, max.in.flight.requests.per.connection must be"
            f" set to at most 5. Current value is {in_flight}. (Set enable.idempotence: false"
            " to allow more.)"
        )
        raise ScenarioError(_at(path, spelled, "max.in.flight.requests.per.connection"), message)
    if conflicts:
        values["enable.idempotence"] = False


def _java_delivery_timeout(values: dict[str, Any], spelled: Mapping[str, str], path: str) -> None:
    floor = min(values["linger.ms"] + values["request.timeout.ms"], INT_MAX)
    if values["delivery.timeout.ms"] >= floor:
        return
    if "delivery.timeout.ms" in spelled:
        message = (
            "delivery.timeout.ms should be equal to or larger than linger.ms +"
            f" request.timeout.ms ({values['delivery.timeout.ms']} < {floor})"
        )
        raise ScenarioError(_at(path, spelled, "delivery.timeout.ms"), message)
    values["delivery.timeout.ms"] = floor  # the Java client raises the default and warns


def _librdkafka_idempotence(values: dict[str, Any], spelled: Mapping[str, str], path: str) -> None:
    if not values["enable.idempotence"]:
        return
    limits: list[tuple[str, Callable[[int], bool], int, str]] = [
        ("max.in.flight.requests.per.connection", lambda v: v <= 5, 5,
         "`max.in.flight` must be set <= 5 when `enable.idempotence` is true"),
        ("message.send.max.retries", lambda v: v >= 1, INT_MAX,
         "`retries` must be set >= 1 when `enable.idempotence` is true"),
        ("request.required.acks", lambda v: v == -1, -1,
         "`acks` must be set to `all` when `enable.idempotence` is true"),
    ]  # fmt: skip
    for name, ok, adjusted, message in limits:
        if name not in spelled:
            values[name] = min(values[name], adjusted) if adjusted == 5 else adjusted
        elif not ok(values[name]):
            raise ScenarioError(_at(path, spelled, name), message)


def _librdkafka_linger(values: dict[str, Any], spelled: Mapping[str, str], path: str) -> None:
    timeout = values["message.timeout.ms"]
    if timeout == 0 or timeout > values["queue.buffering.max.ms"]:
        return
    if "queue.buffering.max.ms" in spelled:
        message = "`message.timeout.ms` must be greater than `linger.ms`"
        raise ScenarioError(_at(path, spelled, "message.timeout.ms"), message)
    # librdkafka lowers linger to timeout - 0.1 ms; whole milliseconds here.
    values["queue.buffering.max.ms"] = timeout - 1


# --- faults --------------------------------------------------------------------------

MAX_FAULTS, MAX_FAULT_COUNT, MAX_DELAY_MS = 200, 1000, 600_000
_COMMON_FAULT_KEYS = ("action", "target", "at_ms", "injected")
FAULT_KEYS: dict[str, tuple[str, ...]] = {
    "crash": ("point", "offset", "topic", "partition", "restart_after_ms"),
    "stop": ("restart_after_ms",),
    "commit_fail": ("count", "retriable"),
    "commit_timeout": ("count",),
    "kill_broker": ("restart_after_ms",),
    "isolate_broker": ("duration_ms",),
    "slow_follower": ("delay_ms", "duration_ms"),
    "drop_produce_response": ("count",),
    "delay_produce_response": ("count", "delay_ms"),
    "produce_error": ("count", "error"),
}
ALL_FAULT_KEYS = tuple(
    dict.fromkeys([*_COMMON_FAULT_KEYS, *(k for keys in FAULT_KEYS.values() for k in keys)])
)
_BROKER_TARGET = re.compile(r"broker-(\d{1,2})")


@dataclass(frozen=True)
class FaultContext:
    """What a fault may refer to: the scenario's topics, clients, brokers and duration."""

    topics: Mapping[str, TopicSpec]
    consumers: Mapping[str, ConsumerSpec]
    producer_ids: tuple[str, ...]
    brokers: int
    duration_ms: int
    idempotent_producers: tuple[str, ...] = ()


def parse_faults(raw: Any, context: FaultContext) -> tuple[FaultSpec, ...]:
    items = [] if raw is None else as_list(raw, "faults", MAX_FAULTS, "faults")
    return tuple(_parse_fault(item, join("faults", i), context) for i, item in enumerate(items))


def _parse_fault(raw: Any, path: str, context: FaultContext) -> FaultSpec:
    data = as_mapping(raw, path, "a fault")
    check_keys(data, path, ALL_FAULT_KEYS, "fault")
    action = get_enum(data, "action", path, FAULT_ACTIONS)
    _check_fault_keys(data, path, action)
    target = _fault_target(data, path, action, context)
    at_ms = get_optional_int(data, "at_ms", path, 0, context.duration_ms)
    injected = get_bool(data, "injected", path, False)
    if action == "crash":
        return _parse_crash(data, path, context.consumers[target], context, at_ms, injected)
    if at_ms is None:
        raise ScenarioError(join(path, "at_ms"), f"is required for {action} faults")
    restart = get_optional_int(data, "restart_after_ms", path, 0, 3_600_000)
    count = get_int(data, "count", path, 1, MAX_FAULT_COUNT, default=1)
    duration = get_optional_int(data, "duration_ms", path, 1, 3_600_000)
    common: dict[str, Any] = {"target": target, "at_ms": at_ms, "injected": injected}
    if action == "stop":
        return ConsumerStop(**common, restart_after_ms=restart)
    if action == "commit_fail":
        return CommitFail(**common, count=count, retriable=get_bool(data, "retriable", path, True))
    if action == "commit_timeout":
        return CommitTimeout(**common, count=count)
    if action == "kill_broker":
        return BrokerKill(**common, restart_after_ms=restart)
    if action == "isolate_broker":
        return BrokerIsolation(**common, duration_ms=duration)
    if action == "drop_produce_response":
        return DroppedProduceResponse(**common, count=count)
    delay = (
        get_int(data, "delay_ms", path, 1, MAX_DELAY_MS) if "delay_ms" in FAULT_KEYS[action] else 0
    )
    if action == "slow_follower":
        return SlowFollower(**common, delay_ms=delay, duration_ms=duration)
    if action == "delay_produce_response":
        return DelayedProduceResponse(**common, count=count, delay_ms=delay)
    error = get_enum(data, "error", path, PRODUCE_ERRORS, default="NOT_ENOUGH_REPLICAS")
    if error in IDEMPOTENT_PRODUCE_ERRORS and target not in context.idempotent_producers:
        message = (
            f"{error} is an idempotent producer's error, and {target} is not idempotent"
            " (enable.idempotence: false, or switched off by acks)"
        )
        raise ScenarioError(join(path, "error"), message, allowed=", ".join(PRODUCE_ERRORS))
    return ProduceError(**common, count=count, error=error)


def _check_fault_keys(data: Mapping[str, Any], path: str, action: str) -> None:
    allowed = (*_COMMON_FAULT_KEYS, *FAULT_KEYS[action])
    for key, value in data.items():
        if value is not None and key not in allowed:
            users = [a for a, keys in FAULT_KEYS.items() if key in keys]
            message = f"does not apply to {action} faults (only to {', '.join(users)})"
            raise ScenarioError(join(path, key), message, allowed=", ".join(allowed))


def _fault_target(data: Mapping[str, Any], path: str, action: str, context: FaultContext) -> str:
    target = get_text(data, "target", path, 100)
    where = join(path, "target")
    if action in BROKER_FAULTS:
        return _broker_target(target, where, action, context.brokers)
    consumers, producers = list(context.consumers), list(context.producer_ids)
    kind, known, other = "consumer", consumers, ("producer", producers)
    if action in PRODUCER_FAULTS:
        kind, known, other = "producer", producers, ("consumer", consumers)
    if target in known:
        return target
    allowed = ", ".join(known) or f"(no {kind}s defined)"
    if target in other[1]:
        message = f"{target!r} is a {other[0]}; {action} faults target a {kind} ({allowed})"
        raise ScenarioError(where, message, allowed=allowed)
    message = f"no {kind} has id {describe(target)}; {action} faults target a {kind} ({allowed})"
    raise ScenarioError(where, message, allowed=allowed, suggestion=closest(target, known))


def _broker_target(target: str, where: str, action: str, brokers: int) -> str:
    match = _BROKER_TARGET.fullmatch(target)
    if match is None or int(match.group(1)) >= brokers:
        names = [f"broker-{n}" for n in range(brokers)]
        allowed = ", ".join(names)
        message = f"{action} faults target a broker, one of {allowed}; got {describe(target)}"
        raise ScenarioError(where, message, allowed=allowed, suggestion=closest(target, names))
    return f"broker-{int(match.group(1))}"


def _parse_crash(
    data: Mapping[str, Any],
    path: str,
    target: ConsumerSpec,
    context: FaultContext,
    at_ms: int | None,
    injected: bool,
) -> ConsumerCrash:
    point = data.get("point")
    if (at_ms is None) == (point is None):
        message = "a crash needs exactly one trigger: at_ms (a time) or point (with offset)"
        raise ScenarioError(path, message, allowed="at_ms | point")
    restart = get_optional_int(data, "restart_after_ms", path, 0, 3_600_000)
    if point is None:
        for key in ("offset", "topic", "partition"):
            if data.get(key) is not None:
                raise ScenarioError(join(path, key), "applies only with point, not at_ms")
        return ConsumerCrash(
            target=target.id, at_ms=at_ms, restart_after_ms=restart, injected=injected
        )
    point = get_enum(data, "point", path, CRASH_POINTS)
    if point == "before_commit" and target.pipeline is None:
        message = (
            "before_commit applies to a consumer with a pipeline (after it flushed its results)"
        )
        raise ScenarioError(join(path, "point"), message, allowed=", ".join(CRASH_POINTS))
    if data.get("offset") is None:
        message = f"is required with point: the offset of the record {point} refers to"
        raise ScenarioError(join(path, "offset"), message)
    topic, partitions = _crash_topic(data, path, target, context.topics)
    return ConsumerCrash(
        target=target.id,
        point=point,
        offset=get_int(data, "offset", path, 0, 2**63 - 1),
        topic=topic,
        partition=get_optional_int(data, "partition", path, 0, partitions - 1),
        restart_after_ms=restart,
        injected=injected,
    )


def _crash_topic(
    data: Mapping[str, Any], path: str, target: ConsumerSpec, topics: Mapping[str, TopicSpec]
) -> tuple[str | None, int]:
    """The crash's topic (None = any) and the partition count bounding `partition`."""
    name = data.get("topic")
    if name is None:
        return None, max(topics[t].partitions for t in target.topics)
    if name not in target.topics:
        allowed = ", ".join(target.topics)
        message = f"{target.id} does not subscribe to {describe(name)} (it reads {allowed})"
        raise ScenarioError(
            join(path, "topic"), message, allowed=allowed, suggestion=closest(name, target.topics)
        )
    return name, topics[name].partitions
