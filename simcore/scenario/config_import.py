"""Client configurations as teams already write them, into a scenario and back (issue 12).

Formats read:

- Java client `.properties` (producer or consumer; `key=value`, `key: value`, comments,
  line continuations and escapes as `java.util.Properties.load` reads them);
- Spring Boot `application.yml` / `application.properties`: `spring.kafka.*` with Spring's
  relaxed names (`auto-offset-reset`), Duration and DataSize values (`5s`, `16KB`), the
  `properties.*` pass-through maps, and the listener's `ack-mode` / `sync-commits` (which
  decide how Spring's container commits);
- librdkafka configuration dicts, as JSON or as a Python literal (confluent-kafka-python's
  `{'enable.auto.commit': False}`).

Each property ends up in one of three places: the scenario (a property the playground
models, checked by the scenario's own validation), a warning (a real Kafka property the
playground does not model: listed next to the run, never silent, never fatal), or an error
(a name that is not a Kafka property: `ScenarioError` naming it, with the closest name).

Back: `to_properties` (one client) and `to_spring_yaml` (every client of a scenario).
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from simcore.kernel.errors import ScenarioError
from simcore.scenario.kafka_config import CATALOGS, NOT_MODELLED, closest
from simcore.scenario.spec import ConsumerSpec, ProducerSpec, Scenario

FORMATS = ("properties", "spring-yaml", "spring-properties", "librdkafka")
ROLES = ("producer", "consumer")
MAX_TEXT = 100_000

# Real client properties (Java ConsumerConfig / ProducerConfig / CommonClientConfigs and
# librdkafka CONFIGURATION.md) that the playground does not model: a warning, not an error.
REAL_UNMODELLED = frozenset(
    {
        *NOT_MODELLED,
        "client.dns.lookup",
        "connections.max.idle.ms",
        "reconnect.backoff.ms",
        "reconnect.backoff.max.ms",
        "receive.buffer.bytes",
        "send.buffer.bytes",
        "metadata.max.age.ms",
        "metadata.max.idle.ms",
        "metric.reporters",
        "metrics.num.samples",
        "metrics.recording.level",
        "metrics.sample.window.ms",
        "interceptor.classes",
        "ssl.protocol",
        "ssl.keystore.location",
        "ssl.keystore.password",
        "ssl.key.password",
        "ssl.truststore.location",
        "ssl.truststore.password",
        "ssl.endpoint.identification.algorithm",
        "ssl.ca.location",
        "ssl.certificate.location",
        "ssl.key.location",
        "sasl.jaas.config",
        "sasl.username",
        "sasl.password",
        "sasl.kerberos.service.name",
        "sasl.login.callback.handler.class",
        "sasl.oauthbearer.token.endpoint.url",
        "security.providers",
        "socket.connection.setup.timeout.ms",
        "socket.connection.setup.timeout.max.ms",
        "auto.include.jmx.reporter",
        "enable.metrics.push",
        "partitioner.ignore.keys",
        "partitioner.adaptive.partitioning.enable",
        "partitioner.availability.timeout.ms",
        "fetch.max.bytes",
        "max.partition.fetch.bytes",
        "client.rack",
        "api.version.request",
        "broker.version.fallback",
        "socket.keepalive.enable",
        "topic.metadata.refresh.interval.ms",
        "log.connection.close",
        "batch.num.messages",
        "queue.buffering.max.kbytes",
        "message.max.bytes",
        "receive.message.max.bytes",
        "fetch.message.max.bytes",
        "queued.min.messages",
        "go.application.rebalance.enable",
        "go.events.channel.enable",
        "error_cb",
        "stats_cb",
        "throttle_cb",
        "oauth_cb",
        "on_delivery",
        "logger",
    }
)
_DURATION = re.compile(r"(?i)^\s*(\d+)\s*(ns|us|ms|s|m|h|d)?\s*$")
_DATASIZE = re.compile(r"(?i)^\s*(\d+)\s*(B|KB|MB|GB|TB)?\s*$")
_UNIT_MS = {
    "ns": 1e-6,
    "us": 1e-3,
    "ms": 1,
    "s": 1000,
    "m": 60_000,
    "h": 3_600_000,
    "d": 86_400_000,
}
_UNIT_BYTES = {"b": 1, "kb": 1024, "mb": 1024**2, "gb": 1024**3, "tb": 1024**4}

# spring.kafka.<role>.<key> -> (Kafka property, kind of value)
SPRING_CONSUMER = {
    "auto-commit-interval": ("auto.commit.interval.ms", "duration"),
    "auto-offset-reset": ("auto.offset.reset", "text"),
    "bootstrap-servers": ("bootstrap.servers", "text"),
    "client-id": ("client.id", "text"),
    "enable-auto-commit": ("enable.auto.commit", "text"),
    "fetch-max-wait": ("fetch.max.wait.ms", "duration"),
    "fetch-min-size": ("fetch.min.bytes", "size"),
    "group-id": ("group.id", "text"),
    "heartbeat-interval": ("heartbeat.interval.ms", "duration"),
    "isolation-level": ("isolation.level", "lower"),
    "key-deserializer": ("key.deserializer", "text"),
    "value-deserializer": ("value.deserializer", "text"),
    "max-poll-records": ("max.poll.records", "text"),
    "max-poll-interval": ("max.poll.interval.ms", "duration"),
}
SPRING_PRODUCER = {
    "acks": ("acks", "text"),
    "batch-size": ("batch.size", "size"),
    "bootstrap-servers": ("bootstrap.servers", "text"),
    "buffer-memory": ("buffer.memory", "size"),
    "client-id": ("client.id", "text"),
    "compression-type": ("compression.type", "text"),
    "key-serializer": ("key.serializer", "text"),
    "value-serializer": ("value.serializer", "text"),
    "retries": ("retries", "text"),
    "transaction-id-prefix": ("transactional.id", "text"),
}
SPRING_COMMON = {"bootstrap-servers", "client-id"}
# Spring Kafka's container commits itself: AckMode -> the scenario's commit strategy.
ACK_MODES = {
    "RECORD": "sync-per-record",
    "BATCH": "sync-per-batch",
    "TIME": "sync-per-batch",
    "COUNT": "sync-per-batch",
    "COUNT_TIME": "sync-per-batch",
    "MANUAL": "sync-per-batch",
    "MANUAL_IMMEDIATE": "sync-per-record",
}
ACK_MODE_NOTES = {
    "TIME": "ack-mode TIME commits after ack-time has passed, at the end of a poll's batch;"
    " modelled as a commit after every batch",
    "COUNT": "ack-mode COUNT commits once ack-count records are processed, at the end of a"
    " batch; modelled as a commit after every batch",
    "COUNT_TIME": "ack-mode COUNT_TIME: modelled as a commit after every batch",
    "MANUAL": "ack-mode MANUAL commits what the listener acknowledged, at the end of the"
    " batch; modelled as if every record were acknowledged",
    "MANUAL_IMMEDIATE": "ack-mode MANUAL_IMMEDIATE commits at each acknowledge(); modelled as"
    " if every record were acknowledged",
}


@dataclass
class ClientConfig:
    """One client's imported configuration: Kafka property -> value as written."""

    role: str
    properties: dict[str, Any] = field(default_factory=dict)
    commit: str | None = None  # a commit strategy the format implies (Spring's container)
    notes: list[str] = field(default_factory=list)  # how the format's settings were read


