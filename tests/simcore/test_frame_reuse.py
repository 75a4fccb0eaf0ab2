"""A frame reuses a partition's state from the frame before while nothing in it changed
(run/frames.py ``_shown``): the frames still show every partition as it is — test mode
compares each frame's partitions with states built afresh — and a wide topic's idle
partitions cost neither the time nor the memory of a new state per frame."""

from __future__ import annotations

import pytest

import simcore
from simcore.run.simulation import Simulation
from tests.simcore.helpers import consumer, scenario


def _wide(**producer: object) -> simcore.Scenario:
    data = scenario(duration_ms=4000)
    data["brokers"] = 3
    data["topics"] = [{"name": "orders", "partitions": 12, "replication_factor": 3}]
    data["producers"][0].update({"messages": 6000, "rate_per_s": 2000, **producer})
    data["consumers"] = [consumer(id="c1"), consumer(id="c2")]
    data["faults"] = [
        {"action": "kill_broker", "target": "broker-1", "at_ms": 1500, "restart_after_ms": 1000}
    ]
    return simcore.parse_scenario(data)


@pytest.mark.parametrize("key", [None, "k{i}"])
def test_frames_show_each_partition_as_it_is_and_share_unchanged_states(key: str | None) -> None:
    spec = _wide(**({"key": key} if key else {}))
    sim = Simulation(spec, check_invariants=True)  # each frame checked against fresh states
    sim.run()
    result = simcore.Result(sim)
    assert result.ledger["groups"]["g"]["processed_once"] == 6000  # liveness after the fault
    snapshots = sim.recorder.snapshots
    shown = [state for snap in snapshots for state in snap.parts]
    distinct = len({id(state) for state in shown})
    # the last frame shows each partition's final log end and HW on every replica
    parts = sim.recorder.parts
    assert [[(r.leo, r.hw) for r in s.replicas] for s in snapshots[-1].parts] == [
        [(r.leo, r.hw) for r in p.replicas.values()] for p in parts
    ]
    assert sum(s.hw for s in snapshots[-1].parts) == 6000
    if key is None:
        # null keys fill one partition at a time: most partitions are unchanged from one
        # frame to the next, and their frames share one state object
        assert distinct < len(shown) / 3, (distinct, len(shown))
    else:
        assert distinct < len(shown)  # the quiet stretches (before the first record, at the end)
