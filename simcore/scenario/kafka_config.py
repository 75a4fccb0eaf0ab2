"""The Kafka properties the playground models, with Kafka's real defaults.

One catalog per client family and role (Java consumer, Java producer, librdkafka consumer,
librdkafka producer), one for topic configs and one for broker configs. Each property
carries its type, range or allowed values, default, a one-line description and where to
check it:
[J] apache/kafka `clients/src/main/java/org/apache/kafka/clients/...`,
[R] confluentinc/librdkafka `CONFIGURATION.md` and `src/rdkafka_conf.c`,
[T] apache/kafka `TopicConfig.java` / the topic-config docs, [S] apache/kafka broker
config classes (`ReplicationConfigs.java`, `KRaftConfigs.java`, `KafkaConfig` checks).

`resolve_config()` turns a user's `config:` mapping into every supported property,
parsed and normalised (acks -> 0/1/-1, auto.offset.reset -> earliest/latest/none), keyed by
the family's canonical property name. Values are accepted the way users paste them:
`acks: all` / `"-1"` / `1`, booleans as true/false or "true"/"false", integers as numbers
or numeric strings. Cross-property rules live in `simcore.scenario.checks`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from simcore.kernel.errors import ScenarioError

INT_MAX = 2**31 - 1
LONG_MAX = 2**63 - 1

J_CONSUMER = "[J] consumer/ConsumerConfig.java"
J_PRODUCER = "[J] producer/ProducerConfig.java"
R_CONF = "[R] CONFIGURATION.md"
T_CONF = "[T] common/config/TopicConfig.java"

_INT_TEXT = re.compile(r"\s*[+-]?\d{1,25}\s*")
_LEGAL_ID = re.compile(r"[a-zA-Z0-9._-]{1,249}")  # Kafka's rule for group.instance.id


@dataclass(frozen=True)
class Prop:
    """One supported property; `fields` are the spec dataclass fields it fills."""

    name: str
    kind: str  # int | bool | enum | acks | string | list
    default: Any
    doc: str
    source: str
    fields: tuple[str, ...] = ()
    low: int = 0
    high: int = INT_MAX
    choices: tuple[str, ...] = ()
    value_aliases: Mapping[str, str] = field(default_factory=dict)
    not_modelled: Mapping[str, str] = field(default_factory=dict)  # value or "prefix*" -> why
    aliases: tuple[str, ...] = ()  # other names this property answers to
    nullable: bool = False
    upper: bool = False  # enum values are upper case (security.protocol, sasl.mechanism)

    @property
    def allowed(self) -> str:
        if self.kind == "int":
            return f"{self.low}..{self.high}"
        if self.kind == "bool":
            return "true, false"
        if self.kind == "acks":
            return "all, -1, 0, 1"
        if self.kind in ("enum", "list"):
            extra = [a for a in self.value_aliases if a not in self.choices and "." not in a]
            also = f" (also {', '.join(extra)})" if extra and self.kind == "enum" else ""
            return ", ".join(self.choices) + also
        return "null" if self.nullable and "*" in self.not_modelled else "text"


# --- value parsing -------------------------------------------------------------------


def describe(value: Any) -> str:
    """A short rendering of a user's value for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        text = value if len(value) <= 40 else value[:37] + "..."
        return repr(text)
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    return f"a {type(value).__name__}"


def closest(word: Any, candidates: Iterable[str]) -> str | None:
    """The closest candidate to `word` (difflib), or None."""
    if not isinstance(word, str):
        return None
    found = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return found[0] if found else None


def parse_value(prop: Prop, raw: Any, path: str) -> Any:
    """Parse and normalise one property value; raises ScenarioError naming `path`."""
    return _PARSERS[prop.kind](prop, raw, path)


def _parse_int(prop: Prop, raw: Any, path: str) -> int:
    if isinstance(raw, str) and _INT_TEXT.fullmatch(raw):
        raw = int(raw)
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise ScenarioError(path, f"must be an integer, got {describe(raw)}", allowed=prop.allowed)
    if not prop.low <= raw <= prop.high:
        message = f"must be an integer between {prop.low} and {prop.high}, got {raw}"
        raise ScenarioError(path, message, allowed=prop.allowed)
    return raw


def _parse_bool(prop: Prop, raw: Any, path: str) -> bool:
    if isinstance(raw, str) and raw.strip().lower() in ("true", "false"):
        return raw.strip().lower() == "true"
    if not isinstance(raw, bool):
        message = f"must be true or false, got {describe(raw)}"
        raise ScenarioError(path, message, allowed=prop.allowed)
    return raw


def _parse_acks(prop: Prop, raw: Any, path: str) -> int:
    value: int | None = None
    if isinstance(raw, int) and not isinstance(raw, bool):
        value = raw
    elif isinstance(raw, str):
        word = raw.strip().lower()
        value = -1 if word == "all" else int(word) if _INT_TEXT.fullmatch(word) else None
    if value is None or value not in (-1, 0, 1):
        message = f"must be all, -1, 0 or 1, got {describe(raw)}"
        raise ScenarioError(path, message, allowed=prop.allowed)
    return value


