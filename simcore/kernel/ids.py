"""Message ids recorded sequence by sequence, kept as the ledger reads them.

A producer's acknowledged and failed batches and a consumer's processed records are
sequences of message ids: a ``range`` while consecutive, else an ``array('q')`` (keyed
records). An ``IdLog`` keeps each consecutive run as its bounds (a run that continues the
last one extends it) and the arrays as they are (shared with the batches that carry them:
no copy), so the ledger (``simcore.report.ledger``) joins them into NumPy arrays without a
pass over the sequences, which for half a million keyed batches took a quarter of a
second at the end of a run; recording them one by one as they come costs a tenth of that.

A multiset: the same id recorded twice (a duplicate in the log, a record processed again
after a rebalance) is held twice. The order of the ids is not kept: runs first, then the
scattered ids, each in the order recorded.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator, Sequence
from typing import Final

# the array type as a C static (a name imported with ``from`` is a lookup in the module's
# globals at every use under mypyc: once per recorded batch here)
_ARRAY: Final = array


class IdLog:
    __slots__ = ("chunks", "starts", "stops")

    def __init__(self, seqs: Iterable[Sequence[int]] = ()) -> None:
        self.starts: list[int] = []
        self.stops: list[int] = []
        self.chunks: list[array[int]] = []  # scattered ids, 8 bytes each (never modified)
        for seq in seqs:
            self.add(seq)

    def add(self, seq: Sequence[int]) -> None:
        if type(seq) is range:
            start, stop = seq.start, seq.stop
            if len(seq) == stop - start:  # the ids start .. stop - 1 (any step: one id)
                if start == stop:
                    return
                stops = self.stops
                if stops and stops[-1] == start:  # continues the last run (null keys)
                    stops[-1] = stop
                else:
                    self.starts.append(start)
                    stops.append(stop)
                return
        elif type(seq) is _ARRAY and seq.typecode == "q":
            if len(seq):
                self.chunks.append(seq)
            return
        if len(seq):
            self.chunks.append(array("q", seq))

    def __iter__(self) -> Iterator[int]:
        for start, stop in zip(self.starts, self.stops, strict=True):
            yield from range(start, stop)
        for chunk in self.chunks:
            yield from chunk

    def __len__(self) -> int:
        """How many ids (with repeats)."""
        runs = sum(stop - start for start, stop in zip(self.starts, self.stops, strict=True))
        return runs + sum(len(chunk) for chunk in self.chunks)

    def mark(self) -> tuple[int, int]:
        """Where the log ends now, for ``since``."""
        return len(self.starts), len(self.chunks)

    def since(self, mark: tuple[int, int]) -> list[int]:
        """The ids recorded after ``mark``, and maybe a few before it: the last run at
        ``mark`` counts whole, as it may have been extended since."""
        runs, chunks = mark
        if runs:
            runs -= 1
        out = [
            i
            for start, stop in zip(self.starts[runs:], self.stops[runs:], strict=True)
            for i in range(start, stop)
        ]
        for chunk in self.chunks[chunks:]:
            out.extend(chunk)
        return out
