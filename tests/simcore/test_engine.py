import os
import subprocess
import sys
import weakref
from pathlib import Path

import pytest

from simcore.kernel.engine import Engine, derive_seed
from simcore.kernel.errors import RunBudgetExceeded
from tests.simcore.helpers import consumer, run, scenario

ROOT = Path(__file__).resolve().parents[2]


def test_it_runs_ties_in_scheduling_order():
    engine = Engine(seed=1, horizon_ms=100)
    seen = []
    for name in "cab":
        engine.at(5, seen.append, name)
    engine.at(1, seen.append, "first")
    engine.run()
    assert seen == ["first", "c", "a", "b"]


def test_a_call_for_the_running_millisecond_runs_after_those_scheduled_before_it():
    engine = Engine(seed=1, horizon_ms=100)
    seen = []

    def first() -> None:
        seen.append("first")
        engine.after(0, seen.append, "now, from first")
        engine.at(5, seen.append, "at 5, from first")
        engine.after(1, seen.append, "at 6, from first")

    engine.at(5, first)
    engine.at(5, seen.append, "second")
    engine.at(6, seen.append, "at 6, scheduled first")
    engine.at(4, seen.append, "at 4")
    engine.run()
    assert seen == [
        "at 4",
        "first",
        "second",
        "now, from first",
        "at 5, from first",
        "at 6, scheduled first",
        "at 6, from first",
    ]
    assert engine.events_run == 7


def test_a_cancelled_timer_does_nothing_and_reorders_nothing():
    engine = Engine(seed=1, horizon_ms=100)
    seen = []
    keep = engine.timer(10, seen.append, "kept")
    dropped = engine.timer(10, seen.append, "dropped")
    engine.at(10, seen.append, "after both")
    engine.after(5, dropped.cancel)
    engine.run()
    assert seen == ["kept", "after both"]
    assert engine.events_run == 4  # the cancelled call still takes its turn, as a no-op
    assert not keep.cancelled and dropped.cancelled
    assert not keep.pending and not dropped.pending  # run, and cancelled


def test_a_timer_is_pending_until_it_runs_or_is_cancelled():
    engine = Engine(seed=1, horizon_ms=100)
    early, late = engine.timer(5, int), engine.timer(50, int)
    states = []
    engine.at(10, lambda: states.append((early.pending, late.pending)))
    engine.at(20, late.cancel)
    engine.at(30, lambda: states.append((early.pending, late.pending)))
    engine.run()
    assert states == [(False, True), (False, False)]


def test_it_stops_at_the_horizon():
    engine = Engine(seed=1, horizon_ms=10)
    seen = []
    engine.at(10, seen.append, 10)
    engine.at(11, seen.append, 11)
    engine.run()
    assert seen == [10]


def test_it_orders_by_time_then_scheduling_across_a_long_horizon():
    # the heap's keys pack (time, seq) into one int: the order must not depend on the
    # magnitudes (times far apart, many events at one time, events scheduled while running)
    engine = Engine(seed=1, horizon_ms=10**7)
    seen = []
    for t in (10**7, 3, 10**6, 3, 0):
        engine.at(t, seen.append, t)
    engine.at(3, lambda: engine.after(0, seen.append, "scheduled at 3"))
    engine.run()
    assert seen == [0, 3, 3, "scheduled at 3", 10**6, 10**7]


def test_a_run_lets_go_of_what_each_event_held():
    # an event's arguments are freed once it has run, not kept for the rest of the run
    class Payload:
        pass

    engine = Engine(seed=1, horizon_ms=100)
    payload = Payload()
    ref = weakref.ref(payload)
    engine.at(5, lambda p: None, payload)
    del payload
    engine.run()
    assert ref() is None


def test_it_derives_distinct_stable_streams():
    assert derive_seed(7, "a") == derive_seed(7, "a")
    assert derive_seed(7, "a") != derive_seed(7, "b")
    assert derive_seed(7, "a") != derive_seed(8, "a")
    assert Engine(7, 1).rng("x").random() == Engine(7, 1).rng("x").random()


def test_it_enforces_the_event_budget():
    data = scenario(
        producers=[
            {"id": "p1", "topic": "orders", "messages": 20000, "rate_per_s": 1000, "key": "k{i}"}
        ]
    )
    import simcore

    full = simcore.simulate(simcore.parse_scenario(data))
    assert full.sim.engine.events_run > 10000
    with pytest.raises(RunBudgetExceeded) as caught:
        simcore.simulate(simcore.parse_scenario(data), max_events=5000)
    assert 5000 <= caught.value.events < 5000 + 4096  # checked every 4096 events


