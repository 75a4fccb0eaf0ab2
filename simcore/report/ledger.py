"""The ledger: what happened to every message, counted over id intervals.

Message ids are global integers (each producer owns a contiguous block). Batches,
acks and processing are recorded as id sequences: a ``range`` when a batch's ids are
consecutive (records without a key, an explicit partition, a constant key), else an
``array('q')`` (keyed records scatter consecutive ids over partitions); acks, failures
and processing go into an ``IdLog`` each as they happen (``simcore.kernel.ids``). A layer
of the ledger (sent, acked, in the log, processed, ...) becomes ``Ids``: the ranges as two
NumPy arrays of bounds, the scattered ids as one flat array. Counting is one vectorised
pass: per id when the scattered ids fill most of the id line (keyed traffic), else over
the sorted distinct boundaries (a few long runs). Exact either way, and about as cheap
for a million keyed records as for a thousand batches of consecutive ones.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from simcore.broker.log import Batch
from simcore.kernel.ids import IdLog

Interval = tuple[int, int, int]  # [start, stop) with a weight
Ints = NDArray[np.int64]
Counts = NDArray[np.int32]
_NONE: Final[Ints] = np.zeros(0, dtype=np.int64)


@dataclass(frozen=True, slots=True)
class Ids:
    """A multiset of message ids: runs ``[starts, stops)`` plus scattered ``singles``
    (int32 when the ids fit, as message ids do: a million keyed records hold 4 MB here)."""

    starts: Ints
    stops: Ints
    singles: Ints

    @staticmethod
    def concat(parts: Sequence[Ids]) -> Ids:
        if len(parts) == 1:
            return parts[0]
        return Ids(
            np.concatenate([_NONE, *(p.starts for p in parts)]),
            np.concatenate([_NONE, *(p.stops for p in parts)]),
            np.concatenate([_NONE, *(p.singles for p in parts)]),
        )

    @staticmethod
    def of(layer: Ids | Sequence[Interval]) -> Ids:
        """A layer given as ``Ids`` or as ``(start, stop, weight)`` triples (a run of
        weight w counts its ids w times)."""
        if isinstance(layer, Ids):
            return layer
        a = np.array(layer, dtype=np.int64).reshape(-1, 3)
        repeat = np.maximum(a[:, 2], 0)
        return Ids(np.repeat(a[:, 0], repeat), np.repeat(a[:, 1], repeat), _NONE)


def ids_of(logs: Iterable[IdLog]) -> Ids:
    """The ids of the logs (``simcore.kernel.ids``) as one multiset: their runs' bounds and
    their scattered ids joined as they are, with no pass over the ids."""
    starts: list[int] = []
    stops: list[int] = []
    chunks: list[array[int]] = []
    for log in logs:
        starts.extend(log.starts)
        stops.extend(log.stops)
        chunks.extend(log.chunks)
    joined = b"".join(chunks)
    scattered: Ints = np.frombuffer(joined, dtype=np.int64) if joined else _NONE
    if len(scattered) and int(scattered.max()) < 2**31:  # message ids do: 4 bytes an id
        scattered = scattered.astype(np.int32)
    return Ids(np.array(starts, dtype=np.int64), np.array(stops, dtype=np.int64), scattered)


def intervals(seqs: Iterable[Sequence[int]]) -> Ids:
    """The ids of all the sequences, as one multiset."""
    return ids_of([IdLog(seqs)])


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


class _Line:
    """The id line cut into segments; ``counts[k]`` is how often each layer holds the ids
    of segment k. Dense: one segment per id of ``[lo, hi)``, when the layers' runs and
    scattered ids are about as many as the ids they span (keyed traffic); else the spans
    between the sorted distinct boundaries (a few long runs over a long line)."""

    def __init__(self, layers: Sequence[Ids]) -> None:
        layers = [_nonempty_runs(x) for x in layers]
        ends = sum(2 * len(x.starts) + 2 * len(x.singles) for x in layers)
        lows = [int(v.min()) for x in layers for v in (x.starts, x.singles) if len(v)]
        highs = [int(x.stops.max()) for x in layers if len(x.stops)]
        highs += [int(x.singles.max()) + 1 for x in layers if len(x.singles)]
        self.lo, self.hi = (min(lows), max(highs)) if ends else (0, 0)
        self.dense = self.hi - self.lo <= 2 * ends
        self.points = _NONE
        if self.dense:
            self.counts = [self._dense(x) for x in layers]
        else:
            every = np.sort(np.concatenate([v for x in layers for v in _bounds(x)]))
            self.points = every[np.concatenate(([True], every[1:] != every[:-1]))]
            self.counts = [self._sparse(self.points, x) for x in layers]

    def _dense(self, layer: Ids) -> Counts:
        """Counts per id of ``[lo, hi)``, built in int32 (a million keyed records: a few
        arrays of 4-8 MB at a time; an empty layer is a read-only zero of no size)."""
        lo, span = self.lo, self.hi - self.lo
        if not len(layer.starts) and not len(layer.singles):
            return np.broadcast_to(np.int32(0), (span,))
        if len(layer.starts):
            steps = np.bincount(layer.starts - lo, minlength=span + 1)
            steps -= np.bincount(layer.stops - lo, minlength=span + 1)
            counts = np.cumsum(steps[:-1], dtype=np.int32)
            del steps
        else:
            counts = np.zeros(span, dtype=np.int32)
        if len(layer.singles):
            counts += np.bincount(layer.singles - lo if lo else layer.singles, minlength=span)
        return counts

    @staticmethod
    def _sparse(points: Ints, layer: Ids) -> Counts:
        size = len(points)
        at = np.searchsorted(points, layer.singles)  # each single is [at, at + 1)
        steps = np.bincount(np.searchsorted(points, layer.starts), minlength=size)
        steps -= np.bincount(np.searchsorted(points, layer.stops), minlength=size)
        steps += np.bincount(at, minlength=size)
        steps -= np.bincount(at + 1, minlength=size)
        return np.cumsum(steps[:-1]).astype(np.int32)

    def total(self, where: NDArray[np.bool_]) -> int:
        """How many ids lie in the segments where ``where`` is true."""
        if self.dense:
            return int(np.count_nonzero(where))
        return int(np.diff(self.points)[where].sum())

    def weighted(self, values: Counts) -> int:
        """The sum over ids of ``values`` (given per segment)."""
        if self.dense:
            return int(values.sum(dtype=np.int64))
        return int((np.diff(self.points) * values).sum())

    def segments(self) -> tuple[Ints, Ints]:
        """Each segment's first id and length."""
        if self.dense:
            return np.arange(self.lo, self.hi, dtype=np.int64), np.ones(self.hi - self.lo, np.int64)
        return self.points[:-1], np.diff(self.points)