def _reject_not_modelled(prop: Prop, word: str, raw: Any, path: str) -> None:
    for key, why in prop.not_modelled.items():
        hit = word.startswith(key[:-1]) if key.endswith("*") else word == key
        if hit:
            raise ScenarioError(path, f"{describe(raw)}: {why}", allowed=prop.allowed)


def _parse_enum(prop: Prop, raw: Any, path: str) -> str | None:
    if raw is None and prop.nullable:
        return None
    if not isinstance(raw, str):
        message = f"must be one of {prop.allowed}, got {describe(raw)}"
        raise ScenarioError(path, message, allowed=prop.allowed)
    word = raw.strip().upper() if prop.upper else raw.strip().lower()
    _reject_not_modelled(prop, word, raw, path)
    word = prop.value_aliases.get(word, word)
    if word not in prop.choices:
        suggestion = closest(word, [*prop.choices, *prop.value_aliases])
        message = f"must be one of {prop.allowed}, got {describe(raw)}"
        raise ScenarioError(path, message, allowed=prop.allowed, suggestion=suggestion)
    return word


def _parse_string(prop: Prop, raw: Any, path: str) -> str | None:
    if raw is None and prop.nullable:
        return None
    if not isinstance(raw, str):
        raise ScenarioError(path, f"must be text, got {describe(raw)}", allowed=prop.allowed)
    _reject_not_modelled(prop, raw, raw, path)
    if len(raw) > 249:
        raise ScenarioError(path, f"must be at most 249 characters, got {len(raw)}")
    if prop.name == "group.instance.id" and not _LEGAL_ID.fullmatch(raw):
        message = "may contain only ASCII letters, digits, '.', '_' and '-'"
        raise ScenarioError(path, f"{message}, got {describe(raw)}")
    return raw


def _list_items(prop: Prop, raw: Any, path: str) -> list[str]:
    if isinstance(raw, str):
        items = raw.split(",")
    elif isinstance(raw, (list, tuple)) and all(isinstance(item, str) for item in raw):
        items = list(raw)
    else:
        message = f"must be a comma-separated list of {prop.allowed}, got {describe(raw)}"
        raise ScenarioError(path, message, allowed=prop.allowed)
    items = [item.strip() for item in items]
    if not items or "" in items:
        raise ScenarioError(path, "must name at least one assignor, without empty entries")
    return items


def _parse_list(prop: Prop, raw: Any, path: str) -> str:
    chosen: list[str] = []
    for item in _list_items(prop, raw, path):
        name = prop.value_aliases.get(item.lower(), item)
        if name not in prop.choices:
            suggestion = closest(item, [*prop.choices, *prop.value_aliases])
            message = f"{describe(item)} is not one of {prop.allowed}"
            raise ScenarioError(path, message, allowed=prop.allowed, suggestion=suggestion)
        if name in chosen:
            raise ScenarioError(path, f"lists {name} twice")
        chosen.append(name)
    return ",".join(chosen)


_PARSERS: dict[str, Callable[[Prop, Any, str], Any]] = {
    "int": _parse_int,
    "bool": _parse_bool,
    "acks": _parse_acks,
    "enum": _parse_enum,
    "string": _parse_string,
    "list": _parse_list,
}


# --- catalogs ------------------------------------------------------------------------
# fmt: off


def _int(name: str, default: int, low: int, high: int, doc: str, src: str, *fields: str,
         aliases: tuple[str, ...] = ()) -> Prop:
    return Prop(name, "int", default, doc, src, fields, low, high, aliases=aliases)


def _bool(name: str, default: bool, doc: str, src: str, *fields: str) -> Prop:
    return Prop(name, "bool", default, doc, src, fields)


_RESET_DOC = (
    "Where to start without a committed offset (or one out of range): earliest = log start,"
    " latest = high watermark (LSO under read_committed), none = throw."
)
_JAVA_ASSIGNORS = tuple(
    f"org.apache.kafka.clients.consumer.{name}"
    for name in ("RangeAssignor", "RoundRobinAssignor", "StickyAssignor",
                 "CooperativeStickyAssignor")
)
# [RangeAssignor, CooperativeStickyAssignor]: range is used while every member lists it.
_JAVA_DEFAULT_ASSIGNORS = f"{_JAVA_ASSIGNORS[0]},{_JAVA_ASSIGNORS[3]}"
_KIP848_LIBRDKAFKA = (
    "the KIP-848 consumer protocol is modelled for the Java client only; librdkafka runs the"
    " classic protocol here"
)


_SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
_SASL_MECHANISMS = ("GSSAPI", "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER")


