"""Consumer lag the ways operators see it.

- tool lag: ``LOG-END-OFFSET − CURRENT-OFFSET`` of kafka-consumer-groups.sh, where the
  log end is the high watermark and the current offset the committed one;
- client ``records-lag``: high watermark − position (so fetched-but-uncommitted records
  count as consumed), recorded as poll() hands records out, with the HW the fetch answer
  carried ([J] FetchCollector.fetchRecords; ``Consumer.records_lag``);
- time lag: how old the oldest record the group has not committed past is;
- a status per partition and per group as Burrow evaluates it — the rules of its
  current evaluator (linkedin/Burrow master, ``core/internal/evaluator/caching.go``
  calculatePartitionStatus with checkIfRecentLagZero;
  ``core/internal/storage/inmemory.go``; defaults: the cluster's broker offsets fetched
  every ``offset-refresh`` = 10 s, ``intervals`` = 10 commits and broker offsets kept per
  partition, ``min-distance`` 0):
  each commit's lag is measured against the broker offset Burrow last fetched (never
  below 0), and so is the current lag. With no current lag a partition is OK. Then STOP
  when the time since the last commit is longer than the window of commits spans — unless
  one of the last 10 broker offsets is at or below the last commit (it was caught up a
  moment ago); then, only if no commit in the window saw zero lag: REWIND (an offset went
  backwards), STALL (offsets did not move), WARN (lag never decreased); otherwise OK.
  Burrow's original evaluator checked the zero-lag rule first and STOP after REWIND (and
  knew no broker offsets): a group whose commits stopped after a moment of zero lag
  stayed OK there.
  A group is ERR when any partition is STOP, STALL or REWIND, else WARN if any is WARN.
  Burrow's first fetch of the log ends is at the run's start (so an empty topic's 0 is
  among the last 10 for the first 100 s); its evaluator's 10 s result cache
  (``expire-cache``) is not modelled: the status is evaluated at every step;
- a catch-up estimate: total lag divided by how much faster the group commits than
  the producers write (over the same window), or none when it is not catching up —
  nothing consuming (an Empty group, no commit moving forward) or falling behind.
"""

from __future__ import annotations

import itertools
from bisect import bisect_right
from collections.abc import Sequence

WINDOW = 10  # Burrow's storage intervals
REFRESH_MS = 10_000  # Burrow's offset-refresh: how often it fetches the brokers' offsets
PARTITION_ERRORS = ("STOP", "STALL", "REWIND")
GROUP_SEVERITY = ("OK", "WARN", "ERR")

Commit = tuple[int, int, int]  # (time ms, committed offset, lag at that time)


def broker_offset_at(broker_offsets: Sequence[int], t: int) -> int:
    """The offset Burrow last fetched at or before ``t`` (one entry per REFRESH_MS)."""
    return broker_offsets[min(t // REFRESH_MS, len(broker_offsets) - 1)]


def partition_status(window: Sequence[Commit], broker_offsets: Sequence[int], now: int) -> str:
    """Burrow's calculatePartitionStatus over the last WINDOW commits, with the broker
    offsets fetched so far (``broker_offsets[k]`` at ``k × REFRESH_MS``, up to now)."""
    window = window[-WINDOW:]
    if not window or not broker_offsets:
        return "OK"
    first_t, last_t, last_offset = window[0][0], window[-1][0], window[-1][1]
    if broker_offset_at(broker_offsets, now) - last_offset <= 0:
        return "OK"  # no current lag: never in error
    stopped = now - last_t > last_t - first_t
    recent = broker_offsets[: now // REFRESH_MS + 1][-WINDOW:]
    if stopped and not any(b <= last_offset for b in recent):
        return "STOP"
    lags = [max(0, broker_offset_at(broker_offsets, t) - o) for t, o, _lag in window]
    if 0 in lags:
        return "OK"
    offsets = [c[1] for c in window]
    if any(b < a for a, b in itertools.pairwise(offsets)):
        return "REWIND"
    if all(o == offsets[0] for o in offsets):
        return "STALL"
    if all(b >= a for a, b in itertools.pairwise(lags)):
        return "WARN"
    return "OK"


def window_until(history: Sequence[Commit], t: int) -> Sequence[Commit]:
    """The last ``WINDOW`` commits made at or before ``t`` (history is in time order)."""
    end = bisect_right(history, t, key=lambda c: c[0])
    return history[max(0, end - WINDOW) : end]


def group_status(statuses: Sequence[str]) -> str:
    """Burrow's group status: ERR if any partition is STOP, STALL or REWIND, else the
    worst of OK and WARN ([B] evaluateConsumerStatus)."""
    worst = "OK"
    for status in statuses:
        level = "ERR" if status in PARTITION_ERRORS else status
        if GROUP_SEVERITY.index(level) > GROUP_SEVERITY.index(worst):
            worst = level
    return worst


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
