"""The ledger as the page tells it: a headline, tables, and what changed between two runs."""

from __future__ import annotations

from typing import Any

from playground.runner import RunData

TOPIC_COLUMNS = ("sent", "acked", "failed", "in_log", "lost_acked", "log_duplicates")
GROUP_COLUMNS = ("processed_once", "processed_never", "processed_multiple", "processing_total")
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
    """Counts a reader looks for first, and the verdict they add up to."""
    ledger = run["summary"]["ledger"]
    lost = sum(t["lost_acked"] for t in ledger["topics"].values())
    never = sum(g["processed_never"] for g in ledger["groups"].values())
    duplicated = sum(g["processed_multiple"] for g in ledger["groups"].values())
    once = sum(g["processed_once"] for g in ledger["groups"].values())
    if lost or never:
        verdict = "loss"
    elif duplicated:
        verdict = "duplicates"
    else:
        verdict = "exactly once"
    return {
        "lost": lost,
        "never": never,
        "duplicated": duplicated,
        "once": once,
        "verdict": verdict,
    }


def tables(run: RunData) -> dict[str, Any]:
    ledger = run["summary"]["ledger"]
    return {
        "topics": [
            (name, [row[c] for c in TOPIC_COLUMNS]) for name, row in ledger["topics"].items()
        ],
        "groups": [
            (name, [row[c] for c in GROUP_COLUMNS]) for name, row in ledger["groups"].items()
        ],
        "topic_columns": TOPIC_COLUMNS,
        "group_columns": GROUP_COLUMNS,
        "describe_columns": DESCRIBE_COLUMNS,
        "describe_rows": [[row[c] for c in DESCRIBE_COLUMNS] for row in run["summary"]["groups"]],
    }


def differences(old: RunData, new: RunData) -> list[str]:
    """Human sentences for every ledger count and message outcome that changed."""
    out: list[str] = []
    for section, columns in (("topics", TOPIC_COLUMNS), ("groups", GROUP_COLUMNS)):
        before = old["summary"]["ledger"][section]
        after = new["summary"]["ledger"][section]
        for name in sorted(set(before) | set(after)):
            for column in columns:
                a = before.get(name, {}).get(column)
                b = after.get(name, {}).get(column)
                if a != b:
                    label = column.replace("_", " ")
                    out.append(f"{section[:-1]} {name}: {label} {_show(a)} → {_show(b)}")
    out.extend(_message_changes(old["messages"], new["messages"]))
    return out


def _message_changes(
    old: list[dict[str, Any]] | None, new: list[dict[str, Any]] | None
) -> list[str]:
    if old is None or new is None:
        return []
    before = {m["id"]: m["outcome"] for m in old}
    return [
        f"message {m['id']}: {before[m['id']]} → {m['outcome']}"
        for m in new
        if m["id"] in before and before[m["id"]] != m["outcome"]
    ]


def _show(value: Any) -> str:
    return "–" if value is None else str(value)
