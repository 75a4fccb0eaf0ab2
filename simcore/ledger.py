"""The ledger: what happened to every message, counted over id intervals.

Message ids are global integers (each producer owns a contiguous block). Batches,
acks and processing are recorded as id sequences: a ``range`` when a batch's ids are
consecutive (records without a key, an explicit partition, a constant key), else an
``array('q')`` (keyed records scatter consecutive ids over partitions). A layer of the
ledger (sent, acked, in the log, processed, ...) becomes ``Intervals``: NumPy arrays of
``[start, stop)`` runs with weights, so the summary is one vectorised sweep over the
runs' boundaries — exact, and about as cheap for a million keyed records as for a
thousand batches of consecutive ones.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Interval = tuple[int, int, int]  # [start, stop) with a weight
Ints = NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Intervals:
    """Weighted ``[start, stop)`` runs of message ids; ``owner`` numbers the sequence
    each run came from (in the order given), for counts that follow log order."""

    starts: Ints
    stops: Ints
    weights: Ints
    owner: Ints

    @staticmethod
    def concat(parts: Sequence[Intervals]) -> Intervals:
        if not parts:
            return _EMPTY
        return Intervals(
            *(np.concatenate([getattr(p, f) for p in parts]) for f in Intervals.__slots__)
        )

    @staticmethod
    def of(layer: Intervals | Sequence[Interval]) -> Intervals:
        """A layer given as ``Intervals`` or as a list of ``(start, stop, weight)``."""
        if isinstance(layer, Intervals):
            return layer
        a = np.array(layer, dtype=np.int64).reshape(-1, 3)
        return Intervals(a[:, 0], a[:, 1], a[:, 2], np.arange(len(a), dtype=np.int64))


_NONE = np.zeros(0, dtype=np.int64)
_EMPTY = Intervals(_NONE, _NONE, _NONE, _NONE)


def intervals(seqs: Iterable[Sequence[int]]) -> Intervals:
    """Maximal runs of consecutive ids in each sequence (weight 1), in the given order."""
    r_starts: list[int] = []
    r_stops: list[int] = []
    r_owner: list[int] = []
    ids = array("q")
    id_owner: list[int] = []  # (sequence number, how many ids) for the scattered ones
    id_count: list[int] = []
    for n, seq in enumerate(seqs):
        if type(seq) is range and seq.step == 1:  # the usual case: one run
            if seq:
                r_starts.append(seq.start)
                r_stops.append(seq.stop)
                r_owner.append(n)
        elif len(seq):
            ids.extend(seq)  # array('q') into array('q'): a copy of bytes
            id_owner.append(n)
            id_count.append(len(seq))
    ranges = Intervals(
        np.array(r_starts, dtype=np.int64),
        np.array(r_stops, dtype=np.int64),
        np.ones(len(r_starts), dtype=np.int64),
        np.array(r_owner, dtype=np.int64),
    )
    if not ids:
        return ranges
    return Intervals.concat([ranges, _runs_of(np.frombuffer(ids, np.int64), id_owner, id_count)])


def _runs_of(ids: Ints, owners: list[int], counts: list[int]) -> Intervals:
    """Runs of ids concatenated from several sequences (a run ends where one does)."""
    owner = np.repeat(np.array(owners, dtype=np.int64), counts)
    step = np.diff(ids) != 1
    step |= np.diff(owner) != 0
    cuts = np.flatnonzero(step) + 1
    firsts = np.concatenate(([0], cuts))
    lasts = np.concatenate((cuts - 1, [len(ids) - 1]))
    starts = ids[firsts]
    return Intervals(starts, ids[lasts] + 1, np.ones(len(starts), dtype=np.int64), owner[firsts])


def runs(ids: Sequence[int]) -> list[tuple[int, int]]:
    """Maximal runs of consecutive ids, in order."""
    found = intervals([ids])
    return list(zip(found.starts.tolist(), found.stops.tolist(), strict=True))


def _segments(layers: Sequence[Intervals]) -> tuple[Ints, Ints, list[Ints]]:
    """Split the id line at every run boundary: each segment's start, length, and the
    weight each layer puts on it. Dense (one segment per id) when the ids span little
    more than the runs do (keyed records: runs of one or two ids), else over the sorted
    distinct boundaries (consecutive ids: a few runs over a long line)."""
    kept = [(lay.starts, lay.stops, lay.weights) for lay in layers]
    kept = [(a[m], b[m], w[m]) for a, b, w in kept for m in [b > a]]
    ends = sum(len(a) for a, _, _ in kept)
    if not ends:
        return _NONE, _NONE, [_NONE for _ in kept]
    lo = min(int(a.min()) for a, _, _ in kept if len(a))
    hi = max(int(b.max()) for _, b, _ in kept if len(b))
    if hi - lo <= 4 * ends:
        points = np.arange(lo, hi + 1, dtype=np.int64)
        places = [(a - lo, b - lo, w) for a, b, w in kept]
    else:
        every = np.sort(np.concatenate([x for a, b, _ in kept for x in (a, b)]))
        points = every[np.concatenate(([True], every[1:] != every[:-1]))]
        places = [(np.searchsorted(points, a), np.searchsorted(points, b), w) for a, b, w in kept]
    size = len(points)
    counts = [np.cumsum(_weigh(a, w, size) - _weigh(b, w, size))[:-1] for a, b, w in places]
    return points[:-1], np.diff(points), counts


def _weigh(at: Ints, weights: Ints, size: int) -> Ints:
    """The sum of ``weights`` at each position below ``size``."""
    if bool(np.all(weights == 1)):
        return np.bincount(at, minlength=size)
    return np.bincount(at, weights=weights, minlength=size).round().astype(np.int64)


def sweep(layers: dict[str, list[Interval]]) -> list[tuple[int, int, dict[str, int]]]:
    """The id line as maximal segments of constant weight per layer (where any is not 0)."""
    names = sorted(layers)
    starts, lengths, counts = _segments([Intervals.of(layers[n]) for n in names])
    out: list[tuple[int, int, dict[str, int]]] = []
    for k in range(len(starts)):
        weights = {n: int(c[k]) for n, c in zip(names, counts, strict=True)}
        a, b = int(starts[k]), int(starts[k] + lengths[k])
        if not any(weights.values()):
            continue
        if out and out[-1][1] == a and out[-1][2] == weights:
            out[-1] = (out[-1][0], b, weights)
        else:
            out.append((a, b, weights))
    return out


Layer = Intervals | Sequence[Interval]


def topic_counts(
    sent: Layer,
    acked: Layer,
    failed: Layer,
    log: Layer,
    expired: Layer | None = None,
) -> dict[str, int]:
    """``expired``: deleted by retention — gone on purpose, so not counted as lost."""
    layers = [Intervals.of(x) for x in (sent, acked, failed, log, expired or [])]
    _, n, (sent_n, acked_n, failed_n, log_n, expired_n) = _segments(layers)
    in_log, is_acked = log_n > 0, acked_n > 0
    return {
        "sent": _total(n, sent_n > 0),
        "acked": _total(n, is_acked),
        "failed": _total(n, (failed_n > 0) & ~is_acked),
        "in_log": _total(n, in_log),
        "lost_acked": _total(n, is_acked & ~in_log & (expired_n == 0)),
        "log_duplicates": int((n * np.maximum(log_n - 1, 0)).sum()),
        "expired": _total(n, (expired_n > 0) & ~in_log),
    }


def group_counts(
    log: Layer,
    processed: Layer,
    expired: Layer | None = None,
    behind: Layer | None = None,
) -> dict[str, int]:
    """Counted over the messages in the final log, as the issue's contract says.
    ``processed_never`` splits into ``skipped`` (the group's committed offset is already
    past them: this group will not read them) and ``unread`` (at or above it: still lag);
    ``behind`` marks the messages below the committed offsets. ``expired_unread``:
    deleted by retention before this group processed them."""
    layers = [Intervals.of(x) for x in (log, processed, expired or [], behind or [])]
    _, n, (log_n, proc_n, expired_n, behind_n) = _segments(layers)
    in_log, never = log_n > 0, proc_n == 0
    return {
        "processed_once": _total(n, in_log & (proc_n == 1)),
        "processed_never": _total(n, in_log & never),
        "processed_multiple": _total(n, in_log & (proc_n >= 2)),
        "skipped": _total(n, in_log & never & (behind_n > 0)),
        "unread": _total(n, in_log & never & (behind_n == 0)),
        "expired_unread": _total(n, ~in_log & (expired_n > 0) & never),
    }


def _total(lengths: Ints, where: NDArray[np.bool_]) -> int:
    return int(lengths[where].sum())


def out_of_order(batches: Iterable[tuple[str, Sequence[int]]]) -> int:
    """Records whose first copy in the log lands behind a record of the same producer
    that was sent later (log order differs from send order). Extra copies of a record
    are duplicates, counted by ``log_duplicates``, not here."""
    by_producer: dict[str, list[Sequence[int]]] = {}
    for producer, ids in batches:
        by_producer.setdefault(producer, []).append(ids)
    return sum(_behind_later_sends(seqs) for seqs in by_producer.values())


def _behind_later_sends(seqs: list[Sequence[int]]) -> int:
    """One producer's batches in log order. The usual case, every run beyond all ids
    before it, has none; otherwise each id's first copy is compared with the highest id
    of the batches before it (a batch's ids ascend: its highest is its last)."""
    found = intervals(seqs)
    order = np.lexsort((found.starts, found.owner))  # log order, runs ascending in a batch
    starts, stops, owner = found.starts[order], found.stops[order], found.owner[order]
    if len(starts) < 2 or bool(np.all(starts[1:] >= np.maximum.accumulate(stops)[:-1])):
        return 0
    spans = zip(starts.tolist(), stops.tolist(), strict=True)
    ids = np.concatenate([np.arange(a, b, dtype=np.int64) for a, b in spans])
    batch = np.repeat(owner, stops - starts)
    last = np.full(len(seqs), -1, dtype=np.int64)
    np.maximum.at(last, owner, stops - 1)
    top = np.concatenate(([-1], np.maximum.accumulate(last)[:-1]))  # before each batch
    _, first = np.unique(ids, return_index=True)
    return int((ids[first] < top[batch[first]]).sum())
