"""Random scenarios and fault schedules: the invariants hold and the ledger adds up.

The oracle is the engine's own invariant checker (run after every event) plus the
ledger arithmetic a user relies on.
"""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import simcore
from simcore.scenario.spec import COMMIT_STRATEGIES, CRASH_POINTS

consumers_st = st.lists(
    st.fixed_dictionaries(
        {
            "client": st.sampled_from(["java", "librdkafka"]),
            "commit": st.sampled_from(COMMIT_STRATEGIES),
            "processing_ms": st.integers(0, 400),
            "start_ms": st.integers(0, 3000),
            "group": st.sampled_from(["g1", "g2"]),
            "reset": st.sampled_from(["earliest", "latest", "none"]),
            "interval": st.integers(100, 6000),
            "store": st.booleans(),
        }
    ),
    min_size=1,
    max_size=3,
)
faults_st = st.lists(
    st.one_of(
        st.fixed_dictionaries(
            {
                "action": st.just("crash"),
                "at_ms": st.integers(0, 9000),
                "restart_after_ms": st.one_of(st.none(), st.integers(0, 3000)),
            }
        ),
        st.fixed_dictionaries(
            {
                "action": st.just("crash"),
                "point": st.sampled_from([p for p in CRASH_POINTS if p != "before_commit"]),
                "offset": st.integers(0, 20),
                "restart_after_ms": st.integers(0, 2000),
            }
        ),
        st.fixed_dictionaries(
            {
                "action": st.sampled_from(["commit_fail", "commit_timeout"]),
                "at_ms": st.integers(0, 9000),
                "count": st.integers(1, 3),
            }
        ),
    ),
    max_size=4,
)


def build(seed, partitions, messages, rate, keyed, consumers, faults, targets):
    consumer_list = []
    for n, c in enumerate(consumers):
        manual = c["commit"] != "auto"
        config = {"auto.offset.reset": c["reset"], "auto.commit.interval.ms": c["interval"]}
        if manual:
            config["enable.auto.commit"] = False
        if c["client"] == "librdkafka":
            config["enable.auto.offset.store"] = c["store"]
        consumer_list.append(
            {
                "id": f"c{n}",
                "group": c["group"],
                "topics": ["t"],
                "client": c["client"],
                "commit": c["commit"],
                "processing_ms": c["processing_ms"],
                "start_ms": c["start_ms"],
                "config": config,
            }
        )
    fault_list = [
        dict(f, target=f"c{t % len(consumers)}") for f, t in zip(faults, targets, strict=False)
    ]  # targets may be longer
    return {
        "name": "random",
        "seed": seed,
        "duration_ms": 12000,
        "brokers": 2,
        "topics": [{"name": "t", "partitions": partitions, "replication_factor": 2}],
        "producers": [
            {
                "id": "p",
                "topic": "t",
                "messages": messages,
                "rate_per_s": rate,
                **({"key": "k{i}"} if keyed else {}),
            }
        ],
        "consumers": consumer_list,
        "faults": fault_list,
    }


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32),
    partitions=st.integers(1, 3),
    messages=st.integers(0, 30),
    rate=st.sampled_from([5, 50, 1000]),
    keyed=st.booleans(),
    consumers=consumers_st,
    faults=faults_st,
    targets=st.lists(st.integers(0, 5), min_size=4, max_size=4),
)
def test_it_keeps_invariants_and_an_exact_ledger(
    seed, partitions, messages, rate, keyed, consumers, faults, targets
):
    data = build(seed, partitions, messages, rate, keyed, consumers, faults, targets)
    result = simcore.simulate(simcore.parse_scenario(data), check_invariants=True)
    topic = result.ledger["topics"]["t"]
    assert topic["acked"] + topic["failed"] <= topic["sent"] <= messages
    assert topic["lost_acked"] == 0 and topic["log_duplicates"] == 0  # no broker faults yet
    for group, counts in result.ledger["groups"].items():
        assert (
            counts["processed_once"] + counts["processed_never"] + counts["processed_multiple"]
            == topic["in_log"]
        ), group
    rows = result.messages()
    assert sum(1 for m in rows if m["offsets"]) == topic["in_log"]
    assert result.digest == simcore.simulate(simcore.parse_scenario(data)).digest


@settings(max_examples=150, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=8),
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
        ),
        max_leaves=12,
    )
)
def test_it_only_ever_raises_scenario_errors_on_junk(junk):
    try:
        scenario = simcore.parse_scenario(junk)
    except simcore.ScenarioError:
        return
    simcore.simulate(scenario)
