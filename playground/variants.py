"""Compare mode: the same scenario with one setting changed, and what differs between two.

"Compare with…" on a scenario page picks one setting (say `acks`) and a value; `variant()`
writes that value into every producer (topic, consumer, or the broker) of the scenario,
which simcore validates again. Same seed, same everything else: the difference between
the two outcomes is the setting's doing. `source_differences()` lists, for any two
scenarios, the paths whose values differ — what the compare page says was changed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from playground.scenarios import source_of, typed
from simcore import Scenario, ScenarioError, parse_scenario
from simcore.scenario.spec import COMMIT_STRATEGIES

IGNORED_PATHS = ("name", "description")


@dataclass(frozen=True)
class Setting:
    scope: str  # producers, topics, consumers, processing (consumers' blocks) or broker
    key: str  # the Kafka property (under `config`) or the scenario field
    hint: str  # the values to offer
    aliases: tuple[str, ...] = ()  # other spellings of the property (librdkafka)
    field: bool = False  # a scenario field (processing_ms), not a `config` property
    # value -> properties the client refuses next to it, removed from the variant (the
    # compare page lists them among the differences)
    drops: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def name(self) -> str:
        return f"{self.scope}.{self.key}"

    @property
    def label(self) -> str:
        where = {
            "producers": "every producer",
            "topics": "every topic",
            "consumers": "every consumer",
            "processing": "every processing block",
        }.get(self.scope, "the broker")
        return f"{self.key} — {where} ({self.hint})"


SETTINGS = (
    Setting("producers", "acks", "0, 1, all", ("request.required.acks",)),
    Setting("producers", "enable.idempotence", "true, false"),
    Setting(
        "producers",
        "max.in.flight.requests.per.connection",
        "1 … 5 with idempotence",
        ("max.in.flight",),
    ),
    Setting("producers", "retries", "0 … 2147483647", ("message.send.max.retries",)),
    Setting("producers", "linger.ms", "ms", ("queue.buffering.max.ms",)),
    Setting("producers", "delivery.timeout.ms", "ms", ("message.timeout.ms",)),
    Setting("topics", "min.insync.replicas", "1 … replication factor"),
    Setting("topics", "unclean.leader.election.enable", "true, false"),
    Setting("topics", "replication_factor", "1 … brokers", field=True),
    Setting("topics", "retention.ms", "ms, -1 = forever"),
    Setting(
        "consumers",
        "partition.assignment.strategy",
        "RangeAssignor, RoundRobinAssignor, StickyAssignor, CooperativeStickyAssignor"
        " (librdkafka: range, roundrobin, cooperative-sticky)",
    ),
    Setting(
        "consumers",
        "group.protocol",
        "classic, consumer (KIP-848)",
        drops=(
            (
                "consumer",
                ("partition.assignment.strategy", "session.timeout.ms", "heartbeat.interval.ms"),
            ),
            ("classic", ("group.remote.assignor",)),
        ),
    ),
    Setting("consumers", "processing_ms", "ms per record", field=True),
    Setting("consumers", "max.poll.records", "1 …"),
    Setting("consumers", "commit", ", ".join(COMMIT_STRATEGIES), field=True),
    Setting("consumers", "enable.auto.commit", "true, false"),
    Setting("consumers", "auto.commit.interval.ms", "ms"),
    Setting("consumers", "max.poll.interval.ms", "ms"),
    Setting("consumers", "session.timeout.ms", "ms"),
    Setting("broker", "replica.lag.time.max.ms", "ms"),
    # a consumer's processing block (issue 15): the error handling and the sink
    Setting("processing", "sink", "none, naive, idempotent", field=True),
    Setting(
        "processing",
        "on_failure",
        "retry, skip, dead_letter, retry_topics (needs retry_delays)",
        field=True,
        drops=(  # what the new error handling refuses next to it (scenario/processing.py)
            ("skip", ("max_attempts", "dead_letter_topic", "retry_delays")),
            ("retry", ("dead_letter_topic", "retry_delays")),
            ("dead_letter", ("retry_delays",)),
            ("retry_topics", ("max_attempts",)),
        ),
    ),
    Setting("processing", "max_attempts", "1 … 1000, unlimited (retry)", field=True),
)
BY_NAME = {s.name: s for s in SETTINGS}


def choices(scenario: Scenario) -> list[dict[str, str]]:
    """The settings that apply to this scenario (it has producers, consumers, …)."""
    present = {
        "producers": bool(scenario.producers),
        "topics": bool(scenario.topics),
        "consumers": bool(scenario.consumers),
        "processing": bool(_processing_blocks(scenario)),
        "broker": True,
    }
    return [
        {"name": s.name, "label": s.label, "current": current(scenario, s)}
        for s in SETTINGS
        if present[s.scope]
    ]


def current(scenario: Scenario, setting: Setting) -> str:
    """The first entity's resolved value, as the user would type it."""
    entities: tuple[Any, ...]
    if setting.scope == "processing":
        entities = _processing_blocks(scenario)
    elif setting.scope == "broker":
        entities = (scenario.broker,)
    else:
        entities = getattr(scenario, setting.scope)
    if not entities:
        return ""
    entity = entities[0]
    if setting.field:
        value = getattr(entity, setting.key)
    else:
        config = entity.config
        value = next((config[k] for k in (setting.key, *setting.aliases) if k in config), "")
    if isinstance(value, bool):
        return str(value).lower()
    if setting.key == "acks" and value in (-1, "-1"):
        return "all"
    if setting.key == "partition.assignment.strategy":  # Java's full class names
        return ", ".join(name.rsplit(".", 1)[-1] for name in str(value).split(","))
    return str(value)