def _security_props(client: str, src: str) -> list[Prop]:
    """How the client connects (the scenario's ``security:`` listener decides the outcome,
    ``simcore.security.connections``). Java gives SASL credentials in ``sasl.jaas.config``
    (``username="…" password="…"``); librdkafka in ``sasl.username`` / ``sasl.password``."""
    java = client == "java"
    mechanism = "sasl.mechanism" if java else "sasl.mechanisms"
    props = [
        Prop("security.protocol", "enum", "PLAINTEXT",
             "How the client talks to the listener: TLS or not, SASL or not.", src,
             choices=_SECURITY_PROTOCOLS, upper=True),
        Prop(mechanism, "enum", "GSSAPI",
             "The SASL mechanism (Kerberos GSSAPI by default).", src,
             choices=_SASL_MECHANISMS, upper=True,
             aliases=() if java else ("sasl.mechanism",)),
    ]
    if java:
        props.append(Prop("sasl.jaas.config", "string", None,
                          "The login module with username=\"…\" password=\"…\" (PLAIN,"
                          " SCRAM).", src, nullable=True))
    else:
        props += [
            Prop("sasl.username", "string", None, "SASL username (PLAIN, SCRAM).", src,
                 nullable=True),
            Prop("sasl.password", "string", None, "SASL password (PLAIN, SCRAM).", src,
                 nullable=True),
        ]
    return props


def _common_consumer_props(client: str) -> list[Prop]:
    src = J_CONSUMER if client == "java" else R_CONF
    java = client == "java"
    assignors = _JAVA_ASSIGNORS if java else ("range", "roundrobin", "cooperative-sticky")
    short = {a.rsplit(".", 1)[-1].lower(): a for a in assignors} if java else {}
    full = {a.lower(): a for a in assignors}
    return [
        Prop("group.instance.id", "string", None,
             "Static membership id (KIP-345): no LeaveGroup on close; a restart within"
             " session.timeout.ms causes no rebalance.", src, nullable=True),
        Prop("client.id", "string", "" if java else "rdkafka",
             "Client id shown by kafka-consumer-groups.sh.", src),
        Prop("group.protocol", "enum", "classic",
             "Group protocol: classic (JoinGroup/SyncGroup, client-side assignors)"
             + ("; consumer (KIP-848, Kafka 4.0: heartbeats only, the broker assigns)."
                if java else "."), src, ("group_protocol",),
             choices=("classic", "consumer") if java else ("classic",),
             not_modelled={} if java else {"consumer": _KIP848_LIBRDKAFKA}),
        Prop("partition.assignment.strategy", "list",
             _JAVA_DEFAULT_ASSIGNORS if java else "range,roundrobin",
             "Assignors in preference order; the first one all members support is used.",
             src, choices=assignors, value_aliases={**short, **full}),
        *([Prop("group.remote.assignor", "enum", None,
                "group.protocol=consumer: the broker's assignor for this member (null: the"
                " broker's first group.consumer.assignors entry, uniform).", src,
                ("remote_assignor",), choices=("uniform",), nullable=True,
                not_modelled={"range": "the broker's range assignor is not modelled yet;"
                              " use uniform (the default)"})] if java else []),
    ]


JAVA_CONSUMER_PROPS = [
    _bool("enable.auto.commit", True,
          "Commit the consumer's position from inside poll() every auto.commit.interval.ms.",
          J_CONSUMER, "enable_auto_commit"),
    _int("auto.commit.interval.ms", 5000, 0, INT_MAX,
         "Minimum time between auto-commits.", J_CONSUMER, "auto_commit_interval_ms"),
    Prop("auto.offset.reset", "enum", "latest", _RESET_DOC, J_CONSUMER, ("auto_offset_reset",),
         choices=("earliest", "latest", "none"),
         not_modelled={"by_duration:*": "by_duration:<ISO-8601 duration> (KIP-1106, Kafka"
                       " 4.0) is not modelled yet; use earliest, latest or none"}),
    _int("max.poll.records", 500, 1, INT_MAX,
         "Most records one poll() returns.", J_CONSUMER, "max_poll_records"),
    _int("max.poll.interval.ms", 300_000, 1, INT_MAX,
         "Most time between polls before the member leaves the group.", J_CONSUMER,
         "max_poll_interval_ms"),
    _int("session.timeout.ms", 45_000, 1, INT_MAX,
         "No heartbeat for this long and the coordinator removes the member (10000 before"
         " 3.0, KIP-735).", J_CONSUMER, "session_timeout_ms"),
    _int("heartbeat.interval.ms", 3000, 1, INT_MAX,
         "Time between heartbeats to the group coordinator.", J_CONSUMER,
         "heartbeat_interval_ms"),
    _int("fetch.min.bytes", 1, 0, INT_MAX,
         "The broker answers a fetch once this many bytes are available.", J_CONSUMER,
         "fetch_min_bytes"),
    _int("fetch.max.wait.ms", 500, 0, INT_MAX,
         "Longest the broker holds a fetch waiting for fetch.min.bytes.", J_CONSUMER,
         "fetch_max_wait_ms"),
    _int("fetch.max.bytes", 52_428_800, 0, INT_MAX,
         "Most bytes one fetch response carries over all its partitions; the first batch"
         " comes whole even if larger (KIP-74).", J_CONSUMER, "fetch_max_bytes"),
    _int("max.partition.fetch.bytes", 1_048_576, 0, INT_MAX,
         "Most bytes one fetch response carries per partition; the first batch of the"
         " response comes whole even if larger (KIP-74).", J_CONSUMER,
         "max_partition_fetch_bytes"),
    _int("default.api.timeout.ms", 60_000, 0, INT_MAX,
         "Bounds blocking calls without a timeout, e.g. commitSync().", J_CONSUMER,
         "default_api_timeout_ms"),
    _int("request.timeout.ms", 30_000, 0, INT_MAX,
         "Longest the client waits for one request's response.", J_CONSUMER,
         "request_timeout_ms"),
    _int("retry.backoff.ms", 100, 0, LONG_MAX,
         "Wait before retrying a failed request.", J_CONSUMER, "retry_backoff_ms"),
    Prop("isolation.level", "enum", "read_uncommitted",
         "read_committed reads only below the LSO and skips aborted records.", J_CONSUMER,
         ("isolation_level",), choices=("read_uncommitted", "read_committed")),
    *_common_consumer_props("java"),
    *_security_props("java", J_CONSUMER),
    Prop("client.rack", "string", "",
         "The rack (zone) the consumer runs in: with replica.selector.class set on the"
         " brokers, it fetches from a replica in this rack (KIP-392).", J_CONSUMER,
         ("client_rack",)),
    _int("metadata.max.age.ms", 300_000, 0, LONG_MAX,
         "Metadata refresh period; a preferred read replica is used at most this long"
         " before the consumer asks the leader again.", J_CONSUMER, "metadata_max_age_ms"),
]

