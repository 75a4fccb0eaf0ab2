"""Python's cyclic garbage collector, paused around the work that builds a run's objects.

A run allocates millions of objects that live until it ends — batches, log entries,
events, metric samples — and every collection walks all of them, to free nothing: a run
leaves no cyclic garbage (tests/simcore/test_gc_pause.py), and reference counting frees
everything else as it goes. Measured on 200 k keyed records over 60 partitions, RF 3: the
collector was 18-30 % of the run's CPU, and 0.29 → 0.21 s of its summary. No outcome
depends on it.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pauses the collector; gives it back as it was, also when the work fails."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
