"""TimerGroup: the engine's one way to drop scheduled work that ends together (a client
process's life, a heartbeat thread's run), and how the consumer uses it."""

import simcore
from simcore.kernel.engine import Engine
from simcore.run.simulation import Simulation
from tests.simcore.helpers import consumer, scenario


def test_cancelling_a_group_drops_all_its_pending_calls_and_reorders_nothing():
    engine = Engine(seed=1, horizon_ms=100)
    seen: list[str] = []
    group = engine.group()
    group.after(10, seen.append, "group early")
    engine.at(10, seen.append, "outside")
    timer = group.timer(20, seen.append, "group timer")
    group.after(30, seen.append, "group late")
    engine.at(30, seen.append, "outside late")
    engine.at(15, group.cancel)
    engine.run()
    assert seen == ["group early", "outside", "outside late"]
    assert engine.events_run == 6  # the dropped calls still took their turns, as no-ops
    assert not group.open
    assert not timer.pending and timer.fired and not timer.cancelled  # dropped by its group


def test_a_group_timer_can_be_cancelled_alone():
    engine = Engine(seed=1, horizon_ms=100)
    seen: list[str] = []
    group = engine.group()
    one = group.timer(10, seen.append, "one")
    group.timer(10, seen.append, "two")
    assert one.pending
    one.cancel()
    engine.run()
    assert seen == ["two"]
    assert group.open


def test_what_is_scheduled_on_a_closed_group_never_runs():
    engine = Engine(seed=1, horizon_ms=100)
    seen: list[str] = []
    group = engine.group()
    group.cancel()
    group.after(5, seen.append, "after")
    late = group.timer(5, seen.append, "timer")
    assert not late.pending
    engine.run()
    assert seen == []


def test_a_guarded_answer_does_nothing_once_its_group_is_closed():
    engine = Engine(seed=1, horizon_ms=100)
    seen: list[tuple[str, int]] = []
    group = engine.group()
    answer = group.guard(lambda what, n: seen.append((what, n)))
    answer("before", 1)
    group.call_if_open(seen.append, ("direct", 2))
    group.cancel()
    answer("after", 3)
    group.call_if_open(seen.append, ("direct", 4))
    assert seen == [("before", 1), ("direct", 2)]


def test_a_child_group_ends_with_its_parent_or_alone():
    engine = Engine(seed=1, horizon_ms=100)
    seen: list[str] = []
    life = engine.group()
    first, second = life.group(), life.group()
    first.after(10, seen.append, "first")
    engine.at(5, first.cancel)  # one heartbeat run ends: the next one goes on
    second.after(10, seen.append, "second")
    second.after(30, seen.append, "second late")
    engine.at(20, life.cancel)  # the process dies: every child with it
    engine.run()
    assert seen == ["second"]
    assert not second.open
    orphan = life.group()  # a child of a dead life is born closed
    assert not orphan.open


def test_a_fresh_group_after_a_restart_runs_what_the_old_one_drops():
    engine = Engine(seed=1, horizon_ms=100)
    seen: list[str] = []
    old = engine.group()
    old.after(50, seen.append, "old life")
    engine.at(10, old.cancel)  # the crash
    lives = []
    engine.at(20, lambda: lives.append(engine.group()))  # the restart
    engine.at(30, lambda: lives[0].after(20, seen.append, "new life"))
    engine.run()
    assert seen == ["new life"]  # both due at 50: only the new life's call runs


def _sim_with_crash_and_restart() -> Simulation:
    data = scenario(
        consumers=[consumer(id="c1")],
        faults=[{"action": "crash", "target": "c1", "at_ms": 5000, "restart_after_ms": 2000}],
    )
    return Simulation(simcore.parse_scenario(data))


def test_a_crashed_consumer_drops_what_it_scheduled_and_its_restart_schedules_anew():
    sim = _sim_with_crash_and_restart()
    c1 = sim.consumers[0]
    seen: list[str] = []
    lives = {}

    def before_crash() -> None:
        lives["first"] = c1.life
        c1.later(4000, seen.append, "due at 8000, after the restart")
        c1.later(1500, seen.append, "due at 5500, while down")

    def after_restart() -> None:
        lives["second"] = c1.life
        c1.later(1000, seen.append, "scheduled after the restart")

    sim.engine.at(4000, before_crash)
    sim.engine.at(7500, after_restart)
    sim.run()
    assert seen == ["scheduled after the restart"]
    assert not lives["first"].open
    assert lives["second"] is c1.life and c1.life.open
    assert lives["first"] is not lives["second"]


def test_a_failed_consumer_runs_nothing_it_had_scheduled():
    sim = _sim_with_crash_and_restart()
    c1 = sim.consumers[0]
    seen: list[str] = []

    def schedule_then_fail() -> None:
        c1.later(100, seen.append, "after the failure")
        c1.fail("an error for the test")

    sim.engine.at(3000, schedule_then_fail)
    sim.run()
    assert seen == []
    assert c1.state == "failed"  # and the crash at 5000 did not restart it
    assert not c1.life.open