LIBRDKAFKA_CONSUMER_PROPS = [
    _bool("enable.auto.commit", True,
          "A background timer commits the offset store every auto.commit.interval.ms.",
          R_CONF, "enable_auto_commit"),
    _int("auto.commit.interval.ms", 5000, 0, 86_400_000,
         "Time between auto-commits; 0 disables the commit timer.", R_CONF,
         "auto_commit_interval_ms"),
    _bool("enable.auto.offset.store", True,
          "Store a message's offset as soon as it is handed to the application, so the"
          " timer can commit it before processing ends.", R_CONF, "enable_auto_offset_store"),
    Prop("auto.offset.reset", "enum", "largest", _RESET_DOC, R_CONF, ("auto_offset_reset",),
         choices=("earliest", "latest", "none"),
         value_aliases={"smallest": "earliest", "beginning": "earliest",
                        "largest": "latest", "end": "latest", "error": "none"}),
    _int("fetch.wait.max.ms", 500, 0, 300_000,
         "Longest the broker holds a fetch waiting for fetch.min.bytes.", R_CONF,
         "fetch_max_wait_ms"),
    _int("fetch.min.bytes", 1, 1, 100_000_000,
         "The broker answers a fetch once this many bytes are available.", R_CONF,
         "fetch_min_bytes"),
    _int("fetch.max.bytes", 52_428_800, 0, 2_147_483_135,
         "Most bytes one fetch response carries over all its partitions; the first batch"
         " comes whole even if larger (KIP-74).", R_CONF, "fetch_max_bytes"),
    _int("fetch.message.max.bytes", 1_048_576, 1, 1_000_000_000,
         "Most bytes one fetch response carries per partition; the first batch of the"
         " response comes whole even if larger (KIP-74).", R_CONF,
         "max_partition_fetch_bytes", aliases=("max.partition.fetch.bytes",)),
    _int("max.poll.interval.ms", 300_000, 1, 86_400_000,
         "Most time between consume calls before the member leaves the group.", R_CONF,
         "max_poll_interval_ms"),
    _int("session.timeout.ms", 45_000, 1, 3_600_000,
         "No heartbeat for this long and the coordinator removes the member.", R_CONF,
         "session_timeout_ms"),
    _int("heartbeat.interval.ms", 3000, 1, 3_600_000,
         "Time between heartbeats to the group coordinator.", R_CONF,
         "heartbeat_interval_ms"),
    Prop("isolation.level", "enum", "read_committed",
         "read_committed reads only below the LSO (librdkafka's default, unlike Java).",
         R_CONF, ("isolation_level",), choices=("read_uncommitted", "read_committed")),
    _int("socket.timeout.ms", 60_000, 10, 300_000,
         "Timeout for network requests; also bounds a synchronous commit (librdkafka has"
         " no default.api.timeout.ms).", R_CONF, "request_timeout_ms",
         "default_api_timeout_ms"),
    _int("retry.backoff.ms", 100, 1, 300_000,
         "Wait before retrying a failed request.", R_CONF, "retry_backoff_ms"),
    *_common_consumer_props("librdkafka"),
    *_security_props("librdkafka", R_CONF),
]

