"""A run as files: CSV (timeline, event log, per-message ledger, lag series), the full run
as versioned JSON, and a Markdown summary for an incident write-up.

Every function takes plain data — a `Result`'s `frames()`, `messages()`, `series()` and
`summary()`, or the same shapes the web keeps for a run — so the CLI
(`python -m simcore run FILE --csv DIR --markdown`) and the web's download links write the
same files. The JSON format is documented in docs/run-format.md; `RUN_FORMAT_VERSION`
changes when a field changes meaning or goes away (new fields may appear within a version).

CSV cells that hold text a scenario author chose (ids, keys, values, event text) and begin
with `=`, `+`, `-`, `@`, a tab or a carriage return get a leading `'`, so a spreadsheet
shows them instead of evaluating them (OWASP "CSV injection").
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from simcore.scenario.spec import Scenario

RUN_FORMAT = "kafka-playground-run"
RUN_FORMAT_VERSION = 2
CSV_FILES = ("timeline.csv", "events.csv", "messages.csv", "lag.csv")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_EVENT_KEYS = ("i", "t", "kind", "actor", "text", "injected")


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return out.getvalue()


def events_of(frames: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Every event the frames carry, in order."""
    return [dict(e) for frame in frames for e in frame.get("events", [])]


def timeline_csv(events: Iterable[Mapping[str, Any]]) -> str:
    """One row per typed event: time, kind, actor, injected, and its other fields as JSON."""
    rows = []
    for e in events:
        fields = {k: v for k, v in e.items() if k not in _EVENT_KEYS}
        rows.append(
            (
                e["t"],
                e.get("kind", ""),
                e.get("actor", ""),
                int(bool(e.get("injected"))),
                json.dumps(fields, sort_keys=True, separators=(",", ":")),
            )
        )
    return _csv(("t_ms", "kind", "actor", "injected", "fields"), rows)


def event_log_csv(events: Iterable[Mapping[str, Any]]) -> str:
    """The event log as the page shows it: time, actor, the sentence, injected."""
    rows = [
        (e["t"], e.get("actor", ""), e.get("text", ""), int(bool(e.get("injected"))))
        for e in events
    ]
    return _csv(("t_ms", "actor", "text", "injected"), rows)


def messages_csv(messages: Sequence[Mapping[str, Any]] | None) -> str:
    """The per-message ledger: one row per message (small runs; a large run keeps counts
    only, and its file has the header alone)."""
    header = (
        "id",
        "producer",
        "topic",
        "partition",
        "key",
        "value",
        "offsets",
        "acked",
        "failed",
        "processed",
        "outcome",
    )
    rows = [
        (
            m["id"],
            m.get("producer", ""),
            m.get("topic", ""),
            "" if m.get("partition") is None else m["partition"],
            "" if m.get("key") is None else m["key"],
            m.get("value", ""),
            " ".join(str(o) for o in m.get("offsets", [])),
            int(bool(m.get("acked"))),
            int(bool(m.get("failed"))),
            " ".join(f"{g}={n}" for g, n in sorted(m.get("processed", {}).items())),
            m.get("outcome", ""),
        )
        for m in messages or []
    ]
    return _csv(header, rows)


def lag_csv(series: Mapping[str, Any]) -> str:
    """The offsets-and-lag series in long form: per time and group/partition, the committed
    offset, the position, the lag, and the partition's HW and LEO (blank: no value yet)."""
    times = series.get("t", [])
    parts = series.get("partitions", {})
    rows = []
    for name, values in sorted(series.get("groups", {}).items()):
        group, _, partition = name.partition("/")
        log = parts.get(partition, {})
        for k, t in enumerate(times):
            rows.append(
                (
                    t,
                    group,
                    partition,
                    _at(values.get("committed"), k),
                    _at(values.get("position"), k),
                    _at(values.get("lag"), k),
                    _at(log.get("hw"), k),
                    _at(log.get("leo"), k),
                )
            )
    header = ("t_ms", "group", "partition", "committed", "position", "lag", "hw", "leo")
    return _csv(header, rows)


def _at(values: Sequence[Any] | None, k: int) -> Any:
    if not values or k >= len(values) or values[k] is None:
        return ""
    return values[k]


def csv_files(
    frames: Sequence[Mapping[str, Any]],
    messages: Sequence[Mapping[str, Any]] | None,
    series: Mapping[str, Any],
) -> dict[str, str]:
    """The four CSV files by name (CSV_FILES)."""
    events = events_of(frames)
    return {
        "timeline.csv": timeline_csv(events),
        "events.csv": event_log_csv(events),
        "messages.csv": messages_csv(messages),
        "lag.csv": lag_csv(series),
    }


