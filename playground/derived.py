"""What the panels show beyond simcore's frames, read off a finished Result in the worker.

Nothing here simulates: it counts timeline events up to each frame (the producer panel's
retries and errors by name), reads `Result.metrics()` at each frame's snapshot (the metrics
table and the Prometheus endpoint; a frame's `snapshot` says which), and regroups
`Result.messages()` (the acknowledged records that were lost, each partition's log in
offset order against send order, and which never-processed records are still to read).
Runs next to `simcore.simulate()` in a runner worker, so the web process gets plain data.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from simcore import Result
from simcore.report.result import LOST_ACKED, NEVER_PROCESSED

LOG_ORDER_LIMIT = 200  # records per partition in the log-order table; beyond, counts only
UNREAD = "not read yet (lag)"  # … when it is at or above the committed offset: lag, not loss
INJECTED_SUFFIX = " (injected)"  # simcore's narrative says so; the page tags it instead


def produce_counts(result: Result, snapshots: list[int]) -> list[dict[str, Any]]:
    """Per frame (`snapshots`: each frame's `snapshot`), per producer: produce requests
    (sends), retries and acked batches from the snapshot's counters; dedups, failures and
    errors by name counted over every event up to that frame (a frame's own event list
    may be sampled, and a large run's timeline does not itemise sends and acks)."""
    producers = [p.spec.id for p in result.sim.producers]
    counts = {p: _empty_counts() for p in producers}
    out: list[dict[str, Any]] = []
    done = 0
    recorded = result.sim.recorder.snapshots
    for index in snapshots:
        snap = recorded[index]
        upto = snap.n_events
        for _t, kind, actor, fields in result.events[done:upto]:
            _count(counts, kind, actor, fields)
        done = upto
        frame = {}
        for p, figures in zip(producers, snap.producers, strict=True):
            c = counts[p]
            frame[p] = {
                "sends": figures.batches_sent,
                "retries": figures.retries_sent,
                "acks": figures.batches_acked,
                "dedup": c["dedup"],
                "failed": c["failed"],
                "errors": dict(c["errors"]),
            }
        out.append(frame)
    return out


def _empty_counts() -> dict[str, Any]:
    return {"dedup": 0, "failed": 0, "errors": Counter()}


def _count(counts: dict[str, dict[str, Any]], kind: str, actor: str, f: dict[str, Any]) -> None:
    if kind == "dedup":
        actor = f.get("producer", "")
    mine = counts.get(actor)
    if mine is None:
        return
    if kind == "dedup":
        mine["dedup"] += 1
    elif kind == "produce_error":
        mine["errors"][f.get("error", "?")] += 1
    elif kind == "produce_failed":
        mine["failed"] += 1
        mine["errors"][f"gave up: {f.get('error', '?')}"] += 1


def metrics_per_frame(
    result: Result, snapshots: list[int]
) -> tuple[list[dict[str, Any]], list[list[float | None]]]:
    """(keys, values): each metric's name, group and labels once; per frame its values in
    that order (None where the metric has no value at that point)."""
    keys: list[dict[str, Any]] = []
    position: dict[tuple[str, str, tuple[tuple[str, str], ...]], int] = {}
    rows: list[dict[int, float | None]] = []
    for index in snapshots:
        row: dict[int, float | None] = {}
        for item in result.metrics(index):
            key = (item["name"], item["group"], tuple(sorted(item["labels"].items())))
            if key not in position:
                position[key] = len(keys)
                keys.append({k: item[k] for k in ("name", "group", "labels")})
            row[position[key]] = item["value"]
        rows.append(row)
    return keys, [[row.get(k) for k in range(len(keys))] for row in rows]


def strip_injected_suffix(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The page marks an injected event with a tag of its own: without this, a rate or
    processing change would read "… (injected) injected"."""
    for frame in frames:
        for event in frame["events"]:
            if event.get("injected"):
                event["text"] = event["text"].removesuffix(INJECTED_SUFFIX)
    return frames


def unread_outcomes(result: Result) -> list[dict[str, Any]] | None:
    """simcore's per-message outcomes, with "never processed" split as the ledger's groups
    split `processed_never`: a record that every group which missed it can still read (at
    or above that group's skip mark at the end — its committed offset, or where
    `auto.offset.reset=latest` started it) is lag, `UNREAD`; one below it was skipped and
    stays "never processed". Small runs only (a big run has no per-message rows); the
    ledger's `skipped` and `unread` are exact either way."""
    messages = result.messages()
    if messages is None:
        return None
    out = []
    for m in messages:
        missed = [group for group, count in m["processed"].items() if not count]
        if m["outcome"] == NEVER_PROCESSED and all(_unread(result, m, g) for g in missed):
            m = {**m, "outcome": UNREAD}  # a copy: the Result keeps its own rows
        out.append(m)
    return out


def _unread(result: Result, m: dict[str, Any], group: str) -> bool:
    mark = result.skip_mark(group, (m["topic"], m["partition"]))
    return mark is None or min(m["offsets"]) >= mark


EXPIRED = "expired by retention"


def expired_outcomes(
    messages: list[dict[str, Any]] | None, fates: dict[str, Any] | None
) -> list[dict[str, Any]] | None:
    """simcore tells a record that retention deleted as "lost (acknowledged, not in the
    log)"; the ledger counts it as expired, and so does the strip (`fates`: its entry never
    left the log, the log start passed it). The messages say the same."""
    if not messages or not fates:
        return messages
    stayed = {
        entry[1]
        for part in fates["partitions"].values()
        for entry in part["entries"]
        if entry[3] is None
    }
    return [
        {**m, "outcome": EXPIRED} if m["outcome"] == LOST_ACKED and m["id"] in stayed else m
        for m in messages
    ]


def lost_messages(result: Result, messages: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """Acknowledged records that are not in the log, with when and where they were acked."""
    if not messages:
        return []
    lost = {
        (m["producer"], b): m for m in messages if m["outcome"] == LOST_ACKED
        for b in m["batches"]
    }  # fmt: skip
    if not lost:
        return []
    acked: dict[str, dict[str, Any]] = {}
    for t, kind, actor, f in result.events:
        m = lost.get((actor, f.get("batch"))) if kind == "ack" else None
        if m is None:
            continue
        base = f.get("base", -1)
        offset = base + m["i"] - f["first"] if base is not None and base >= 0 else None
        acked[m["id"]] = {"acked_ms": t, "offset": offset}
    rows = {m["id"]: m for m in lost.values()}
    return [
        {
            "id": msg_id,
            "partition": f"{m['topic']}-{m['partition']}",
            "acked_ms": acked.get(msg_id, {}).get("acked_ms"),
            "offset": acked.get(msg_id, {}).get("offset"),
        }
        for msg_id, m in sorted(rows.items(), key=lambda kv: (kv[1]["producer"], kv[1]["i"]))
    ]


def log_order(messages: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    """Each partition's final log, offset by offset: which message, and whether its first
    copy landed behind a later-sent message of the same producer (out of order) or is a
    second copy (duplicate). The same rule as the ledger's `out_of_order`."""
    if messages is None:
        return None
    by_part: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for m in messages:
        for offset in m["offsets"]:
            by_part.setdefault(f"{m['topic']}-{m['partition']}", []).append((offset, m))
    out = []
    for name in sorted(by_part, key=_partition_sort_key):
        entries = sorted(by_part[name], key=lambda e: e[0])
        out.append(
            {
                "partition": name,
                "records": _ordered(entries[:LOG_ORDER_LIMIT]),
                "total": len(entries),
                "out_of_order": sum(r["mark"] == "out of order" for r in _ordered(entries)),
            }
        )
    return out


def _ordered(entries: list[tuple[int, dict[str, Any]]]) -> list[dict[str, Any]]:
    highest: dict[str, int] = {}
    rows = []
    for offset, m in entries:
        top = highest.get(m["producer"], -1)
        if offset != min(m["offsets"]):
            mark = "duplicate"
        elif m["i"] < top:
            mark = "out of order"
        else:
            mark = ""
        highest[m["producer"]] = max(top, m["i"])
        rows.append({"offset": offset, "id": m["id"], "producer": m["producer"], "mark": mark})
    return rows


def _partition_sort_key(name: str) -> tuple[str, int]:
    topic, _, index = name.rpartition("-")
    return topic, int(index)
