"""A run pauses Python's cyclic garbage collector (kernel/collector.py) and gives it back as it
was, also when the run fails; a run leaves no cyclic garbage behind, so the pause costs no
memory."""

from __future__ import annotations

import gc

import pytest

import simcore
from simcore.run.simulation import Simulation
from tests.simcore.helpers import scenario


def _seen_during_run(**limits: object) -> list[bool]:
    seen: list[bool] = []

    def should_stop() -> bool:  # asked every few thousand events
        seen.append(gc.isenabled())
        return False

    data = scenario()
    data["producers"][0]["messages"] = 5000
    sim = Simulation(simcore.parse_scenario(data), should_stop=should_stop, **limits)  # type: ignore[arg-type]
    sim.run()
    return seen


def test_the_collector_is_off_during_a_run_and_on_again_after():
    assert gc.isenabled()
    seen = _seen_during_run()
    assert seen and not any(seen)
    assert gc.isenabled()


def test_a_failed_run_gives_the_collector_back():
    with pytest.raises(simcore.RunBudgetExceeded):
        _seen_during_run(max_events=10)
    assert gc.isenabled()


def test_a_paused_collector_stays_paused():
    gc.disable()
    try:
        _seen_during_run()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_run_leaves_no_cyclic_garbage():
    for name in ("eager-scale-out", "txn-zombie-fencing", "production-topic-broker-dies"):
        spec = simcore.builtin_scenario(name)
        gc.collect()
        result = simcore.simulate(spec)
        assert gc.collect() == 0, name
        assert result.summary()["ledger"]
        del result  # (a finished run's objects refer to each other: freed by the collector)