def test_it_honours_should_stop():
    import simcore

    calls = []

    def stop() -> bool:
        calls.append(1)
        return True

    data = scenario(
        producers=[{"id": "p1", "topic": "orders", "messages": 20000, "rate_per_s": 1000}]
    )
    with pytest.raises(RunBudgetExceeded, match="too long"):
        simcore.simulate(simcore.parse_scenario(data), should_stop=stop)
    assert calls


KEYED = scenario(
    seed=42,
    topics=[{"name": "orders", "partitions": 3, "replication_factor": 1}],
    producers=[
        {"id": "p1", "topic": "orders", "messages": 40, "rate_per_s": 200, "key": "k{i}"},
        {"id": "p2", "topic": "orders", "messages": 40, "rate_per_s": 300},
    ],
    consumers=[consumer(id="c1", processing_ms=20), consumer(id="c2", processing_ms=30)],
    faults=[{"action": "crash", "target": "c1", "at_ms": 150, "restart_after_ms": 100}],
)


def test_it_gives_the_same_digest_twice():
    assert run(KEYED).digest == run(KEYED).digest


def test_it_changes_the_digest_with_the_seed():
    other = dict(KEYED, seed=43)
    assert run(KEYED).digest != run(other).digest


def test_it_gives_the_same_digest_in_another_process_with_another_hash_seed(tmp_path):
    import json

    path = tmp_path / "s.json"
    path.write_text(json.dumps(KEYED))
    digests = set()
    for hash_seed in ("1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(ROOT)}
        out = subprocess.run(
            [sys.executable, "-m", "simcore", "run", str(path), "--json"],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            check=True,
        )
        digests.add(json.loads(out.stdout)["digest"])
    assert digests == {run(KEYED).digest}


def test_it_renders_key_and_value_templates_like_str_format():
    import simcore

    data = scenario(
        producers=[
            {
                "id": "p1",
                "topic": "orders",
                "messages": 2,
                "rate_per_s": 10,
                "key": "user-{i:03d}",
                "value": "v {{{i}}}",
            }
        ]
    )
    rows = simcore.simulate(simcore.parse_scenario(data)).messages()
    assert [(m["key"], m["value"]) for m in rows] == [("user-000", "v {0}"), ("user-001", "v {1}")]


def test_it_records_only_plain_values_in_the_timeline():
    """The digest encodes fields with repr(): only types whose repr is stable may appear."""
    import simcore

    def plain(value):
        if isinstance(value, list):
            return all(plain(v) for v in value)
        return value is None or isinstance(value, (bool, int, str))

    runs = [simcore.simulate(sc) for _slug, sc in simcore.builtin_scenarios()]
    runs.append(run(KEYED))
    for result in runs:
        for _t, _kind, _actor, fields in result.events:
            assert all(plain(v) for v in fields.values()), fields


def test_it_leaves_data_path_steps_out_of_the_timeline_of_large_runs():
    """A large run's timeline keeps commits, rebalances and faults, not every send, ack,
    append and poll; what those steps did is still counted where the page reads it: every
    frame's producer counts, the log's batches and the ledger."""
    import simcore

    data = scenario(
        producers=[{"id": "p1", "topic": "orders", "messages": 6000, "rate_per_s": 2000}]
    )
    result = simcore.simulate(simcore.parse_scenario(data))
    kinds = {e[1] for e in result.events}
    assert not kinds & {"send", "ack", "append", "hw", "poll", "processed"}
    assert {"commit_ok", "join_group"} <= kinds
    producer = result.sim.producers[0]
    sent = producer.sender.batches_sent
    assert sent == len(producer.sender.sent_batches) > 0
    appended = sum(len(p.log.batches) for p in result.sim.cluster.partitions.values())
    assert producer.batches_acked == appended == sent  # no retries in this run
    assert result.ledger["groups"]["g"]["processed_once"] == 6000  # the ledger is unaffected
    last = result.frames()[-1]["producers"][0]
    assert (last["sends"], last["acked_batches"]) == (sent, producer.batches_acked)
    assert result.messages() is None  # counts only: no per-message rows in a large run