@dataclass
class Imported:
    clients: dict[str, ClientConfig]  # by role
    warnings: list[str] = field(default_factory=list)


# --- reading the formats ------------------------------------------------------------------------


def _check_size(text: str) -> None:
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_TEXT:
        raise ScenarioError(
            "config", f"is {size} bytes; at most {MAX_TEXT}", allowed=f"at most {MAX_TEXT} bytes"
        )
    if not text.strip():
        raise ScenarioError("config", "is empty: paste a client configuration")


def parse_properties(text: str) -> dict[str, str]:
    """`java.util.Properties.load`: `key=value`, `key: value` or `key value`; `#`/`!`
    comments; a trailing backslash continues the line; `\\t`, `\\n`, `\\uXXXX` escapes."""
    _check_size(text)
    out: dict[str, str] = {}
    logical: list[str] = []
    pending = ""
    for line in text.splitlines():
        stripped = line.lstrip()
        if not pending and (not stripped or stripped[0] in "#!"):
            continue
        joined = pending + stripped
        trailing = len(joined) - len(joined.rstrip("\\"))
        if trailing % 2 == 1:
            pending = joined[:-1]
            continue
        pending = ""
        logical.append(joined)
    if pending:
        logical.append(pending)
    for number, entry in enumerate(logical, 1):
        key, value = _split_property(entry)
        if not key:
            raise ScenarioError("config", f"line {number} has no property name: {entry[:60]!r}")
        out[key] = value
    return out


