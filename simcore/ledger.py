"""The ledger: what happened to every message, counted over id intervals.

Message ids are global integers (each producer owns a contiguous block). Batches,
acks and processing are recorded as id sequences (``range`` or tuples), so the
summary is a sweep over interval boundaries — exact, and as cheap for a million
records in a thousand batches as for a thousand records.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

Interval = tuple[int, int, int]  # [start, stop) with a weight


def runs(ids: Sequence[int]) -> list[tuple[int, int]]:
    """Maximal runs of consecutive ids, in order."""
    if isinstance(ids, range):
        return [(ids.start, ids.stop)] if len(ids) else []
    out: list[tuple[int, int]] = []
    for i in ids:
        if out and out[-1][1] == i:
            out[-1] = (out[-1][0], i + 1)
        else:
            out.append((i, i + 1))
    return out


def intervals(seqs: Iterable[Sequence[int]]) -> list[Interval]:
    out: list[Interval] = []
    for seq in seqs:
        if type(seq) is range:  # the usual case: one run (ids are built with step 1)
            if seq:
                out.append((seq.start, seq.stop, 1))
        else:
            out.extend((a, b, 1) for a, b in runs(seq))
    return out


def coalesce(layer: list[Interval]) -> list[Interval]:
    """Join intervals that touch end to start with the same weight (a producer's batches
    cover consecutive ids), so a sweep visits thousands of points, not millions."""
    out: list[Interval] = []
    for a, b, w in sorted(layer):
        if out and out[-1][1] == a and out[-1][2] == w:
            out[-1] = (out[-1][0], b, w)
        else:
            out.append((a, b, w))
    return out


def sweep(layers: dict[str, list[Interval]]) -> list[tuple[int, int, dict[str, int]]]:
    """Split the id line into segments of constant weight per layer."""
    points: list[tuple[int, int, str, int]] = []
    names = sorted(layers)
    for rank, name in enumerate(names):
        for a, b, w in coalesce(layers[name]):
            if b > a:
                points.append((a, rank, name, w))
                points.append((b, rank, name, -w))
    points.sort()
    counts = {name: 0 for name in names}
    segments: list[tuple[int, int, dict[str, int]]] = []
    prev = None
    for pos, _rank, name, delta in points:
        if prev is not None and pos > prev and any(counts.values()):
            segments.append((prev, pos, dict(counts)))
        counts[name] += delta
        prev = pos
    return segments


def topic_counts(
    sent: list[Interval],
    acked: list[Interval],
    failed: list[Interval],
    log: list[Interval],
    expired: list[Interval] | None = None,
) -> dict[str, int]:
    """``expired``: deleted by retention — gone on purpose, so not counted as lost."""
    totals = {
        "sent": 0,
        "acked": 0,
        "failed": 0,
        "in_log": 0,
        "lost_acked": 0,
        "log_duplicates": 0,
        "expired": 0,
    }
    layers = {"sent": sent, "acked": acked, "failed": failed, "log": log, "expired": expired or []}
    for a, b, c in sweep(layers):
        n = b - a
        totals["sent"] += n if c["sent"] else 0
        totals["acked"] += n if c["acked"] else 0
        totals["failed"] += n if c["failed"] and not c["acked"] else 0
        totals["in_log"] += n if c["log"] else 0
        totals["expired"] += n if c["expired"] and not c["log"] else 0
        totals["lost_acked"] += n if c["acked"] and not c["log"] and not c["expired"] else 0
        totals["log_duplicates"] += n * max(c["log"] - 1, 0)
    return totals


def group_counts(
    log: list[Interval],
    processed: list[Interval],
    expired: list[Interval] | None = None,
    behind: list[Interval] | None = None,
) -> dict[str, int]:
    """Counted over the messages in the final log, as the issue's contract says.
    ``processed_never`` splits into ``skipped`` (the group's committed offset is already
    past them: this group will not read them) and ``unread`` (at or above it: still lag);
    ``behind`` marks the messages below the committed offsets. ``expired_unread``:
    deleted by retention before this group processed them."""
    totals = {
        "processed_once": 0,
        "processed_never": 0,
        "processed_multiple": 0,
        "skipped": 0,
        "unread": 0,
        "expired_unread": 0,
    }
    layers = {"log": log, "proc": processed, "expired": expired or [], "behind": behind or []}
    for a, b, c in sweep(layers):
        if not c["log"]:
            if c["expired"] and not c["proc"]:
                totals["expired_unread"] += b - a
            continue
        key = (
            ("processed_never", "processed_once")[c["proc"]]
            if c["proc"] < 2
            else ("processed_multiple")
        )
        totals[key] += b - a
        if not c["proc"]:
            totals["skipped" if c["behind"] else "unread"] += b - a
    return totals


def out_of_order(batches: Iterable[tuple[str, Sequence[int]]]) -> int:
    """Records whose first copy in the log lands behind a record of the same producer
    that was sent later (log order differs from send order). Extra copies of a record
    are duplicates, counted by ``log_duplicates``, not here."""
    highest: dict[str, int] = {}
    seen: dict[str, list[tuple[int, int]]] = {}
    count = 0
    for producer, ids in batches:
        top = highest.get(producer, -1)
        done = seen.setdefault(producer, [])
        for a, b in ((ids.start, ids.stop),) if type(ids) is range and ids else runs(ids):
            if not done or a >= done[-1][1]:  # the usual case: ids beyond all seen so far
                count += max(0, min(b, top) - a)
            else:
                for start, stop in _subtract((a, b), done):
                    count += max(0, min(stop, top) - start)
            _add(done, (a, b))
        if len(ids):
            highest[producer] = max(top, max(ids[0], ids[-1]))
    return count


def _subtract(span: tuple[int, int], merged: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out, (a, b) = [], span
    for x, y in merged:
        if y <= a or x >= b:
            continue
        if x > a:
            out.append((a, x))
        a = max(a, y)
    if a < b:
        out.append((a, b))
    return out


def _add(merged: list[tuple[int, int]], span: tuple[int, int]) -> None:
    if not merged or span[0] > merged[-1][1]:
        merged.append(span)  # the usual case: later ids, in order
        return
    if span[0] >= merged[-1][0]:
        merged[-1] = (merged[-1][0], max(merged[-1][1], span[1]))
        return
    merged.append(span)
    merged.sort()
    joined = [merged[0]]
    for x, y in merged[1:]:
        if x <= joined[-1][1]:
            joined[-1] = (joined[-1][0], max(joined[-1][1], y))
        else:
            joined.append((x, y))
    merged[:] = joined
