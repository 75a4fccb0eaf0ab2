"""Assignments of real librdkafka consumer groups on the mock cluster, compared with
``simcore.consumer.assignors.assign(..., client="librdkafka")`` given the same member ids (the
mock picks them) and subscriptions, and with a simulated run of the same group.

Each group forms in one generation (three consumers join within the mock's initial
rebalance delay), then the member with the middle member id closes (LeaveGroup) and the
two others take over. librdkafka's sticky assignor hands the orphans out in its own order
(``rdkafka_sticky_assignor.c``), which is where Java's would differ.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import confluent_kafka
import pytest

import simcore
from simcore.consumer.assignors import assign
from tests.oracle.mock_cluster import MockCluster, wait_for

TopicPartition = tuple[str, int]

# (name, topics with partition counts, each consumer's subscription)
LAYOUTS = {
    "one-topic": ({"t": 6}, [["t"], ["t"], ["t"]]),
    "two-topics": ({"a": 3, "b": 4}, [["a", "b"], ["a", "b"], ["a", "b"]]),
    "unequal": ({"a": 3, "b": 4}, [["a"], ["a", "b"], ["a", "b"]]),
}
CASES = [
    ("range", "one-topic"),
    ("range", "two-topics"),
    ("roundrobin", "one-topic"),
    ("roundrobin", "unequal"),
    ("cooperative-sticky", "one-topic"),
    ("cooperative-sticky", "two-topics"),
    ("cooperative-sticky", "unequal"),
]
INITIAL_DELAY_MS = 1500
SESSION_TIMEOUT_MS = 2000  # the mock waits session.timeout.ms - 1000 for rejoins


class RealGroup:
    """Consumers of one group, polled in turn (rebalance callbacks run inside poll)."""

    def __init__(self, cluster: MockCluster, strategy: str, subscriptions: list[list[str]]):
        self.consumers: list[Any] = []
        # each consumer's rebalance callbacks so far (assignments, and revocations of some
        # partitions): 1 each once the group formed in one generation
        self.rebalances = [0] * len(subscriptions)
        for index, topics in enumerate(subscriptions):
            consumer = confluent_kafka.Consumer(
                cluster.client_config(
                    {
                        "group.id": f"oracle-{strategy}",
                        "client.id": f"c{index}",
                        "partition.assignment.strategy": strategy,
                        "session.timeout.ms": SESSION_TIMEOUT_MS,
                        "heartbeat.interval.ms": 300,
                        "enable.auto.commit": False,
                    }
                )
            )
            consumer.subscribe(
                topics, on_assign=self._counter(index, True), on_revoke=self._counter(index, False)
            )
            self.consumers.append(consumer)
        self.subscriptions = subscriptions

    def _counter(self, index: int, assign: bool) -> Callable[[Any, list[Any]], None]:
        def count(_consumer: Any, partitions: list[Any]) -> None:
            if assign or partitions:
                self.rebalances[index] += 1

        return count

    def step(self) -> None:
        for consumer in self.consumers:
            consumer.poll(0.02)

    def assignments(self) -> list[list[TopicPartition]]:
        return [sorted((p.topic, p.partition) for p in c.assignment()) for c in self.consumers]

    def wait_complete(self, total: int, everyone: bool) -> dict[str, list[TopicPartition]]:
        """Polls until the members' assignments cover all `total` partitions once (and, if
        `everyone`, each member has some); returns member id → partitions."""

        def complete() -> bool:
            parts = self.assignments()
            every = [tp for tps in parts for tp in tps]
            return len(every) == len(set(every)) == total and (all(parts) or not everyone)

        wait_for(complete, 20, "a complete assignment", self.step)
        return {
            c.memberid(): tps for c, tps in zip(self.consumers, self.assignments(), strict=True)
        }

    def close(self, index: int) -> None:
        self.consumers.pop(index).close()
        self.subscriptions.pop(index)

    def close_all(self) -> None:
        for consumer in self.consumers:
            consumer.close()
        self.consumers.clear()


@pytest.fixture(scope="module")
def real_runs() -> Callable[[str, str], dict[str, Any]]:
    """Each (strategy, layout) group runs once on its own mock cluster, whichever tests
    read it."""
    cache: dict[tuple[str, str], dict[str, Any]] = {}

    def run(strategy: str, layout: str) -> dict[str, Any]:
        # The comparison needs a group formed in one generation. On a loaded machine a
        # consumer can join after the initial delay: then the group rebalances again
        # (stickily, from the first generation's assignment), and is formed anew.
        attempts = 0
        while (strategy, layout) not in cache:
            attempts += 1
            with MockCluster(brokers=1, initial_rebalance_delay_ms=INITIAL_DELAY_MS) as mock:
                result = _real_run(mock, strategy, layout)
            if result["generations_before"] == 1:
                cache[(strategy, layout)] = result
            elif attempts == 3:
                pytest.fail(f"{strategy}/{layout}: the group never formed in one generation")
        return cache[(strategy, layout)]

    return run


def _real_run(cluster: MockCluster, strategy: str, layout: str) -> dict[str, Any]:
    counts, subscriptions = LAYOUTS[layout]
    for topic, n in counts.items():
        cluster.create_topic(topic, n)
    total = sum(n for t, n in counts.items() if any(t in s for s in subscriptions))
    group = RealGroup(cluster, strategy, [list(s) for s in subscriptions])
    try:
        before = group.wait_complete(total, everyone=True)
        generations = max(group.rebalances)
        subs_before = {
            c.memberid(): s for c, s in zip(group.consumers, group.subscriptions, strict=True)
        }
        ranked = sorted(before)
        middle = ranked[1]
        group.close([c.memberid() for c in group.consumers].index(middle))
        after = group.wait_complete(total, everyone=False)
        subs_after = {
            c.memberid(): s for c, s in zip(group.consumers, group.subscriptions, strict=True)
        }
    finally:
        group.close_all()
    return {
        "counts": counts,
        "generations_before": generations,
        "before": before,
        "subs_before": subs_before,
        "after": after,
        "subs_after": subs_after,
        "ranked": ranked,
    }


@pytest.mark.parametrize(("strategy", "layout"), CASES)
def test_real_groups_assign_as_simcore_does(real_runs, strategy, layout):
    run = real_runs(strategy, layout)
    counts = run["counts"]
    first = assign(strategy, run["subs_before"], counts, client="librdkafka")
    assert first == run["before"]
    survivors_owned = {m: run["before"][m] for m in run["after"]}
    second = assign(strategy, run["subs_after"], counts, survivors_owned, client="librdkafka")
    assert second == run["after"]


def test_java_sticky_would_give_the_orphans_to_other_survivors(real_runs):
    # the case where the two families differ: the real librdkafka leader is not Java
    run = real_runs("cooperative-sticky", "one-topic")
    owned = {m: run["before"][m] for m in run["after"]}
    java = assign("cooperative-sticky", run["subs_after"], run["counts"], owned)
    assert java != run["after"]


def _simulated(
    strategy: str, counts: dict[str, int], subscriptions: list[list[str]], leaving: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Assignments of the same group simulated: consumer ids c0, c1, c2 (simcore's member
    ids sort in that order) with these subscriptions; consumer `leaving` closes at 8 s."""
    consumers = [
        {
            "id": f"c{index}",
            "group": "g",
            "topics": topics,
            "client": "librdkafka",
            "config": {
                "partition.assignment.strategy": strategy,
                "session.timeout.ms": 6000,
                "heartbeat.interval.ms": 300,
            },
        }
        for index, topics in enumerate(subscriptions)
    ]
    scenario = simcore.parse_scenario(
        {
            "name": "oracle assignors",
            "seed": 5,
            "duration_ms": 20000,
            "brokers": 1,
            "broker_config": {"group.initial.rebalance.delay.ms": INITIAL_DELAY_MS},
            "topics": [
                {"name": t, "partitions": n, "replication_factor": 1} for t, n in counts.items()
            ],
            "consumers": consumers,
            "faults": [{"action": "stop", "target": f"c{leaving}", "at_ms": 8000}],
        }
    )
    result = simcore.simulate(scenario)
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for time_ms, kind, actor, fields in result.events:
        if kind == "assigned":
            parts = sorted(
                (p.rsplit("-", 1)[0], int(p.rsplit("-", 1)[1])) for p in fields["partitions"]
            )
            (before if time_ms < 8000 else after)[actor] = parts
    return before, after


@pytest.mark.parametrize(
    ("strategy", "layout"),
    [
        ("range", "one-topic"),
        ("roundrobin", "unequal"),
        ("cooperative-sticky", "one-topic"),
    ],
)
def test_a_simulated_group_matches_the_real_one_rank_by_rank(real_runs, strategy, layout):
    run = real_runs(strategy, layout)
    ranked = run["ranked"]  # real member ids in order: rank k plays simulated consumer ck
    subscriptions = [run["subs_before"][m] for m in ranked]
    before, after = _simulated(strategy, run["counts"], subscriptions, leaving=1)
    assert {f"c{k}": run["before"][m] for k, m in enumerate(ranked)} == before
    survivors = {f"c{k}": run["after"][m] for k, m in enumerate(ranked) if m in run["after"]}
    assert survivors == {c: after.get(c, before[c]) for c in survivors}