def _split_property(entry: str) -> tuple[str, str]:
    k = 0
    while k < len(entry):
        ch = entry[k]
        if ch == "\\":
            k += 2
            continue
        if ch in "=: \t":
            break
        k += 1
    key, rest = entry[:k], entry[k:].lstrip(" \t")
    if rest[:1] in ("=", ":"):
        rest = rest[1:].lstrip(" \t")
    return _unescape(key), _unescape(rest)


def _unescape(text: str) -> str:
    def repl(match: re.Match[str]) -> str:
        code = match.group(1)
        if code.startswith("u"):
            return chr(int(code[1:], 16))
        return {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}.get(code, code)

    return re.sub(r"\\(u[0-9a-fA-F]{4}|.)", repl, text)


def parse_librdkafka(text: str) -> dict[str, Any]:
    """A JSON object, or a Python dict literal (True/False/None, single quotes)."""
    _check_size(text)
    try:
        data = json.loads(text)
    except RecursionError:
        raise ScenarioError("config", "is nested too deeply") from None
    except ValueError:
        try:
            data = ast.literal_eval(text.strip())
        except (ValueError, SyntaxError, MemoryError, RecursionError) as err:
            raise ScenarioError(
                "config",
                f"is neither JSON nor a Python dict literal: {type(err).__name__}",
                allowed="{'enable.auto.commit': False, ...} or a JSON object",
            ) from None
    if not isinstance(data, dict):
        raise ScenarioError("config", f"must be a mapping, got {type(data).__name__}")
    return {str(k): v for k, v in data.items()}


def _spring_tree(text: str, fmt: str) -> Mapping[str, Any]:
    _check_size(text)
    if fmt == "spring-properties":
        tree: dict[str, Any] = {}
        for key, value in parse_properties(text).items():
            _put_path(tree, key, value)
        return tree
    try:
        data = yaml.safe_load(text)
    except RecursionError:
        raise ScenarioError("config", "is nested too deeply") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ScenarioError("config", f"is not valid YAML{where}") from None
    if not isinstance(data, dict):
        raise ScenarioError("config", "must be a YAML mapping (application.yml)")
    return data


def _put_path(tree: dict[str, Any], key: str, value: Any) -> None:
    """`spring.kafka.producer.properties[enable.idempotence]` or `...properties.linger.ms`."""
    bracket = re.fullmatch(r"(.*)\[(.+)\]", key)
    parts = [*bracket.group(1).split("."), bracket.group(2)] if bracket else key.split(".")
    node = tree
    for k, part in enumerate(parts):
        if part == "properties" and not bracket:
            node.setdefault(part, {})[".".join(parts[k + 1 :])] = value
            return
        if k == len(parts) - 1:
            node[part] = value
        else:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                return
            node = child