def _nonempty_runs(layer: Ids) -> Ids:
    keep = layer.stops > layer.starts
    return Ids(layer.starts[keep], layer.stops[keep], layer.singles)


def _bounds(layer: Ids) -> tuple[Ints, Ints, Ints, Ints]:
    return layer.starts, layer.stops, layer.singles, layer.singles + 1


def sweep(layers: dict[str, list[Interval]]) -> list[tuple[int, int, dict[str, int]]]:
    """The id line as maximal segments of constant weight per layer (where any is not 0)."""
    names = sorted(layers)
    line = _Line([Ids.of(layers[n]) for n in names])
    starts, lengths = line.segments()
    out: list[tuple[int, int, dict[str, int]]] = []
    for k in range(len(starts)):
        weights = {n: int(c[k]) for n, c in zip(names, line.counts, strict=True)}
        a, b = int(starts[k]), int(starts[k] + lengths[k])
        if not any(weights.values()):
            continue
        if out and out[-1][1] == a and out[-1][2] == weights:
            out[-1] = (out[-1][0], b, weights)
        else:
            out.append((a, b, weights))
    return out


Layer = Ids | Sequence[Interval]


def topic_counts(
    sent: Layer,
    acked: Layer,
    failed: Layer,
    log: Layer,
    expired: Layer | None = None,
) -> dict[str, int]:
    """``expired``: deleted by retention — gone on purpose, so not counted as lost."""
    line = _Line([Ids.of(x) for x in (sent, acked, failed, log, expired or [])])
    sent_n, acked_n, failed_n, log_n, expired_n = line.counts
    in_log, is_acked, is_expired = log_n > 0, acked_n > 0, expired_n > 0
    return {
        "sent": line.total(sent_n > 0),
        "acked": line.total(is_acked),
        "failed": line.total((failed_n > 0) & ~is_acked),
        "in_log": line.total(in_log),
        "lost_acked": line.total(is_acked & ~in_log & ~is_expired),
        "log_duplicates": line.weighted(np.maximum(log_n - 1, 0)),
        "expired": line.total(is_expired & ~in_log),
    }


