"""Consumer lag the ways operators see it.

- tool lag: ``LOG-END-OFFSET − CURRENT-OFFSET`` of kafka-consumer-groups.sh, where the
  log end is the high watermark and the current offset the committed one;
- client ``records-lag``: high watermark − position (so fetched-but-uncommitted records
  count as consumed);
- time lag: how old the oldest record the group has not committed past is;
- a status per partition in the style of Burrow's sliding-window evaluation
  (linkedin/Burrow, "Consumer Lag Evaluation Rules"), over the last 10 commits, when
  there is lag now: STOP if no commit came for longer than the window spans; REWIND if
  a committed offset went backwards; OK if the lag was zero at any commit in the
  window; STALL if the committed offset did not move; WARN if the lag never decreased;
  otherwise OK. A group's status is its worst partition's;
- a catch-up estimate: total lag divided by how much faster the group commits than
  the producers write (over the same window), or none when it is not catching up.
"""

from __future__ import annotations

import itertools
from bisect import bisect_right
from collections.abc import Sequence

WINDOW = 10
SEVERITY = ("OK", "WARN", "REWIND", "STALL", "STOP")

Commit = tuple[int, int, int]  # (time ms, committed offset, lag at that time)


def partition_status(history: Sequence[Commit], now: int, current_lag: int | None = None) -> str:
    """Burrow's order (core/internal/evaluator): no current lag is always OK; then commits
    that stopped, then a rewind, then a zero lag inside the window, then a stall, then lag
    that never decreases. ``current_lag`` is the lag now (HW − committed); by default the
    last commit's."""
    window = list(history[-WINDOW:])
    if len(window) < 2:
        return "OK"
    if (current_lag if current_lag is not None else window[-1][2]) <= 0:
        return "OK"
    stop_after, status = window_verdict(window)
    return "STOP" if now > stop_after else status


def window_verdict(window: Sequence[Commit]) -> tuple[int, str]:
    """For a window of at least two commits and some lag now: the time after which the
    partition counts as STOP (no commit for longer than the window spans), and its status
    until then. Depends on the window only, so callers may cache it."""
    lags = [c[2] for c in window]
    offsets = [c[1] for c in window]
    stop_after = window[-1][0] + (window[-1][0] - window[0][0])
    if any(b < a for a, b in itertools.pairwise(offsets)):
        return stop_after, "REWIND"
    if min(lags) == 0:
        return stop_after, "OK"
    if offsets[0] == offsets[-1]:
        return stop_after, "STALL"
    if all(b >= a for a, b in itertools.pairwise(lags)):
        return stop_after, "WARN"
    return stop_after, "OK"


def window_until(history: Sequence[Commit], t: int) -> Sequence[Commit]:
    """The last ``WINDOW`` commits made at or before ``t`` (history is in time order)."""
    end = bisect_right(history, t, key=lambda c: c[0])
    return history[max(0, end - WINDOW) : end]


def worst(statuses: Sequence[str]) -> str:
    return max(statuses, key=SEVERITY.index, default="OK")


def catch_up_ms(histories: Sequence[Sequence[Commit]], total_lag: int) -> int | None:
    """Estimated ms until the group's lag is zero, from the last window of commits."""
    if total_lag <= 0:
        return 0
    consumed = produced = 0.0
    for history in histories:
        window = list(history[-WINDOW:])
        if len(window) < 2 or window[-1][0] == window[0][0]:
            continue
        span = window[-1][0] - window[0][0]
        consumed += (window[-1][1] - window[0][1]) / span
        produced += ((window[-1][1] + window[-1][2]) - (window[0][1] + window[0][2])) / span
    gaining = consumed - produced
    if gaining <= 0:
        return None
    return round(total_lag / gaining)
