"""The ledger as the page tells it: a headline, tables, and what changed between two runs."""

from __future__ import annotations

from typing import Any

from playground.runner import RunData
from simcore.scenario.acl_text import listing
from simcore.scenario.questions import GROUP_COUNTERS as GROUP_COLUMNS
from simcore.scenario.questions import TOPIC_COUNTERS as TOPIC_COLUMNS
from simcore.scenario.spec import Scenario

# processed_never is skipped + unread: a comparison names the two parts, not the sum too
GROUP_CHANGE_COLUMNS = tuple(c for c in GROUP_COLUMNS if c != "processed_never")
COLUMN_LABELS = {
    "skipped": "skipped (never processed)",
    "unread": "not read yet (lag)",
}
# a pipeline's inputs by how many results a read_committed reader of its output sees
END_TO_END_COLUMNS = ("mode", "output", "inputs", "exactly_once", "never", "more_than_once",
                      "aborted_results")  # fmt: skip
END_TO_END_LABELS = {
    "exactly_once": "results seen once",
    "never": "never",
    "more_than_once": "more than once",
    "aborted_results": "aborted results (hidden)",
}
GROUP_FIGURES = ("rebalances", "paused_ms", "lag_status", "total_lag", "catch_up_ms")
PRODUCER_FIGURES = ("sends", "retries", "acks", "dedup", "failed")
MESSAGE_LINES = 20  # messages whose outcome changed, listed one by one
DESCRIBE_COLUMNS = (
    "GROUP",
    "TOPIC",
    "PARTITION",
    "CURRENT-OFFSET",
    "LOG-END-OFFSET",
    "LAG",
    "CONSUMER-ID",
    "HOST",
    "CLIENT-ID",
)


def headline(run: RunData) -> dict[str, Any]:
    """Counts a reader looks for first, and the verdict they add up to. A record no group
    processed is loss only if the group's committed offset is past it (`skipped`); at or
    above it (`unread`) it is lag, which a restart reads: the ledger splits the two for
    runs of any size."""
    ledger = run["summary"]["ledger"]
    groups = ledger["groups"].values()
    lost = sum(t["lost_acked"] for t in ledger["topics"].values())
    skipped = sum(g["skipped"] for g in groups)
    unread = sum(g["unread"] for g in groups)
    duplicated = sum(g["processed_multiple"] for g in groups)
    once = sum(g["processed_once"] for g in groups)
    # The log's own figures: with no consumer they are the whole story (the producer chapter).
    written_twice = sum(t.get("log_duplicates", 0) for t in ledger["topics"].values())
    reordered = sum(t.get("out_of_order", 0) for t in ledger["topics"].values())
    if lost or skipped:
        verdict = "loss"
    elif duplicated or written_twice:
        verdict = "duplicates"
    elif reordered:
        verdict = "out of order"
    elif unread:
        verdict = "unread"
    else:
        verdict = "exactly once"
    return {
        "lost": lost,
        "never": skipped,
        "unread": unread,
        "duplicated": duplicated,
        "once": once,
        "written_twice": written_twice,
        "reordered": reordered,
        "consumed": bool(ledger["groups"]),
        "verdict": verdict,
        "failed": sum(t.get("failed", 0) for t in ledger["topics"].values()),
        "refused": refused_clients(run["summary"].get("security", {})),
        "applications": applications(run["summary"].get("processing") or {}),
    }


def applications(processing: dict[str, Any]) -> list[dict[str, Any]]:
    """Beside Kafka's verdict, each application's own (issue 15): how its inputs ended
    and, with a sink, what it holds — a skipped record is lost there although Kafka
    counts it processed."""
    out = []
    for name, app in processing.items():
        sink = app.get("sink") or {}
        out.append(
            {
                "name": name,
                **app["inputs"],
                "sink": sink.get("kind"),
                "never_applied": sink.get("never_applied"),
                "applied_twice": sink.get("applied_twice_or_more"),
                "reordered": sink.get("key_order_violations"),
            }
        )
    return out