def _flat(props: Any, prefix: str) -> dict[str, Any]:
    """A `properties:` map, nested (YAML) or dotted, as dotted Kafka names."""
    out: dict[str, Any] = {}
    if not isinstance(props, Mapping):
        return out
    for key, value in props.items():
        name = str(key).strip("[]")
        if isinstance(value, Mapping):
            out.update(_flat(value, f"{prefix}{name}."))
        else:
            out[f"{prefix}{name}"] = value
    return out


def _spring_value(raw: Any, kind: str, where: str) -> Any:
    if kind == "duration" and isinstance(raw, str):
        iso = re.fullmatch(r"(?i)PT(\d+)(S|M|H)", raw.strip())
        if iso:
            return int(iso.group(1)) * _UNIT_MS[iso.group(2).lower()]
        match = _DURATION.match(raw)
        if not match:
            raise ScenarioError(
                where,
                f"is not a duration: {raw!r}",
                allowed="milliseconds, or a number with ms, s, m, h, d, or PT5S",
            )
        return int(int(match.group(1)) * _UNIT_MS[(match.group(2) or "ms").lower()])
    if kind == "size" and isinstance(raw, str):
        match = _DATASIZE.match(raw)
        if not match:
            raise ScenarioError(
                where,
                f"is not a data size: {raw!r}",
                allowed="bytes, or a number with B, KB, MB, GB",
            )
        return int(match.group(1)) * _UNIT_BYTES[(match.group(2) or "b").lower()]
    if kind == "lower" and isinstance(raw, str):
        return raw.lower()
    return raw


def parse_spring(text: str, fmt: str = "spring-yaml") -> Imported:
    tree = _spring_tree(text, fmt)
    spring = tree.get("spring") if isinstance(tree.get("spring"), Mapping) else None
    kafka = spring.get("kafka") if spring else None
    if not isinstance(kafka, Mapping):
        raise ScenarioError(
            "config",
            "has no spring.kafka section",
            allowed="spring.kafka.producer.*, spring.kafka.consumer.*",
        )
    imported = Imported({})
    common = _flat(kafka.get("properties"), "")
    for key in SPRING_COMMON:
        if key in kafka:
            common[SPRING_CONSUMER[key][0]] = kafka[key]
    for role, table in (("consumer", SPRING_CONSUMER), ("producer", SPRING_PRODUCER)):
        section = kafka.get(role)
        if not isinstance(section, Mapping):
            continue
        client = ClientConfig(role, dict(common))
        for key, raw in section.items():
            where = f"spring.kafka.{role}.{key}"
            if key == "properties":
                client.properties.update(_flat(raw, ""))
                continue
            if key not in table:
                suggestion = closest(key, table)
                raise ScenarioError(
                    where,
                    "is not a Spring Boot Kafka property",
                    allowed=", ".join(table),
                    suggestion=suggestion,
                )
            name, kind = table[key]
            client.properties[name] = _spring_value(raw, kind, where)
        if role == "consumer":
            _spring_commit(client, kafka.get("listener"))
        imported.clients[role] = client
    for key in kafka:
        if key not in ("producer", "consumer", "properties", "listener", *SPRING_COMMON):
            imported.warnings.append(
                f"spring.kafka.{key}: not a client setting the playground models"
            )
    if not imported.clients:
        raise ScenarioError("config", "has neither spring.kafka.producer nor spring.kafka.consumer")
    return imported


def _spring_commit(client: ClientConfig, listener: Any) -> None:
    """Spring Kafka (2.3+) sets enable.auto.commit=false unless it is given, and its
    listener container commits: AckMode BATCH by default, commitSync unless
    sync-commits is false (ContainerProperties)."""
    listener = listener if isinstance(listener, Mapping) else {}
    auto = str(client.properties.get("enable.auto.commit", "")).lower()
    if auto == "true":
        client.commit = "auto"
        client.notes.append("enable-auto-commit: true — the Kafka client commits on its timer")
        return
    if "enable.auto.commit" not in client.properties:
        client.properties["enable.auto.commit"] = "false"
        client.notes.append(
            "enable.auto.commit=false: Spring Kafka's default (2.3+), not Kafka's;"
            " the listener container commits"
        )
    mode = str(listener.get("ack-mode", "BATCH")).upper()
    if mode not in ACK_MODES:
        raise ScenarioError(
            "spring.kafka.listener.ack-mode",
            f"is not an AckMode: {mode!r}",
            allowed=", ".join(ACK_MODES),
        )
    sync = str(listener.get("sync-commits", "true")).lower() != "false"
    client.commit = ACK_MODES[mode] if sync else "async"
    client.notes.append(
        f"listener ack-mode {mode}{'' if sync else ', sync-commits false'} → commit:"
        f" {client.commit}"
    )
    if mode in ACK_MODE_NOTES:
        client.notes.append(ACK_MODE_NOTES[mode])


