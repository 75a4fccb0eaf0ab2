from __future__ import annotations

from django.http import HttpResponse

from playground import scenarios
from playground.models import SharedScenario
from simcore import Scenario


def saved(scenario: Scenario) -> str:
    """Save `scenario` as a shared one and return its permalink slug."""
    return scenarios.save(scenario)


def text(response: HttpResponse) -> str:
    return response.content.decode()


def stored(slug: str) -> Scenario:
    from simcore import parse_scenario

    return parse_scenario(SharedScenario.objects.get(slug=slug).source)


def builtin_without(name: str, action: str) -> Scenario:
    """A built-in scenario with every fault of one kind removed (the button adds it back)."""
    from simcore import builtin_scenario, parse_scenario

    source = scenarios.source_of(builtin_scenario(name))
    source["faults"] = [f for f in source.get("faults", []) if f["action"] != action]
    return parse_scenario(source)


SLOW_CONSUMER = {  # the shape of built-in 21: one consumer, 500 ms a record, 4 partitions
    "name": "One slow consumer on four partitions",
    "seed": 1,
    "duration_ms": 60000,
    "topics": [{"name": "orders", "partitions": 4}],
    "producers": [{"id": "p1", "topic": "orders", "messages": 240, "rate_per_s": 4, "key": "k{i}"}],
    "consumers": [
        {
            "id": "c1",
            "group": "billing",
            "topics": ["orders"],
            "processing_ms": 500,
            "config": {"auto.offset.reset": "earliest"},
        }
    ],
}


def slow_consumer() -> Scenario:
    """Built-in `slow-consumer-lag-grows` when it exists, else a scenario of the same shape."""
    from simcore import ScenarioError, builtin_scenario, parse_scenario

    try:
        return builtin_scenario("slow-consumer-lag-grows")
    except ScenarioError:
        return parse_scenario(SLOW_CONSUMER)


def scaled_out(consumers: int = 4, at_ms: int = 20000, start_with: int = 1) -> Scenario:
    """The slow-consumer scenario with `start_with` consumers, and more up to `consumers`
    joining at `at_ms` (a rebalance); all with the eager RangeAssignor only."""
    from simcore import parse_scenario

    source = scenarios.source_of(slow_consumer())
    first = source["consumers"][0]
    first["config"] = {**first.get("config", {}), "partition.assignment.strategy": "RangeAssignor"}
    source["consumers"] = [
        {**first, "id": f"c{k}", "start_ms": 0 if k <= start_with else at_ms}
        for k in range(1, consumers + 1)
    ]
    return parse_scenario(source)