def variant(scenario: Scenario, setting_name: str, raw: str) -> Scenario:
    """The scenario with `setting` set to `raw` everywhere it applies."""
    setting = BY_NAME.get(setting_name)
    if setting is None:
        allowed = ", ".join(BY_NAME)
        raise ScenarioError("setting", f"unknown setting {setting_name!r}", allowed=allowed)
    if not raw.strip():
        raise ScenarioError(
            "value", f"is empty: give a value for {setting.key}", allowed=setting.hint
        )
    value = typed(raw, "value")
    source = source_of(scenario)
    if setting.scope == "broker":
        entities = [source.setdefault("broker_config", {})]
    elif setting.scope == "processing":
        entities = [c["processing"] for c in source.get("consumers") or [] if "processing" in c]
    else:
        entities = source.get(setting.scope) or []
    if not entities:
        raise ScenarioError("setting", f"this scenario has no {setting.scope}")
    for entity in entities:
        if setting.field:
            for key in dict(setting.drops).get(str(value).strip().lower(), ()):
                entity.pop(key, None)
            entity[setting.key] = value
            continue
        config = entity if setting.scope == "broker" else entity.setdefault("config", {})
        for alias in setting.aliases:
            config.pop(alias, None)
        for key in dict(setting.drops).get(str(value).strip().lower(), ()):
            config.pop(key, None)
        config[setting.key] = value
    # side B of the compare page is titled by its own settings, not A's
    base = str(source.get("name", "")).split(" — with ", 1)[0]
    source["name"] = f"{base} — with {setting.key}: {_shown(value)}"
    return parse_scenario(source)


def _processing_blocks(scenario: Scenario) -> tuple[Any, ...]:
    """The processing blocks the scenario's own consumers have (not the generated retry
    listeners')."""
    return tuple(c.processing for c in scenario.consumers if c.processing and not c.retry_listener)


def source_differences(old: Scenario, new: Scenario) -> list[dict[str, Any]]:
    """Every path whose value differs between the two sources: {path, old, new}. A list
    item (a consumer, a fault) that only one side has is one entry, not one per field."""
    out: list[dict[str, Any]] = []
    _diff(source_of(old), source_of(new), "", out)
    out = [d for d in out if not d["path"].startswith(IGNORED_PATHS)]
    return sorted(out, key=lambda d: _path_order(d["path"]))


def _diff(a: Any, b: Any, path: str, out: list[dict[str, Any]]) -> None:
    if a is None and b and _records(b):
        a = []  # `faults:` absent on one side, a list of faults on the other
    if b is None and a and _records(a):
        b = []
    if isinstance(a, dict) and isinstance(b, dict):
        for key in list(a) + [k for k in b if k not in a]:
            _diff(a.get(key), b.get(key), f"{path}.{key}" if path else str(key), out)
    elif _records(a) and _records(b):
        for index in range(max(len(a), len(b))):
            left = a[index] if index < len(a) else None
            right = b[index] if index < len(b) else None
            _diff(left, right, f"{path}[{index}]", out)
    elif a != b:
        shown = _fault_words if re.fullmatch(r"faults\[\d+\]", path) else _shown
        out.append({"path": path, "old": shown(a), "new": shown(b)})


FAULT_WORDS = {  # a fault as a sentence: "<target> <words> at <at_ms> ms (…)"
    "crash": "crashes",
    "stop": "closes",
    "commit_fail": "has commits fail",
    "commit_timeout": "has commits time out",
    "kill_broker": "dies",
    "isolate_broker": "is cut off",
    "slow_follower": "has its followers fetch slowly",
    "drop_produce_response": "loses produce answers",
    "delay_produce_response": "gets produce answers late",
    "produce_error": "gets produce errors",
}


def _fault_words(value: Any) -> str | None:
    """A fault in words ("c1 crashes at 4010 ms (restart after 1000 ms)"), not as its
    fields; anything else as `_shown` writes it."""
    if not isinstance(value, dict) or value.get("action") not in FAULT_WORDS:
        return _shown(value)
    rest = [
        _field_words(key, v)
        for key, v in value.items()
        if key not in ("action", "target", "at_ms", "injected") and v is not None
    ]
    words = (
        f"{value.get('target', '?')} {FAULT_WORDS[value['action']]} at {value.get('at_ms', 0)} ms"
    )
    return words + (f" ({', '.join(rest)})" if rest else "")


def _field_words(key: str, value: Any) -> str:
    """`restart_after_ms: 1000` → "restart after 1000 ms"; `count: 2` → "count 2"."""
    unit = " ms" if key.endswith("_ms") else ""
    return f"{key.removesuffix('_ms').replace('_', ' ')} {_shown(value)}{unit}"


def _records(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, dict) for v in value)


def _shown(value: Any) -> str | None:
    """In words: scalars as the scenario's JSON writes them (true, not True), a record
    (a consumer, a fault) as its ``key: value`` pairs, a list as its items; None when
    absent."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict):
        return ", ".join(
            f"{k}: {{{_shown(v)}}}" if isinstance(v, dict) else f"{k}: {_shown(v)}"
            for k, v in value.items()
        )
    if isinstance(value, list):
        return "[" + ", ".join(str(_shown(v)) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def _path_order(path: str) -> tuple[int, str]:
    top = path.split(".", 1)[0].split("[", 1)[0]
    order = ("seed", "duration_ms", "brokers", "broker_config", "topics", "producers")
    return (order.index(top) if top in order else len(order), path)