def read(text: str, fmt: str, role: str | None = None) -> Imported:
    """Any format, for `role` where the format does not say (properties, librdkafka)."""
    if fmt not in FORMATS:
        raise ScenarioError(
            "format",
            f"must be one of {', '.join(FORMATS)}, got {fmt!r}",
            allowed=", ".join(FORMATS),
        )
    if fmt in ("spring-yaml", "spring-properties"):
        return parse_spring(text, fmt)
    if role not in ROLES:
        raise ScenarioError(
            "role", f"must be producer or consumer, got {role!r}", allowed="producer, consumer"
        )
    values: Mapping[str, Any] = (
        parse_properties(text) if fmt == "properties" else parse_librdkafka(text)
    )
    return Imported({role: ClientConfig(role, dict(values))})


# --- into a scenario ----------------------------------------------------------------------------


def _sort(
    client: str, role: str, props: Mapping[str, Any], path: str
) -> tuple[dict[str, Any], list[str]]:
    """(the properties the catalog models, warnings for real unmodelled ones); an unknown
    name is a ScenarioError with the closest known name."""
    catalog = CATALOGS[(role, client)]
    modelled: dict[str, Any] = {}
    warnings: list[str] = []
    for key, value in props.items():
        if key in catalog.index:
            modelled[key] = value
        elif key in ("group.id",):
            continue  # the consumer's group field
        elif key in REAL_UNMODELLED or _known_elsewhere(key):
            warnings.append(
                f"{path}: {key}={value} is a real Kafka setting the playground"
                " does not model; the run ignores it"
            )
        else:
            known = [*catalog.index, *REAL_UNMODELLED]
            raise ScenarioError(
                f"{path}.{key}",
                f"is not a {catalog.label} property",
                allowed=catalog.names_text(),
                suggestion=closest(key, known),
            )
    return modelled, warnings


def _known_elsewhere(key: str) -> bool:
    """A property of the other client family or role: real, and reported as such."""
    return any(key in c.index for c in CATALOGS.values())


def apply(
    source: Mapping[str, Any], imported: Imported, target: str | None = None
) -> tuple[dict[str, Any], list[str]]:
    """The scenario source with each imported client's properties merged into the config of
    the scenario's clients of that role (or only `target`, a producer or consumer id), and
    the warnings. A Spring consumer's container commit becomes the consumer's `commit`."""
    data = json.loads(json.dumps(dict(source)))
    warnings = list(imported.warnings)
    matched = False
    for role, client_config in imported.clients.items():
        for k, client in enumerate(data.get(f"{role}s", [])):
            if target is not None and client.get("id") != target:
                continue
            matched = True
            path = f"{role}s[{k}].config"
            family = client.get("client", "java")
            modelled, notes = _sort(family, role, client_config.properties, path)
            config = dict(client.get("config") or {})
            config.update(modelled)
            client["config"] = config
            if role == "consumer":
                group = client_config.properties.get("group.id")
                if group:
                    client["group"] = str(group)
                if client_config.commit:
                    client["commit"] = client_config.commit
                elif (
                    _off(config.get("enable.auto.commit"))
                    and client.get("commit", "auto") == "auto"
                ):
                    client["commit"] = "sync-per-batch"
                    notes.append(
                        f"{role}s[{k}]: enable.auto.commit=false means the application"
                        " commits; modelled as commitSync after each poll's records (commit:"
                        " sync-per-batch) — change commit if yours differs"
                    )
            warnings += notes
            warnings += [f"{role}s[{k}]: {note}" for note in client_config.notes]
    if not matched:
        roles = " or ".join(imported.clients)
        where = f"no {roles} with id {target!r}" if target else f"no {roles} in the scenario"
        raise ScenarioError("target", f"matches nothing: {where}")
    return data, warnings


