"""Scenarios as the web app handles them: parse, permalink slugs, edits, injected faults.

Validation is simcore's (`ScenarioError` names the field); this module adds only what the
web needs around it: a size cap on pasted text, the content-addressed slug, the quick
fields of the config panel. The faults and changes the buttons add are in `injections`,
the one-setting variants of compare mode in `variants`.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import yaml
from django.http import QueryDict

from playground.models import SharedScenario
from playground.numbers import is_number, to_int
from simcore import (
    Scenario,
    ScenarioError,
    builtin_scenarios,
    loads_scenario,
    parse_scenario,
    scenario_digest,
)
from simcore.scenario.setting_notes import setting_notes
from simcore.scenario.spec import CLIENTS, COMMIT_STRATEGIES, RESET_POLICIES

MAX_TEXT_BYTES = 100_000  # pasted YAML/JSON; checked before parsing
SLUG_LENGTH = 16
SLUG = re.compile(f"[0-9a-f]{{{SLUG_LENGTH}}}")


def slug_of(scenario: Scenario) -> str:
    return scenario_digest(scenario)[:SLUG_LENGTH]


def parse_text(text: str, field: str = "yaml") -> Scenario:
    size = len(text.encode())
    if size > MAX_TEXT_BYTES:
        raise ScenarioError(
            field,
            f"is {size / 1000:.0f} kB; scenarios are limited to {MAX_TEXT_BYTES // 1000} kB",
            allowed=f"at most {MAX_TEXT_BYTES} bytes",
        )
    if not text.strip():
        raise ScenarioError(field, "is empty: paste a scenario in YAML or JSON")
    return loads_scenario(text)


def source_of(scenario: Scenario) -> dict[str, Any]:
    """A private, JSON-able copy of the scenario as it was written."""
    copied: dict[str, Any] = json.loads(json.dumps(scenario.source))
    return copied


def save(scenario: Scenario, parent: str = "") -> str:
    """The scenario's permalink; ``parent``: the link it was made from (the first one to
    make it is kept: a link's page never changes)."""
    slug = slug_of(scenario)
    defaults = {"source": source_of(scenario), "parent": parent if parent != slug else ""}
    SharedScenario.objects.get_or_create(slug=slug, defaults=defaults)
    return slug


def parent_of(slug: str) -> tuple[str, str] | None:
    """(slug, name) of the link this one was made from, if any and still readable."""
    row = SharedScenario.objects.filter(slug=slug).only("parent").first()
    if row is None or not row.parent:
        return None
    try:
        parent = find(row.parent)
    except ScenarioError:
        return None
    return None if parent is None else (row.parent, parent.name)


@lru_cache(maxsize=1)
def _parse_builtins() -> dict[str, tuple[str, Scenario]]:
    return {slug_of(sc): (name, sc) for name, sc in builtin_scenarios()}


_builtins_lock = threading.Lock()


def builtins_by_slug() -> dict[str, tuple[str, Scenario]]:
    """Parsed once per process: under the lock, 200 first visitors at once do not each
    parse every built-in (lru_cache alone lets them all in; load.md measured 40 s)."""
    with _builtins_lock:
        return _parse_builtins()


def find(slug: str) -> Scenario | None:
    """The scenario behind a permalink; raises ScenarioError if its source no longer parses.
    A slug that is not 16 hex digits is not looked up (PostgreSQL refuses a NUL in a query)."""
    if not SLUG.fullmatch(slug):
        return None
    row = SharedScenario.objects.filter(slug=slug).first()
    if row is not None:
        return parse_scenario(row.source)
    builtin = builtins_by_slug().get(slug)
    if builtin is None:
        return None
    save(builtin[1])  # so the link survives a later edit of the built-in file
    return builtin[1]


# --- the config panel's quick fields ---------------------------------------------------


@dataclass(frozen=True)
class QuickField:
    key: str  # path inside one consumer, as in the scenario file
    label: str
    choices: tuple[str, ...] = ()  # empty: a number input

    def name(self, index: int) -> str:
        """The form field name is the scenario path, so a ScenarioError.field finds it."""
        return f"consumers[{index}].{self.key}"


QUICK_FIELDS = (
    QuickField("client", "client", CLIENTS),
    QuickField("commit", "commit", COMMIT_STRATEGIES),
    QuickField("processing_ms", "processing ms"),
    QuickField("config.enable.auto.commit", "enable.auto.commit", ("true", "false")),
    QuickField("config.auto.commit.interval.ms", "auto.commit.interval.ms"),
    QuickField("config.auto.offset.reset", "auto.offset.reset", RESET_POLICIES),
)


def _current(scenario: Scenario, index: int, key: str) -> str:
    spec = scenario.consumers[index]
    value = {
        "client": spec.client,
        "commit": spec.commit,
        "processing_ms": spec.processing_ms,
        "config.enable.auto.commit": spec.enable_auto_commit,
        "config.auto.commit.interval.ms": spec.auto_commit_interval_ms,
        "config.auto.offset.reset": spec.auto_offset_reset,
    }[key]
    return str(value).lower() if isinstance(value, bool) else str(value)


def quick_fields(scenario: Scenario) -> list[dict[str, Any]]:
    """Per consumer: its id, the fields with their current (resolved) values, and notes on
    settings Kafka accepts that still change the lesson (simcore.scenario.setting_notes)."""
    notes = setting_notes(scenario)
    return [
        {
            "id": consumer.id,
            "notes": [n for n in notes if n["consumer"] == consumer.id],
            "fields": [
                {
                    "name": field.name(index),
                    "label": field.label,
                    "value": _current(scenario, index, field.key),
                    "choices": field.choices,
                }
                for field in QUICK_FIELDS
            ],
        }
        for index, consumer in enumerate(scenario.consumers)
        if not consumer.retry_listener  # generated after the source's consumers
    ]


def typed(raw: str, field: str) -> Any:
    """A form value as YAML would read it: true/false, a whole number (ASCII digits: "²" is
    text), else the text, which simcore then checks, naming the field."""
    text = raw.strip()
    if text in ("true", "false"):
        return text == "true"
    if is_number(text):
        return to_int(text, field)
    return text


def apply_quick_fields(scenario: Scenario, form: QueryDict) -> dict[str, Any]:
    """The source with every quick field that differs from the current value written in.

    Unchanged fields are left out, so an untouched form gives back the same scenario (and
    the same permalink) instead of one with every default spelled out.
    """
    source = source_of(scenario)
    title, about = form.get("name"), form.get("description")
    if about is not None:  # a browser sends a textarea's lines with CRLF
        about = about.replace("\r\n", "\n")
    for index in range(sum(1 for c in scenario.consumers if not c.retry_listener)):
        entry = source["consumers"][index]
        for field in QUICK_FIELDS:
            raw = form.get(field.name(index))
            if raw is None or raw.strip() == _current(scenario, index, field.key):
                continue
            if field.key.startswith("config."):
                key = field.key.removeprefix("config.")
                entry.setdefault("config", {})[key] = typed(raw, field.name(index))
            else:
                entry[field.key] = typed(raw, field.name(index))
    if about is not None and about.strip() != scenario.description.strip():
        source["description"] = about
    if title is not None and title.strip() and title.strip() != scenario.name:
        source["name"] = title.strip()
    elif source != source_of(scenario) and not scenario.name.endswith(EDITED):
        source["name"] = scenario.name + EDITED  # it no longer runs what its title says
    return source


EDITED = " (edited)"


# --- YAML for the editor -----------------------------------------------------------------


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def to_yaml(scenario: Scenario) -> str:
    return yaml.dump(
        source_of(scenario), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100
    )