def run_document(
    scenario: Scenario,
    summary: Mapping[str, Any],
    frames: Sequence[Mapping[str, Any]],
    messages: Sequence[Mapping[str, Any]] | None,
    series: Mapping[str, Any],
    simcore_version: str,
) -> dict[str, Any]:
    """The whole run as one JSON-able object (docs/run-format.md)."""
    return {
        "format": RUN_FORMAT,
        "version": RUN_FORMAT_VERSION,
        "simcore_version": simcore_version,
        "name": scenario.name,
        "seed": scenario.seed,
        "digest": summary.get("digest"),
        "scenario": json.loads(json.dumps(scenario.source)),
        "summary": summary,
        "frames": [{k: v for k, v in f.items() if k != "snapshot"} for f in frames],
        "messages": messages,
        "series": series,
    }


# --- Markdown --------------------------------------------------------------------------------


def _md(text: Any) -> str:
    """A table cell: pipes and newlines would break the row."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def settings_rows(scenario: Scenario) -> list[tuple[str, str, str]]:
    """(where, setting, value): what an incident write-up lists about the set-up."""
    rows = [("cluster", "brokers", str(scenario.brokers))]
    for t in scenario.topics:
        rows += [
            (f"topic {t.name}", "partitions", str(t.partitions)),
            (f"topic {t.name}", "replication.factor", str(t.replication_factor)),
            (f"topic {t.name}", "min.insync.replicas", str(t.min_insync_replicas)),
            (
                f"topic {t.name}",
                "unclean.leader.election.enable",
                str(t.unclean_leader_election).lower(),
            ),
        ]
    for p in scenario.producers:
        rows += [
            (f"producer {p.id}", "acks", p.acks_text),
            (f"producer {p.id}", "enable.idempotence", str(p.enable_idempotence).lower()),
            (
                f"producer {p.id}",
                "max.in.flight.requests.per.connection",
                str(p.max_in_flight),
            ),
        ]
    for c in scenario.consumers:
        rows += [
            (f"consumer {c.id}", "client", c.client),
            (f"consumer {c.id}", "group.id", c.group),
            (f"consumer {c.id}", "commit", c.commit),
            (f"consumer {c.id}", "enable.auto.commit", str(c.enable_auto_commit).lower()),
            (f"consumer {c.id}", "auto.offset.reset", c.auto_offset_reset),
        ]
    for f in scenario.faults:
        at = f"at {f.at_ms} ms" if f.at_ms is not None else ""
        rows.append(("fault", f.action, f"{f.target} {at}".strip()))
    return rows


def markdown_summary(
    scenario: Scenario, summary: Mapping[str, Any], link: str | None = None
) -> str:
    """Settings, outcome and link, to paste into an incident write-up."""
    lines = [f"## {scenario.name}", ""]
    if link:
        lines += [f"Replay: <{link}> (seed {scenario.seed}, the same run for everyone)", ""]
    else:
        lines += [f"Seed {scenario.seed}, digest `{str(summary.get('digest', ''))[:16]}`", ""]
    lines += ["### Settings", "", "| where | setting | value |", "| --- | --- | --- |"]
    lines += [f"| {_md(w)} | `{_md(s)}` | {_md(v)} |" for w, s, v in settings_rows(scenario)]
    lines += ["", "### Outcome", ""]
    ledger = summary.get("ledger", {})
    lines += ["| topic | sent | acked | in log | acknowledged, then lost | duplicates |"]
    lines += ["| --- | --- | --- | --- | --- | --- |"]
    for topic, c in ledger.get("topics", {}).items():
        lines.append(
            f"| {_md(topic)} | {c['sent']} | {c['acked']} | {c['in_log']} |"
            f" {c['lost_acked']} | {c['log_duplicates']} |"
        )
    groups = ledger.get("groups", {})
    if groups:
        lines += ["", "| group | processed once | never processed | more than once |"]
        lines += ["| --- | --- | --- | --- |"]
        for group, c in groups.items():
            lines.append(
                f"| {_md(group)} | {c['processed_once']} | {c['processed_never']} |"
                f" {c['processed_multiple']} |"
            )
    lines += _processing_lines(summary.get("processing") or {})
    for error in summary.get("errors", []):
        lines.append(f"\nError: {_md(error)}")
    return "\n".join(lines) + "\n"


def _processing_lines(apps: Mapping[str, Any]) -> list[str]:
    """Processing failures (issue 15): each input's end, and the sink's view."""
    if not apps:
        return []
    lines = ["", "| application | on failure | inputs | succeeded | dead-lettered | skipped |"
             " pending | sink rows | applied twice or more | never applied |"]  # fmt: skip
    lines.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, app in apps.items():
        i, sink = app["inputs"], app.get("sink")
        rows = "–" if sink is None else sink["rows"]
        twice = "–" if sink is None else sink["applied_twice_or_more"]
        never = "–" if sink is None else sink["never_applied"]
        lines.append(
            f"| {_md(name)} | {app['on_failure']} | {i['total']} | {i['succeeded']} |"
            f" {i['dead_lettered']} | {i['skipped']} | {i['pending']} | {rows} | {twice} |"
            f" {never} |"
        )
    return lines
