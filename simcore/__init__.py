"""simcore — a deterministic simulation of Kafka's offsets, commits, lag and replication.

>>> import simcore
>>> scenario = simcore.load_scenario("my-scenario.yaml")
>>> result = simcore.simulate(scenario)
>>> result.summary()["ledger"]
>>> result.figures()["offsets"].show()        # Plotly, e.g. in a notebook
"""

import os
from collections.abc import Callable

# NumPy (the bulk partitioners, the ledger) does element-wise integer work, never linear
# algebra: its OpenBLAS needs no thread pool, which costs ~40 MB of memory per process
# (a web worker's data limit is PLAYGROUND_RUN_MAX_MB) and a thread spinning beside the
# run. Set before NumPy is first imported; a caller's own setting wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from simcore import _engine

# the compiled engine (make compile) when its build is current, else the Python sources
ENGINE, ENGINE_NOTE = _engine.select()

from simcore.kernel.errors import InvariantViolation, RunBudgetExceeded, ScenarioError, SimcoreError
from simcore.report.result import Result
from simcore.run.simulation import VERSION, Simulation
from simcore.scenario.builtins import builtin_scenario, builtin_scenarios
from simcore.scenario.parse import (
    canonical_json,
    load_scenario,
    loads_scenario,
    parse_scenario,
    scenario_digest,
    scenario_to_data,
)
from simcore.scenario.spec import Scenario

__version__ = VERSION

__all__ = [
    "ENGINE",
    "ENGINE_NOTE",
    "InvariantViolation",
    "Result",
    "RunBudgetExceeded",
    "Scenario",
    "ScenarioError",
    "SimcoreError",
    "builtin_scenario",
    "builtin_scenarios",
    "canonical_json",
    "load_scenario",
    "loads_scenario",
    "parse_scenario",
    "scenario_digest",
    "scenario_to_data",
    "simulate",
]


def simulate(
    scenario: Scenario,
    *,
    check_invariants: bool = False,
    max_events: int | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Result:
    """Runs a validated scenario to its end and returns the Result.

    ``check_invariants`` checks HW <= LEO, committed <= LEO and position moves after
    every event (slow; for tests). ``max_events`` and ``should_stop`` cap a run: the
    engine raises RunBudgetExceeded when either trips.
    """
    sim = Simulation(
        scenario, check_invariants=check_invariants, max_events=max_events, should_stop=should_stop
    )
    sim.run()
    return Result(sim)