def refused_clients(security: dict[str, Any]) -> list[dict[str, str]]:
    """The clients a scenario's ``security:`` section kept out, each with why in a phrase."""
    out = []
    for client, access in security.items():
        if access["admitted"]:
            continue
        if not access["connected"]:
            why = f"cannot connect ({access['stage']})"
        else:
            denied = access["requests"][-1]
            why = f"{denied['operation']} on {denied['resource']} denied ({denied['rule']})"
        out.append({"client": client, "principal": access["principal"], "why": why})
    return out


def tables(run: RunData) -> dict[str, Any]:
    ledger = run["summary"]["ledger"]
    return {
        "topics": [
            (name, [row.get(c) for c in TOPIC_COLUMNS]) for name, row in ledger["topics"].items()
        ],
        "groups": [
            (name, [row.get(c) for c in GROUP_COLUMNS]) for name, row in ledger["groups"].items()
        ],
        "topic_columns": TOPIC_COLUMNS,
        "group_columns": GROUP_COLUMNS,
        "describe_columns": DESCRIBE_COLUMNS,
        "describe_rows": [[row[c] for c in DESCRIBE_COLUMNS] for row in run["summary"]["groups"]],
        "end_to_end": [
            (name, [row[c] for c in END_TO_END_COLUMNS], row)
            for name, row in run["summary"].get("end_to_end", {}).items()
        ],
        "end_to_end_columns": [END_TO_END_LABELS.get(c, c) for c in END_TO_END_COLUMNS],
    }


def group_figures(run: RunData) -> dict[str, dict[str, Any]]:
    """Per consumer group at the end: rebalances and their pauses, lag, its status."""
    out = {}
    for name, group in run["summary"].get("consumer_groups", {}).items():
        out[name] = {
            "group_protocol": group["group_protocol"],
            "state": group["state"],
            "generation": group["generation"],
            "protocol": group["protocol"],
            "rebalances": group["rebalances"]["count"],
            "paused_ms": group["rebalances"]["total_pause_ms"],
            "lag_status": group["lag_status"],
            "total_lag": sum(p["lag"] or 0 for p in group["partitions"]),
            "catch_up_ms": group["catch_up_ms"],
            "rebalance_list": group["rebalances"]["list"],
        }
    return out


def producer_figures(run: RunData) -> dict[str, dict[str, Any]]:
    """Per producer over the whole run: requests, retries, acks, errors by name."""
    last = run["last_frame"]
    return dict(last.get("produce", {})) if last else {}


def differences(old: RunData, new: RunData) -> list[str]:
    """Human sentences for every ledger count, group and producer figure and message
    outcome that changed."""
    out: list[str] = []
    for section, columns in (("topics", TOPIC_COLUMNS), ("groups", GROUP_CHANGE_COLUMNS)):
        before = old["summary"]["ledger"][section]
        after = new["summary"]["ledger"][section]
        out.extend(_changed(section[:-1], before, after, columns))
    out.extend(_changed("group", group_figures(old), group_figures(new), GROUP_FIGURES))
    before_p, after_p = producer_figures(old), producer_figures(new)
    out.extend(_changed("producer", before_p, after_p, PRODUCER_FIGURES))
    out.extend(_error_changes(before_p, after_p))
    before_a, after_a = processing_figures(old), processing_figures(new)
    out.extend(_changed("application", before_a, after_a, PROCESSING_FIGURES, PROCESSING_LABELS))
    out.extend(_message_changes(old["messages"], new["messages"]))
    return out


PROCESSING_FIGURES = (  # issue 15: each input's end, and the sink's view
    "succeeded",
    "dead_lettered",
    "skipped",
    "pending",
    "failed_attempts",
    "sink_rows",
    "sink_applied_twice_or_more",
    "sink_never_applied",
    "sink_dedup_hits",
    "sink_key_order_violations",
)


PROCESSING_LABELS = {  # the ledger's labels mean other things for these
    "skipped": "inputs skipped (logged, lost for the sink)",
    "pending": "inputs pending",
    "succeeded": "inputs succeeded",
}