def group_counts(
    log: Layer,
    processed: Layer,
    expired: Layer | None = None,
    behind: Layer | Callable[[], Layer] | None = None,
) -> dict[str, int]:
    """Counted over the messages in the final log, as the issue's contract says.
    ``processed_never`` splits into ``skipped`` (the group's committed offset is already
    past them: this group will not read them) and ``unread`` (at or above it: still lag);
    ``behind`` marks the messages below the committed offsets — or is a function that
    returns them, called only if some message of the log is unread (a group that read
    everything, the usual end of a big run, needs no second copy of its ids).
    ``expired_unread``: deleted by retention before this group processed them."""
    layers = [Ids.of(x) for x in (log, processed, expired or [])]
    line = _Line(layers)
    log_n, proc_n, expired_n = line.counts
    unread = (log_n > 0) & (proc_n == 0)
    behind_n: Counts | None = None
    if behind is not None and unread.any():
        line = _Line([*layers, Ids.of(behind() if callable(behind) else behind)])
        log_n, proc_n, expired_n, behind_n = line.counts
        unread = (log_n > 0) & (proc_n == 0)
    in_log, never = log_n > 0, proc_n == 0
    skipped = line.total(unread & (behind_n > 0)) if behind_n is not None else 0
    return {
        "processed_once": line.total(in_log & (proc_n == 1)),
        "processed_never": line.total(unread),
        "processed_multiple": line.total(in_log & (proc_n >= 2)),
        "skipped": skipped,
        "unread": line.total(unread) - skipped,
        "expired_unread": line.total(~in_log & (expired_n > 0) & never),
    }


def log_counts(batches: Sequence[Batch], gather: IdLog | None = None) -> tuple[int, int]:
    """A partition's log, in log order: the records it holds (markers aside) and how many
    of them are out of order: their first copy lands behind a record of the same producer
    that was sent later (extra copies are duplicates, counted by ``log_duplicates``, not
    here). One pass over the batches, which keeps each producer's ``top`` (the highest
    first or last id of its batches so far); a producer whose every batch lies above its
    top — the usual log — is in order, known without its ids, and only another one is
    counted id by id (``_behind_later_sends``).
    ``gather``: takes the records' ids on the way (the topic's log layer of the ledger)."""
    records = 0
    tops: dict[str, int] = {}
    unordered: list[str] = []
    current: str | None = None  # the producer of the batch before, and its top (held here)
    top = -1
    for batch in batches:
        ids = batch.msgs
        n = len(ids)
        if batch.control or not n:
            continue
        records += n
        if gather is not None:
            gather.add(ids)
        producer = batch.producer
        if producer != current:
            if current is not None:
                tops[current] = top
            current = producer
            top = tops.get(producer, -1)
        # a batch's ids ascend (records join a batch in the order they are sent;
        # checked in test mode, run/invariants.py): its first is its lowest, its last
        # its highest
        first, last = ids[0], ids[-1]
        if first <= top and producer not in unordered:
            unordered.append(producer)
        if last > top:
            top = last
    late = 0
    for producer in unordered:
        late += _behind_later_sends(
            [b.msgs for b in batches if b.producer == producer and not b.control and len(b.msgs)]
        )
    return records, late


def _behind_later_sends(seqs: list[Sequence[int]]) -> int:
    """One producer's batches in log order. Each id's first copy counts if it is below
    ``top``: the highest of the first and last ids of the batches before it."""
    tops: list[int] = []
    top = -1
    for seq in seqs:
        tops.append(top)
        top = max(top, seq[0], seq[-1])
    ids = np.concatenate([_as_array(seq) for seq in seqs])
    batch = np.repeat(np.arange(len(seqs)), [len(seq) for seq in seqs])
    _, first = np.unique(ids, return_index=True)  # the first copy of each id, log order
    return int((ids[first] < np.array(tops, dtype=np.int64)[batch[first]]).sum())


def _as_array(seq: Sequence[int]) -> Ints:
    if type(seq) is range and seq.step == 1:
        return np.arange(seq.start, seq.stop, dtype=np.int64)
    if isinstance(seq, array) and seq.typecode == "q":
        return np.frombuffer(seq, dtype=np.int64)
    return np.array(seq, dtype=np.int64)
