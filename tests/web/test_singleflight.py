"""One computation per key among threads (playground.singleflight)."""

from __future__ import annotations

import threading

import pytest

from playground.admission import CallerGone
from playground.singleflight import SingleFlight


def test_callers_arriving_meanwhile_share_the_leaders_value() -> None:
    flight: SingleFlight[int] = SingleFlight()
    started, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def slow() -> int:
        calls.append(1)
        started.set()
        release.wait()
        return 42

    results: list[int] = []
    leader = threading.Thread(target=lambda: results.append(flight.do("k", slow)))
    leader.start()
    started.wait()
    followers = [
        threading.Thread(target=lambda: results.append(flight.do("k", slow))) for _ in range(5)
    ]
    for t in followers:
        t.start()
    pause = threading.Event()
    while flight.waiting("k") < 5:  # every follower is inside do() and waiting
        pause.wait(0.001)
    release.set()
    for t in [leader, *followers]:
        t.join()
    assert results == [42] * 6
    assert calls == [1]  # followers that arrived while it ran did not run it again


def test_a_leaders_error_reaches_its_followers_unless_it_was_its_own() -> None:
    flight: SingleFlight[int] = SingleFlight()
    with pytest.raises(ValueError, match="bad"):
        flight.do("k", lambda: (_ for _ in ()).throw(ValueError("bad")))
    gone = threading.Event()
    release = threading.Event()
    outcomes: list[object] = []

    def leaves() -> int:
        gone.set()
        release.wait()
        raise CallerGone()

    leader = threading.Thread(target=lambda: _catch(outcomes, lambda: flight.do("k", leaves)))
    leader.start()
    gone.wait()
    follower = threading.Thread(
        target=lambda: outcomes.append(flight.do("k", lambda: 7, retry_on=(CallerGone,)))
    )
    follower.start()
    pause = threading.Event()
    while flight.waiting("k") < 1:
        pause.wait(0.001)
    release.set()
    leader.join()
    follower.join()
    assert sorted(map(str, outcomes)) == ["7", "CallerGone"]


def _catch(out: list[object], fn: object) -> None:
    try:
        out.append(fn())  # type: ignore[operator]
    except CallerGone:
        out.append("CallerGone")