def processing_figures(run: RunData) -> dict[str, dict[str, Any]]:
    """Per application with a processing block: its counts, flat (the sink's as sink_…)."""
    out: dict[str, dict[str, Any]] = {}
    for name, app in (run["summary"].get("processing") or {}).items():
        flat = dict(app["inputs"], failed_attempts=app["failed_attempts"])
        flat.update({f"sink_{k}": v for k, v in (app.get("sink") or {}).items()})
        out[name] = flat
    return out


def _changed(
    what: str,
    before: dict[str, Any],
    after: dict[str, Any],
    columns: tuple[str, ...],
    labels: dict[str, str] | None = None,
) -> list[str]:
    out = []
    for name in sorted(set(before) | set(after)):
        for column in columns:
            a = before.get(name, {}).get(column)
            b = after.get(name, {}).get(column)
            if a != b:
                label = (labels or COLUMN_LABELS).get(column, column.replace("_", " "))
                out.append(f"{what} {name}: {label} {_show(a)} → {_show(b)}")
    return out


def _error_changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    out = []
    for name in sorted(set(before) | set(after)):
        a = before.get(name, {}).get("errors", {})
        b = after.get(name, {}).get("errors", {})
        for error in sorted(set(a) | set(b)):
            if a.get(error, 0) != b.get(error, 0):
                out.append(f"producer {name}: {error} {a.get(error, 0)} → {b.get(error, 0)}")
    return out


def _message_changes(
    old: list[dict[str, Any]] | None, new: list[dict[str, Any]] | None
) -> list[str]:
    if old is None or new is None:
        return []
    before = {m["id"]: m["outcome"] for m in old}
    lines = [
        f"message {m['id']}: {before[m['id']]} → {m['outcome']}"
        for m in new
        if m["id"] in before and before[m["id"]] != m["outcome"]
    ]
    if len(lines) > MESSAGE_LINES:
        more = len(lines) - MESSAGE_LINES
        lines[MESSAGE_LINES:] = [f"… and {more} more messages (see the messages table)"]
    return lines


def _show(value: Any) -> str:
    return "–" if value is None else str(value)


CHART_W, CHART_H = 600, 120  # the staleness chart's SVG viewBox


def follower_fetching(run: RunData) -> list[dict[str, Any]]:
    """Per consumer with a ``client.rack``: its KIP-392 figures, and its staleness series as
    SVG polyline points (x: simulated time over the run, y: ms late, the run's maximum at
    the top) — drawn by the server, so it needs no script."""
    reads = run["summary"].get("follower_fetching", {})
    if not reads:
        return []
    last = run["last_frame"]  # a page's run has no frames (`page_facts`)
    end = max(1, last["t"] if last else 1)
    top = max([p[1] for r in reads.values() for p in r["staleness_series"]] + [1])
    rows = []
    for consumer, r in reads.items():
        points = " ".join(
            f"{round(t * CHART_W / end, 1)},{round(CHART_H - ms * CHART_H / top, 1)}"
            for t, ms, _f in r["staleness_series"]
        )
        rows.append({"consumer": consumer, "points": points, "top": top, **r})
    return rows


def security_view(scenario: Scenario, run: RunData) -> dict[str, Any] | None:
    """A run's ``security:`` section as the page shows it: each client's principal,
    connection and ACL decisions (from the run), the ACLs as ``kafka-acls --list`` prints
    them, and, per client, what to send to ``/acls`` to ask about its last request."""
    security = scenario.security
    if security is None:
        return None
    clients = []
    for client, access in run["summary"].get("security", {}).items():
        last = access["requests"][-1] if access["requests"] else None
        ask = None
        if last is not None:
            kind, name = last["resource"].split(" ", 1)
            ask = {
                "principal": access["principal"],
                "host": access["host"],
                "operation": last["operation"],
                "resource_type": kind,
                "name": name,
            }
        clients.append({"client": client, **access, "ask": ask})
    return {
        "listener": security.listener,
        "listing": listing(security.acls),
        "authorizer": security.authorizer,
        "super_users": ";".join(sorted(security.super_users)),
        "allow_everyone": security.allow_everyone_if_no_acl_found,
        "clients": clients,
    }
