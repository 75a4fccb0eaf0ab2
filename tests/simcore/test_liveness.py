"""Liveness next to safety: once the last fault has healed, the system makes progress.

Random groups (both client families, every commit strategy, processing fast enough to
keep up), consumer crashes and graceful stops with restarts, commit failures and broker
restarts, all over by ``HEALED_MS``. The producer stops at ``PRODUCE_UNTIL_MS``. The bound
we state for recovery after the last fault: a session timeout (6 s) for a member that died
without leaving, plus a rebalance (the initial delay, 3 s, and a round trip of joins), plus
an auto-commit interval (≤ 5 s), a lost commit's request.timeout.ms (5 s) and a fetch
(≤ fetch.max.wait.ms) — 20 s is generous. By
``END_MS`` = ``HEALED_MS`` + 20 s:

- every group with a live member is Stable, and every partition is owned by a live member;
- each live member's position is at the high watermark (records-lag 0) — nobody stalls;
- a group that auto-commits has committed the high watermark (tool lag 0) — the
  auto-commit keeps committing while idle; a manual commit that failed last (say
  RebalanceInProgressException during a cooperative rebalance) is not redone by anyone;
- every record produced was acknowledged or failed (``delivery.timeout.ms`` is 10 s).
"""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import simcore
from simcore.scenario.spec import COMMIT_STRATEGIES

PRODUCE_UNTIL_MS = 14_000
HEALED_MS = 16_000
RECOVERY_BOUND_MS = 20_000
END_MS = HEALED_MS + RECOVERY_BOUND_MS
LIVE = ("polling", "processing", "committing", "rebalancing", "joining")

consumers_st = st.lists(
    st.fixed_dictionaries(
        {
            "client": st.sampled_from(["java", "librdkafka"]),
            "commit": st.sampled_from(COMMIT_STRATEGIES),
            "processing_ms": st.sampled_from([0, 0, 1, 5]),
            "start_ms": st.integers(0, 3000),
            "interval": st.integers(100, 5000),
            "store": st.booleans(),
            "cooperative": st.booleans(),
        }
    ),
    min_size=1,
    max_size=3,
)
consumer_faults_st = st.lists(
    st.fixed_dictionaries(
        {
            "action": st.sampled_from(["crash", "stop"]),
            "at_ms": st.integers(1000, 12_000),
            "restart_after_ms": st.integers(0, 3000),
            "target": st.integers(0, 2),
        }
    ),
    max_size=3,
)
other_faults_st = st.lists(
    st.one_of(
        st.fixed_dictionaries(
            {
                "action": st.sampled_from(["commit_fail", "commit_timeout"]),
                "at_ms": st.integers(0, 12_000),
                "count": st.integers(1, 3),
                "target": st.integers(0, 2),
            }
        ),
        st.fixed_dictionaries(
            {
                "action": st.just("kill_broker"),
                "target": st.sampled_from(["broker-0", "broker-1", "broker-2"]),
                "at_ms": st.integers(1000, 10_000),
                "restart_after_ms": st.integers(100, 4000),
            }
        ),
    ),
    max_size=2,
)


def _per_record(c, client):
    return c["commit"] == "sync-per-record" or (
        client == "librdkafka" and c["commit"] == "sync-per-batch"
    )