JAVA_PRODUCER_PROPS = [
    Prop("acks", "acks", "all",
         "Replicas that must have a record before it is acknowledged: 0, 1 (leader) or all"
         " (-1, the ISR). 1 before 3.0 (KIP-679).", J_PRODUCER, ("acks",)),
    _bool("enable.idempotence", True,
          "Broker dedup by producer id, epoch and sequence; on by default since 3.0.",
          J_PRODUCER, "enable_idempotence"),
    _int("retries", INT_MAX, 0, INT_MAX,
         "Retries of a failed send; bounded in practice by delivery.timeout.ms.",
         J_PRODUCER, "retries"),
    _int("delivery.timeout.ms", 120_000, 0, INT_MAX,
         "Upper bound on reporting a send's success or failure, retries included.",
         J_PRODUCER, "delivery_timeout_ms"),
    _int("request.timeout.ms", 30_000, 0, INT_MAX,
         "Longest the client waits for one produce response; also the produce request's"
         " timeout, after which the broker answers an acks=all write REQUEST_TIMED_OUT.",
         J_PRODUCER, "request_timeout_ms"),
    _int("linger.ms", 5, 0, LONG_MAX,
         "Wait this long for more records before sending a batch (0 before 4.0, KIP-1030).",
         J_PRODUCER, "linger_ms"),
    _int("batch.size", 16_384, 0, INT_MAX,
         "Batch size in bytes per partition; also the sticky partitioner's switch point.",
         J_PRODUCER, "batch_size"),
    _int("max.in.flight.requests.per.connection", 5, 1, INT_MAX,
         "Unacknowledged requests per broker; with idempotence at most 5 (order kept).",
         J_PRODUCER, "max_in_flight"),
    _int("max.request.size", 1_048_576, 0, INT_MAX,
         "Most bytes in one produce request: the sender drains one batch per partition"
         " of a broker into it up to this size (the first batch goes even if larger).",
         J_PRODUCER, "max_request_size"),
    _int("retry.backoff.ms", 100, 0, LONG_MAX,
         "Wait before retrying a failed send.", J_PRODUCER, "retry_backoff_ms"),
    _int("retry.backoff.max.ms", 1000, 0, LONG_MAX,
         "Cap of the exponential retry backoff (KIP-580, Kafka 3.7+).", J_PRODUCER,
         "retry_backoff_max_ms"),
    Prop("partitioner.class", "string", None,
         "Unset = the built-in partitioner: murmur2 of the key, sticky for null keys.",
         J_PRODUCER, nullable=True,
         not_modelled={"*": "custom partitioners are not modelled; leave partitioner.class"
                       " unset (null) to use the built-in murmur2 partitioner"}),
    Prop("client.id", "string", "", "Client id shown in logs and metrics.", J_PRODUCER),
    *_security_props("java", J_PRODUCER),
    Prop("transactional.id", "string", None,
         "Makes the producer transactional (implies idempotence): initTransactions() bumps"
         " its epoch and fences any older instance with the same id (KIP-98).", J_PRODUCER,
         ("transactional_id",), nullable=True),
    _int("transaction.timeout.ms", 60_000, 1, INT_MAX,
         "The coordinator aborts a transaction left open this long; at most the broker's"
         " transaction.max.timeout.ms (900000).", J_PRODUCER, "transaction_timeout_ms"),
]

LIBRDKAFKA_PARTITIONERS = ("random", "consistent", "consistent_random", "murmur2",
                           "murmur2_random", "fnv1a", "fnv1a_random")

LIBRDKAFKA_PRODUCER_PROPS = [
    Prop("request.required.acks", "acks", -1,
         "Replicas that must have a message before it is acknowledged: 0, 1 or all (-1).",
         R_CONF, ("acks",), aliases=("acks",)),
    _bool("enable.idempotence", False,
          "Idempotent producer; off by default in librdkafka (on in Java).", R_CONF,
          "enable_idempotence"),
    _int("message.send.max.retries", INT_MAX, 0, INT_MAX,
         "Retries of a failed message.", R_CONF, "retries", aliases=("retries",)),
    _int("message.timeout.ms", 300_000, 0, INT_MAX,
         "Local delivery timeout, retries included; 0 = infinite.", R_CONF,
         "delivery_timeout_ms", aliases=("delivery.timeout.ms",)),
    _int("request.timeout.ms", 30_000, 1, 900_000,
         "Produce request ack timeout, enforced by the broker only (acks=all: it answers"
         " REQUEST_TIMED_OUT); the client's own timeout is socket.timeout.ms.", R_CONF,
         "request_timeout_ms"),
    _int("socket.timeout.ms", 60_000, 10, 300_000,
         "The client gives up on a produce request after this, or after the first"
         " message's remaining message.timeout.ms if that is sooner.", R_CONF,
         "socket_timeout_ms"),
    _int("queue.buffering.max.ms", 5, 0, 900_000,
         "Wait this long for more messages before sending a batch.", R_CONF, "linger_ms",
         aliases=("linger.ms",)),
    _int("batch.size", 1_000_000, 1, INT_MAX,
         "Most bytes in one message batch.", R_CONF, "batch_size"),
    _int("max.in.flight.requests.per.connection", 1_000_000, 1, 1_000_000,
         "Unacknowledged requests per broker; idempotence lowers the default to 5.",
         R_CONF, "max_in_flight", aliases=("max.in.flight",)),
    _int("retry.backoff.ms", 100, 1, 300_000,
         "Wait before retrying a failed request.", R_CONF, "retry_backoff_ms"),
    _int("retry.backoff.max.ms", 1000, 1, 300_000,
         "Cap of the exponential retry backoff (librdkafka 2.2+).", R_CONF,
         "retry_backoff_max_ms"),
    Prop("partitioner", "enum", "consistent_random",
         "Key hashing: consistent* = CRC32, murmur2* = Java-compatible, fnv1a*; *_random"
         " spreads null keys randomly (consistent_random empty keys too; random ignores"
         " keys).", R_CONF, ("partitioner",),
         choices=LIBRDKAFKA_PARTITIONERS),
    Prop("client.id", "string", "rdkafka", "Client id shown in logs and metrics.", R_CONF),
    *_security_props("librdkafka", R_CONF),
    Prop("transactional.id", "string", None,
         "Makes the producer transactional (enables idempotence): init_transactions() bumps"
         " its epoch and fences any older instance with the same id.", R_CONF,
         ("transactional_id",), nullable=True),
    _int("transaction.timeout.ms", 60_000, 1000, INT_MAX,
         "The coordinator aborts a transaction left open this long; at most the broker's"
         " transaction.max.timeout.ms (900000).", R_CONF, "transaction_timeout_ms"),
]

