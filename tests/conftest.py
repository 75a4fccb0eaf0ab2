"""Fixtures shared by every test package."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import Phase, settings

import simcore
from simcore import Scenario, builtin_scenario, parse_scenario

# Property tests draw the same examples on every run, so CI is reproducible; to search
# new ones, run pytest with --hypothesis-profile=explore (and keep what it finds as an
# @example on the test). No deadline: how long an example takes on a loaded machine is not
# what a property test asserts (performance is measured in `make bench`).
settings.register_profile("default", derandomize=True, database=None, deadline=None)
settings.register_profile("explore", derandomize=False, deadline=None)
# the same examples without shrinking: a quick first look at a failure
settings.register_profile(
    "no-shrink",
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
settings.load_profile("default")

LOSS_SCENARIO = "librdkafka-auto-commit"  # librdkafka's timer commits a message in progress


def without_faults(name: str) -> Scenario:
    """A built-in scenario with its fault schedule removed: the baseline before a crash."""
    source: dict[str, Any] = json.loads(json.dumps(builtin_scenario(name).source))
    source.pop("faults", None)
    return parse_scenario(source)


@pytest.fixture
def loss_scenario() -> Scenario:
    return builtin_scenario(LOSS_SCENARIO)


@pytest.fixture
def calm_scenario() -> Scenario:
    """The librdkafka auto-commit scenario without its crash: every message processed once."""
    return without_faults(LOSS_SCENARIO)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A test that patches the engine's methods sees nothing on the compiled engine (its
    classes call each other directly): it fails at once, saying how to run it."""
    if item.get_closest_marker("engine_internals") and simcore.ENGINE == "compiled":
        pytest.fail(
            "this test watches the engine by patching its methods, which the compiled engine"
            " never calls back: run it with SIMCORE_SOURCE=1 (make test does)",
            pytrace=False,
        )