def build(seed, partitions, rate, keyed, consumers, consumer_faults, other_faults):
    members: list[dict] = []
    for n, c in enumerate(consumers):
        config = {
            "auto.offset.reset": "earliest",
            "auto.commit.interval.ms": c["interval"],
            "session.timeout.ms": 6000,
            "heartbeat.interval.ms": 2000,
        }
        if c["commit"] != "auto":
            config["enable.auto.commit"] = False
        if c["client"] == "librdkafka":
            config["enable.auto.offset.store"] = c["store"]
            if c["cooperative"]:
                config["partition.assignment.strategy"] = "cooperative-sticky"
        elif c["cooperative"]:
            config["partition.assignment.strategy"] = (
                "org.apache.kafka.clients.consumer.CooperativeStickyAssignor"
            )
        members.append(
            {
                "id": f"c{n}",
                "group": "g",
                "topics": ["t"],
                "client": c["client"],
                # a commitSync per record costs a round trip (2 ms): 500 records/s at most,
                # so after a take-over the backlog drains slowly; librdkafka's poll() hands
                # out one message, so its "per batch" is per record too
                "commit": "async"
                if _per_record(c, consumers[0]["client"]) and rate > 20
                else c["commit"],
                # fast enough to keep up alone: at most 40 % busy
                "processing_ms": c["processing_ms"] if rate * c["processing_ms"] <= 400 else 0,
                "start_ms": c["start_ms"],
                "config": config,
            }
        )
    # one assignment strategy per group: the first member's (mixed ones cannot agree)
    strategy = members[0]["config"].get("partition.assignment.strategy")
    for m in members:
        if m["client"] != members[0]["client"]:
            m["client"] = members[0]["client"]
            m["config"].pop("enable.auto.offset.store", None)
            if m["client"] == "librdkafka":
                m["config"]["enable.auto.offset.store"] = True
        # a commit lost by a fault fails after 5 s (librdkafka: socket.timeout.ms)
        timeout = "socket.timeout.ms" if m["client"] == "librdkafka" else "request.timeout.ms"
        m["config"][timeout] = 5000
        m["config"].pop("partition.assignment.strategy", None)
        if strategy is not None:
            m["config"]["partition.assignment.strategy"] = strategy
    faults = [
        {
            **{k: v for k, v in f.items() if k != "target"},
            "target": f"c{f['target'] % len(members)}",
        }
        for f in consumer_faults
    ]
    for f in other_faults:
        if f["action"] == "kill_broker":
            faults.append(dict(f))
        else:
            faults.append({**f, "target": f"c{f['target'] % len(members)}"})
    return {
        "name": "liveness",
        "seed": seed,
        "duration_ms": END_MS,
        "brokers": 3,
        "topics": [{"name": "t", "partitions": partitions, "replication_factor": 3}],
        "producers": [
            {
                "id": "p",
                "topic": "t",
                "messages": rate * PRODUCE_UNTIL_MS // 1000,
                "rate_per_s": rate,
                "config": {"delivery.timeout.ms": 10_000, "request.timeout.ms": 3000},
                **({"key": "k{i}"} if keyed else {}),
            }
        ],
        "consumers": members,
        "faults": faults,
    }


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    report_multiple_bugs=False,
)
@given(
    seed=st.integers(0, 2**32),
    partitions=st.integers(1, 4),
    rate=st.sampled_from([20, 200, 2000]),
    keyed=st.booleans(),
    consumers=consumers_st,
    consumer_faults=consumer_faults_st,
    other_faults=other_faults_st,
)
def test_after_the_last_fault_heals_every_group_catches_up(
    seed, partitions, rate, keyed, consumers, consumer_faults, other_faults
):
    data = build(seed, partitions, rate, keyed, consumers, consumer_faults, other_faults)
    result = simcore.simulate(simcore.parse_scenario(data), check_invariants=True)
    sim = result.sim
    producer = sim.producers[0]
    assert producer.sent == producer.spec.messages
    topic = result.ledger["topics"]["t"]
    assert topic["acked"] + topic["failed"] == topic["sent"], "a send was never answered"
    live = [c for c in sim.consumers if c.state in LIVE]
    if not live:
        return  # everyone crashed for good or failed (e.g. auto.offset.reset=none)
    group = sim.coordinator.group("g")
    assert group.state == "Stable", f"group g is {group.state} at the end"
    owned = sorted(tp for c in live for tp in c.membership.assignment)
    assert owned == sorted(("t", p) for p in range(partitions)), "a partition has no owner"
    for c in live:
        for tp in c.membership.assignment:
            hw = sim.cluster.partitions[tp].log.hw
            assert c.positions.get(tp) == hw, f"{c.id} stalls on {tp}: {c.positions.get(tp)} < {hw}"
    if any(c.spec.commit != "auto" for c in sim.consumers):
        # manual commits happen only when records come: one that failed last (e.g.
        # RebalanceInProgressException during a cooperative rebalance) is not redone
        return
    for tp in owned:
        hw = sim.cluster.partitions[tp].log.hw
        committed = sim.coordinator.committed_offset("g", tp)
        assert committed == hw or hw == 0, f"{tp}: committed {committed}, HW {hw}"