TOPIC_PROPS = [
    _int("min.insync.replicas", 1, 1, INT_MAX,
         "acks=all writes need this many in-sync replicas (effective: min with the"
         " replication factor).", T_CONF, "min_insync_replicas"),
    _int("retention.ms", 604_800_000, -1, LONG_MAX,
         "Delete whole segments older than this; -1 = keep forever.", T_CONF,
         "retention_ms"),
    _int("retention.bytes", -1, -1, LONG_MAX,
         "Delete old segments once a partition is larger than this; -1 = no limit.",
         T_CONF, "retention_bytes"),
    _int("segment.ms", 604_800_000, 1, LONG_MAX,
         "Roll a new segment when a record is more than this newer than the active"
         " segment's first one.", T_CONF, "segment_ms"),
    _int("segment.bytes", 1_073_741_824, 14, INT_MAX,
         "Roll a new segment once the active one is this large.", T_CONF,
         "segment_bytes"),
    _bool("unclean.leader.election.enable", False,
          "Let an out-of-sync replica lead when no ISR member is alive (can lose acked"
          " records).", T_CONF, "unclean_leader_election"),
    Prop("cleanup.policy", "enum", "delete", "What happens to old segments: delete.",
         T_CONF, choices=("delete",),
         not_modelled={"compact*": "log compaction is not modelled yet; use delete"}),
]



B_CONF = "[S] ReplicationConfigs.java, KRaftConfigs.java"

RACK_AWARE_SELECTOR = "org.apache.kafka.common.replica.RackAwareReplicaSelector"

BROKER_PROPS = [
    Prop("replica.selector.class", "enum", None,
         "Which replica serves a consumer's fetches (KIP-392): null = the leader;"
         " RackAwareReplicaSelector = a replica in the consumer's client.rack.",
         "[S] ReplicationConfigs.java", ("rack_aware_reads",),
         choices=(RACK_AWARE_SELECTOR,), nullable=True,
         value_aliases={"rackawarereplicaselector": RACK_AWARE_SELECTOR,
                        RACK_AWARE_SELECTOR.lower(): RACK_AWARE_SELECTOR}),
    _int("replica.lag.time.max.ms", 30_000, 1, LONG_MAX,
         "A follower that has not caught up to the leader's log end for this long leaves"
         " the ISR (10000 before 2.5).", B_CONF, "replica_lag_time_max_ms"),
    _int("replica.fetch.wait.max.ms", 500, 0, 30_000,
         "Longest a leader holds a follower's fetch; at most replica.socket.timeout.ms"
         " (30000).", B_CONF, "replica_fetch_wait_max_ms"),
    _int("replica.fetch.max.bytes", 1_048_576, 0, INT_MAX,
         "Bytes a follower asks for per partition and fetch; the first batch comes whole"
         " even if larger.", B_CONF, "replica_fetch_max_bytes"),
    _int("replica.fetch.response.max.bytes", 10_485_760, 0, INT_MAX,
         "Bytes a follower asks for per fetch, all its partitions from that leader"
         " together; the first batch comes whole even if larger.", B_CONF,
         "replica_fetch_response_max_bytes"),
    _int("broker.session.timeout.ms", 9000, 1, INT_MAX,
         "KRaft: a broker without a heartbeat to the controller for this long is fenced"
         " and loses its leaderships.", B_CONF, "broker_session_timeout_ms"),
    _int("group.initial.rebalance.delay.ms", 3000, 0, INT_MAX,
         "How long the first rebalance of an empty group waits for more members to join.",
         "[S] GroupCoordinatorConfig.java", "group_initial_rebalance_delay_ms"),
    _int("group.consumer.heartbeat.interval.ms", 5000, 1, INT_MAX,
         "group.protocol=consumer: how often members heart-beat (the broker tells them).",
         "[S] GroupCoordinatorConfig.java", "group_consumer_heartbeat_interval_ms"),
    _int("group.consumer.session.timeout.ms", 45_000, 1, INT_MAX,
         "group.protocol=consumer: a member without a heartbeat for this long is removed.",
         "[S] GroupCoordinatorConfig.java", "group_consumer_session_timeout_ms"),
    _int("log.retention.check.interval.ms", 300_000, 1, LONG_MAX,
         "How often the broker looks for segments to delete.", "[S] ServerLogConfigs.java",
         "log_retention_check_interval_ms"),
    _int("log.initial.task.delay.ms", 30_000, 0, LONG_MAX,
         "How long after start-up the broker first looks for segments to delete.",
         "[S] ServerLogConfigs.java; LogManager.startup", "log_initial_task_delay_ms"),
    _int("offsets.retention.minutes", 10080, 1, INT_MAX,
         "Committed offsets of an empty group expire this long after it became empty, at"
         " the coordinator's next clean-up.",
         "[S] GroupCoordinatorConfig.java", "offsets_retention_minutes"),
    _int("offsets.retention.check.interval.ms", 600_000, 1, LONG_MAX,
         "How often the group coordinator removes expired offsets.",
         "[S] GroupCoordinatorConfig.java; GroupCoordinatorShard.cleanupGroupMetadata",
         "offsets_retention_check_interval_ms"),
]
# fmt: on