def _off(value: Any) -> bool:
    return value is False or (isinstance(value, str) and value.strip().lower() == "false")


# --- back out -----------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def client_properties(
    scenario: Scenario, client: ProducerSpec | ConsumerSpec, role: str
) -> dict[str, str]:
    """The properties the scenario's file sets on a client (as written, not the defaults
    the spec fills in), plus group.id."""
    written: dict[str, Any] = {}
    for entry in scenario.source.get(f"{role}s", []):
        if isinstance(entry, Mapping) and entry.get("id") == client.id:
            written = dict(entry.get("config") or {})
    out = {k: _text(v) for k, v in written.items()}
    if isinstance(client, ConsumerSpec):
        out = {"group.id": client.group, **out}
    return out


def _escape(text: str, key: bool = False) -> str:
    out = []
    for k, ch in enumerate(text):
        if ch == "\\":
            out.append("\\\\")
        elif ch in "=:#!" or (ch == " " and (key or k == 0)):
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) > 0x7E or ord(ch) < 0x20:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "".join(out)


def to_properties(scenario: Scenario, client_id: str) -> str:
    """One client's `.properties` (Java or librdkafka names, as the scenario has them)."""
    for role in ROLES:
        for client in getattr(scenario, f"{role}s"):
            if client.id == client_id:
                lines = [f"# {role} {client.id} ({client.client}) of: {scenario.name}"]
                lines += [
                    f"{_escape(k, key=True)}={_escape(v)}"
                    for k, v in client_properties(scenario, client, role).items()
                ]
                return "\n".join(lines) + "\n"
    ids = [p.id for p in scenario.producers] + [c.id for c in scenario.consumers]
    raise ScenarioError("client", f"no producer or consumer {client_id!r}", allowed=", ".join(ids))


SPRING_FROM_KAFKA = {
    "consumer": {name: key for key, (name, _kind) in SPRING_CONSUMER.items()},
    "producer": {name: key for key, (name, _kind) in SPRING_PRODUCER.items()},
}
COMMIT_TO_ACK_MODE = {"sync-per-record": "RECORD", "sync-per-batch": "BATCH"}


def to_spring_yaml(scenario: Scenario) -> str:
    """`application.yml` for the scenario's first producer and first consumer: Spring's
    keys where Spring has one, `properties:` for the rest, the listener's ack-mode from
    the consumer's commit strategy."""
    kafka: dict[str, Any] = {}
    for role in ROLES:
        clients = getattr(scenario, f"{role}s")
        if not clients:
            continue
        section: dict[str, Any] = {}
        extra: dict[str, str] = {}
        for name, value in client_properties(scenario, clients[0], role).items():
            spring_key = SPRING_FROM_KAFKA[role].get(name)
            if spring_key:
                section[spring_key] = value
            else:
                extra[name] = value
        if extra:
            section["properties"] = extra
        kafka[role] = section
        if role == "consumer":
            commit = clients[0].commit
            if commit == "auto":
                section["enable-auto-commit"] = "true"
            else:
                section.setdefault("enable-auto-commit", "false")
                kafka["listener"] = {
                    "ack-mode": COMMIT_TO_ACK_MODE.get(commit, "BATCH"),
                    "sync-commits": "false" if commit.startswith("async") else "true",
                }
    header = f"# spring.kafka for: {scenario.name}\n"
    return header + yaml.safe_dump({"spring": {"kafka": kafka}}, sort_keys=False)