class Catalog:
    """The supported properties of one role and client family, indexed by every name."""

    def __init__(self, role: str, client: str | None, props: list[Prop]) -> None:
        self.role = role
        self.client = client
        self.label = f"{client} {role}" if client else role
        self.props = {p.name: p for p in props}
        self.index = {n: p for p in props for n in (p.name, *p.aliases)}

    def names_text(self) -> str:
        return ", ".join(self.props)


CATALOGS: dict[tuple[str, str | None], Catalog] = {
    ("consumer", "java"): Catalog("consumer", "java", JAVA_CONSUMER_PROPS),
    ("consumer", "librdkafka"): Catalog("consumer", "librdkafka", LIBRDKAFKA_CONSUMER_PROPS),
    ("producer", "java"): Catalog("producer", "java", JAVA_PRODUCER_PROPS),
    ("producer", "librdkafka"): Catalog("producer", "librdkafka", LIBRDKAFKA_PRODUCER_PROPS),
    ("topic", None): Catalog("topic", None, TOPIC_PROPS),
    ("broker", None): Catalog("broker", None, BROKER_PROPS),
}

# Spec fields fixed by the client family rather than by a property.
FIXED_FIELDS: dict[tuple[str, str | None], dict[str, Any]] = {
    # librdkafka hands the application one message per consume call: no max.poll.records.
    ("consumer", "librdkafka"): {"max_poll_records": 1},
    # Java's built-in partitioner hashes keys with murmur2 (BuiltInPartitioner.java).
    ("producer", "java"): {"partitioner": "murmur2"},
}


def catalog(role: str, client: str | None = None) -> Catalog:
    return CATALOGS[(role, client)]


# --- resolving a config mapping ------------------------------------------------------


def resolve_config(
    role: str, client: str | None, raw: Any, path: str
) -> tuple[dict[str, Any], dict[str, str]]:
    """Every supported property (canonical name -> normalised value), and what was set.

    `raw` is the user's `config:` mapping (None = empty); `path` names it in errors. The
    second result maps each canonical name the user set to the key as written (an alias
    such as `linger.ms` for librdkafka's `queue.buffering.max.ms`).
    """
    cat = catalog(role, client)
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        message = f"must be a mapping of {cat.label} properties, got {describe(raw)}"
        raise ScenarioError(path, message)
    given: dict[str, Any] = {}
    spelled: dict[str, str] = {}
    for key, value in raw.items():
        prop = _lookup(cat, key, path)
        if prop.name in spelled:
            message = f"sets {prop.name} a second time (already set as {spelled[prop.name]})"
            raise ScenarioError(f"{path}.{key}", message)
        given[prop.name] = parse_value(prop, value, f"{path}.{key}")
        spelled[prop.name] = key
    values = {
        name: given[name] if name in given else parse_value(prop, prop.default, name)
        for name, prop in cat.props.items()
    }
    return values, spelled


def spec_fields(role: str, client: str | None, values: Mapping[str, Any]) -> dict[str, Any]:
    """The typed spec fields filled from resolved property values."""
    fields = dict(FIXED_FIELDS.get((role, client), {}))
    for name, prop in catalog(role, client).props.items():
        for field_name in prop.fields:
            fields[field_name] = values[name]
    return fields


def _lookup(cat: Catalog, key: Any, path: str) -> Prop:
    if not isinstance(key, str):
        raise ScenarioError(path, f"property names must be text, got {describe(key)}")
    prop = cat.index.get(key)
    if prop is None:
        raise unknown_property(cat, key, path)
    return prop


# Properties of the other client family (or of nothing we model) that users paste.
# fmt: off
FOREIGN: dict[tuple[str, str], dict[str, tuple[str, str | None]]] = {
    ("consumer", "java"): {
        "enable.auto.offset.store": (
            "enable.auto.offset.store is a librdkafka property; the Java consumer has no"
            " offset store: auto-commit commits the consumer's position", None),
        "fetch.wait.max.ms": (
            "fetch.wait.max.ms is librdkafka's name; Java calls it fetch.max.wait.ms",
            "fetch.max.wait.ms"),
        "socket.timeout.ms": (
            "socket.timeout.ms is a librdkafka property; Java's equivalent is"
            " request.timeout.ms", "request.timeout.ms"),
    },
    ("consumer", "librdkafka"): {
        "client.rack": (
            "client.rack: follower fetching (KIP-392) is modelled for the Java consumer"
            " only; librdkafka has it too (since 1.5), but its preferred-replica rules are"
            " not modelled here", None),
        "max.poll.records": (
            "max.poll.records is a Java client property; librdkafka has no equivalent: the"
            " application consumes one message per poll", None),
        "fetch.max.wait.ms": (
            "fetch.max.wait.ms is Java's name; librdkafka calls it fetch.wait.max.ms",
            "fetch.wait.max.ms"),
        "default.api.timeout.ms": (
            "default.api.timeout.ms is a Java client property; librdkafka has no equivalent"
            " (socket.timeout.ms bounds its requests)", "socket.timeout.ms"),
        "request.timeout.ms": (
            "request.timeout.ms is a librdkafka producer property; the consumer's request"
            " timeout is socket.timeout.ms", "socket.timeout.ms"),
    },
    ("producer", "java"): {
        "request.required.acks": ("request.required.acks is librdkafka's name; Java calls"
                                  " it acks", "acks"),
        "message.send.max.retries": ("message.send.max.retries is librdkafka's name; Java"
                                     " calls it retries", "retries"),
        "message.timeout.ms": ("message.timeout.ms is librdkafka's name; Java calls it"
                               " delivery.timeout.ms", "delivery.timeout.ms"),
        "queue.buffering.max.ms": ("queue.buffering.max.ms is librdkafka's name; Java calls"
                                   " it linger.ms", "linger.ms"),
        "max.in.flight": ("max.in.flight is librdkafka's short name; Java calls it"
                          " max.in.flight.requests.per.connection",
                          "max.in.flight.requests.per.connection"),
        "partitioner": ("partitioner is a librdkafka property; the Java producer uses its"
                        " built-in murmur2 partitioner (partitioner.class unset)", None),
        "socket.timeout.ms": ("socket.timeout.ms is a librdkafka property; Java's equivalent"
                              " is request.timeout.ms", "request.timeout.ms"),
    },
    ("producer", "librdkafka"): {
        "partitioner.class": ("partitioner.class is a Java property; librdkafka picks a"
                              " built-in hash with partitioner", "partitioner"),
    },
}

NOT_MODELLED = {
    "group.id": "the group id comes from the consumer's group field; set it there",
    "bootstrap.servers": "not needed: clients connect to the simulated cluster",
    "metadata.broker.list": "not needed: clients connect to the simulated cluster",
    **{
        name: "is a real Kafka property, but the playground does not model it"
        for name in (
            "key.serializer", "value.serializer", "key.deserializer", "value.deserializer",
            "compression.type", "compression.codec", "buffer.memory", "max.block.ms",
            "allow.auto.create.topics", "check.crcs", "exclude.internal.topics",
            "max.message.bytes", "message.timestamp.type",
            "queued.max.messages.kbytes", "queue.buffering.max.messages",
            "enable.partition.eof", "statistics.interval.ms", "debug",
            "group.remote.assignor", "sticky.partitioning.linger.ms",
        )
    },
}


# fmt: on


def unknown_property(cat: Catalog, key: str, path: str) -> ScenarioError:
    """The most helpful error for a property `cat` does not support."""
    where = f"{path}.{key}"
    allowed = cat.names_text()
    foreign = FOREIGN.get((cat.role, cat.client or ""), {}).get(key)
    if foreign:
        return ScenarioError(where, foreign[0], allowed=allowed, suggestion=foreign[1])
    if key in NOT_MODELLED:
        why = NOT_MODELLED[key]
        message = f"{key} {why}" if why.startswith("is ") else why
        return ScenarioError(where, message, allowed=allowed)
    for other in CATALOGS.values():
        if key in other.index and other.role == cat.role:
            message = f"{key} is a {other.label} property; the {cat.label} does not have it"
            return ScenarioError(where, message, allowed=allowed)
    for other in CATALOGS.values():
        if key in other.index:
            place = {"topic": "topics[].config", "broker": "broker_config"}.get(
                other.role, f"{other.role}s[].config"
            )
            message = f"{key} is a {other.role} property (set it under {place})"
            return ScenarioError(where, message, allowed=allowed)
    suggestion = closest(key, cat.index)
    message = f"unknown {cat.label} property"
    return ScenarioError(where, message, allowed=allowed, suggestion=suggestion)
