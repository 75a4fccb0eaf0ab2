"""The built-in scenarios of the consumer-groups, rebalancing and lag chapter (21..30).

Each test pins what the scenario's description promises a learner: how the lag moves
(series values early against late), the Burrow-style lag status and the catch-up
estimate, who owns which partition after each rebalance, how long each partition was
paused, poll timeouts and CommitFailedException, static rejoins, retention deleting
unread orders, and the ledger counts. Every run checks the invariants after each event.
Digests are not pinned; determinism is.
"""

from __future__ import annotations

import bisect
import itertools
from functools import cache
from typing import Any

import pytest

import simcore
from simcore.report.narrative import offsets_text, records_text
from simcore.scenario.builtins import SCENARIO_DIR

CHAPTER = [
    "slow-consumer-lag-grows",
    "scale-out-drains-lag",
    "fifth-consumer-idle",
    "max-poll-interval-exceeded",
    "eager-scale-out",
    "cooperative-scale-out",
    "static-membership-restart",
    "retention-deletes-unread",
    "producer-burst-and-recovery",
    "consumer-protocol-scale-out",
]

FOUR = ["orders-0", "orders-1", "orders-2", "orders-3"]
RANGE = "org.apache.kafka.clients.consumer.RangeAssignor"
COOPERATIVE = "org.apache.kafka.clients.consumer.CooperativeStickyAssignor"


@cache
def run(slug: str) -> simcore.Result:
    return simcore.simulate(simcore.builtin_scenario(slug), check_invariants=True)


def events(slug: str, kind: str, actor: str | None = None) -> list[tuple[int, dict[str, Any]]]:
    return [
        (t, fields)
        for t, k, who, fields in run(slug).events
        if k == kind and (actor is None or who == actor)
    ]


def group(slug: str) -> dict[str, Any]:
    return run(slug).consumer_groups()["billing"]


def ledger(slug: str) -> dict[str, int]:
    return run(slug).summary()["ledger"]["groups"]["billing"]


def assigned(slug: str, member: str) -> list[str]:
    """The member's partitions after its last assignment."""
    return events(slug, "assigned", member)[-1][1]["partitions"]


def paused(slug: str) -> dict[str, int]:
    """Per partition, how long the scale-out rebalance(s) kept it paused."""
    out: dict[str, int] = {}
    for rebalance in group(slug)["rebalances"]["list"]:
        if rebalance["start_ms"] > 10_000:
            for part, ms in rebalance["paused_ms"].items():
                out[part] = out.get(part, 0) + ms
    return out


@cache
def _series(slug: str) -> dict[str, Any]:
    return run(slug).series()


def lag_at(slug: str, t: int) -> int:
    """The tool's LAG over all partitions at time t (a partition with no commit yet: 0)."""
    series = _series(slug)
    index = bisect.bisect_right(series["t"], t) - 1
    return sum(row["lag"][index] or 0 for row in series["groups"].values())


def lag_between(slug: str, start: int, end: int) -> list[int]:
    series = _series(slug)
    return [lag_at(slug, t) for t in series["t"] if start <= t <= end]


@cache
def _frames(slug: str) -> list[dict[str, Any]]:
    return run(slug).frames()


def summary_at(slug: str, t: int) -> dict[str, Any]:
    """The group's summary (status, catch-up estimate, ...) as the player shows it at t."""
    frames = _frames(slug)
    index = bisect.bisect_right([f["t"] for f in frames], t) - 1
    (summary,) = frames[index]["group_summary"]
    return summary


def statuses_between(slug: str, start: int, end: int) -> set[str]:
    return {f["group_summary"][0]["status"] for f in _frames(slug) if start <= f["t"] <= end}


def positions(slug: str, actor: str) -> list[tuple[int, dict[str, Any]]]:
    return events(slug, "position", actor)


def poll_sizes(slug: str, actor: str) -> list[tuple[int, int]]:
    """(time, records) of each poll() that returned records ("orders-1@3..9, orders-2@6")."""
    out = []
    for t, fields in events(slug, "poll", actor):
        count = 0
        for _part, first, last in fields["records"]:
            count += last - first + 1
        out.append((t, count))
    return out


# --- the chapter as a whole -------------------------------------------------------------------


def test_it_lists_the_chapter_as_scenarios_21_to_30() -> None:
    slugs = [slug for slug, _ in simcore.builtin_scenarios()]
    assert [s for s in slugs if s in CHAPTER] == CHAPTER
    numbers = {path.stem.split("-", 1)[1]: path.name[:2] for path in SCENARIO_DIR.glob("*.yaml")}
    assert [numbers[slug] for slug in CHAPTER] == [f"{n}" for n in range(21, 31)]


@pytest.mark.parametrize("slug", CHAPTER)
def test_it_runs_every_scenario_with_invariants_checked(slug: str) -> None:
    result = run(slug)
    scenario = result.scenario
    assert result.events
    assert scenario.duration_ms <= 120_000
    assert sum(p.messages for p in scenario.producers) <= 300
    assert {c.group for c in scenario.consumers} == {"billing"}
    assert ledger(slug)["processed_once"] + ledger(slug)["processed_never"] > 0


def test_it_pairs_eager_and_cooperative_scale_out_differing_only_in_the_assignor() -> None:
    def without_assignor(slug: str) -> tuple[dict[str, Any], set[str]]:
        data = simcore.scenario_to_data(simcore.builtin_scenario(slug))
        data.pop("name")
        data.pop("description")
        strategies = {c["config"].pop("partition.assignment.strategy") for c in data["consumers"]}
        return data, strategies

    eager, eager_strategies = without_assignor("eager-scale-out")
    cooperative, cooperative_strategies = without_assignor("cooperative-scale-out")
    assert eager == cooperative
    assert eager_strategies == {RANGE}
    assert cooperative_strategies == {COOPERATIVE}
    assert group("eager-scale-out")["protocol"] == "range"
    assert group("cooperative-scale-out")["protocol"] == "cooperative-sticky"


def test_it_builds_the_scale_out_on_the_slow_consumer_run() -> None:
    slow = simcore.scenario_to_data(simcore.builtin_scenario("slow-consumer-lag-grows"))
    scaled = simcore.scenario_to_data(simcore.builtin_scenario("scale-out-drains-lag"))
    assert scaled["topics"] == slow["topics"]
    first, *joiners = scaled["consumers"]
    assert first == slow["consumers"][0]
    assert [c.pop("id") for c in joiners] == ["c2", "c3", "c4"]
    assert all(c.pop("start_ms") == 20_000 for c in joiners)
    assert all(c == {k: v for k, v in first.items() if k != "id"} for c in joiners)
    for key in ("id", "topic", "rate_per_s", "key", "value"):
        assert scaled["producers"][0][key] == slow["producers"][0][key]
    # until the three join, it is the same run
    for t in (10_000, 15_000, 20_000):
        assert lag_at("scale-out-drains-lag", t) == lag_at("slow-consumer-lag-grows", t)


# --- lag grows, lag drains ------------------------------------------------------------------------


def test_it_shows_one_slow_consumer_falling_further_behind() -> None:
    slug = "slow-consumer-lag-grows"
    assert assigned(slug, "c1") == FOUR
    lags = [lag_at(slug, t) for t in (10_000, 20_000, 45_000, 60_000)]
    assert lags == [27, 67, 141, 131]
    # auto-commit runs inside poll(), and the polls get longer as the lag grows
    commits = [t for t, f in events(slug, "commit_stored")]
    assert [t // 500 * 500 for t in commits] == [9_500, 22_500, 48_500, 57_500]
    # the tool's LAG is a saw (up 4 a second, down at each commit); what grows is where
    # each commit leaves it
    after_commit = [lag_at(slug, t) for t in commits]
    assert after_commit == [26, 52, 104, 122]
    assert all(b > a for a, b in itertools.pairwise(after_commit))
    # a poll returns what the fetch sent by the poll before brought in: the orders written
    # while the batch before last was processed, so the batches double every second poll
    sizes = poll_sizes(slug, "c1")
    assert [n for _, n in sizes] == [1, 12, 4, 22, 9, 43, 18, 86]
    big = [(t // 500 * 500, n) for t, n in sizes if n >= 20]
    assert big == [(11_500, 22), (27_000, 43), (57_500, 86)]
    summary = group(slug)
    assert summary["catch_up_ms"] is None, "not catching up: no estimate"
    # Burrow: OK all minute — the first commit (9.5 s) is past the log end it fetched at
    # 0 s (lag 0), and that fetch (0) stays among the last 10, so no STOP either
    assert statuses_between(slug, 0, 60_000) == {"OK"}
    assert run(slug).sim.recorder.broker_offsets[("orders", 0)][0] == 0
    assert {summary_at(slug, t)["catch_up_ms"] for t in range(10_000, 60_001, 2_500)} == {None}
    # the client's records-lag counts to the HW of the answers poll() hands out, after
    # they move the position ([J] FetchCollector.fetchRecords): every poll hands out all
    # that the answers brought, so c1 reads 0 all minute while the tool's LAG reaches 131
    parts = summary["partitions"]
    assert sum(p["lag"] for p in parts) == 131
    assert [p["records_lag"] for p in parts] == [0, 0, 0, 0]
    result = run(slug)
    snaps = result.sim.recorder.snapshots
    lag_max = {
        m["value"]
        for i, s in enumerate(snaps)
        if s.t >= 5_000 and i % 25 == 0
        for m in result.metrics(i)
        if m["name"] == "records-lag-max"
    }
    assert lag_max == {0}
    assert max(p["time_lag_ms"] for p in parts) >= 32_000
    assert ledger(slug)["processed_multiple"] == 0


def test_it_shows_three_more_consumers_draining_the_lag() -> None:
    slug = "scale-out-drains-lag"
    rebalances = group(slug)["rebalances"]["list"]
    assert len(rebalances) == 2
    scale_out = rebalances[1]
    assert scale_out["start_ms"] // 100 == 200  # c2..c4 join at 20 s
    assert 22_000 <= scale_out["end_ms"] <= 23_000  # c1 rejoins after its batch
    assert max(scale_out["paused_ms"].values()) < 100, "c1 worked on while the group waited"
    ((_, revoked),) = events(slug, "revoked", "c1")
    assert revoked["partitions"] == FOUR, "eager: all revoked before rejoining"
    owners = {member: assigned(slug, member) for member in ("c1", "c2", "c3", "c4")}
    assert owners == {
        "c1": ["orders-0"],
        "c2": ["orders-1"],
        "c3": ["orders-2"],
        "c4": ["orders-3"],
    }
    # the lag drains: high just after the rebalance, low at the end
    assert lag_at(slug, 28_000) == 73
    assert lag_at(slug, 34_000) < 30
    assert max(lag_between(slug, 40_000, 50_000)) <= 20
    # an estimate appears once the window holds commits of the four consumers
    assert {summary_at(slug, t)["catch_up_ms"] for t in range(10_000, 31_001, 1_000)} == {None}
    assert summary_at(slug, 31_100)["catch_up_ms"] > 100_000, "appears at 31.0 s, wild"
    estimates = [summary_at(slug, t)["catch_up_ms"] for t in range(32_000, 50_001, 1_000)]
    assert None not in estimates
    assert summary_at(slug, 40_000)["catch_up_ms"] < 10_000
    assert group(slug)["lag_status"] == "OK"
    assert ledger(slug)["processed_multiple"] == 0


def test_it_leaves_the_fifth_consumer_idle() -> None:
    slug = "fifth-consumer-idle"
    ((t, generation),) = events(slug, "generation")
    assert 6_000 <= t < 6_100, "the initial delay was extended once"
    assert sorted(generation["members"]) == ["c1", "c2", "c3", "c4", "c5"]
    owners = {member: assigned(slug, member) for member in ("c1", "c2", "c3", "c4", "c5")}
    assert owners["c5"] == []
    assert sorted(p for parts in owners.values() for p in parts) == FOUR
    assert all(len(owners[m]) == 1 for m in ("c1", "c2", "c3", "c4"))
    assert events(slug, "processed", "c5") == []
    rates = {
        m["labels"]["client_id"]: m["value"]
        for m in run(slug).metrics()
        if m["name"] == "records-consumed-rate"
    }
    assert rates["c5"] == 0
    assert all(rates[m] > 0 for m in ("c1", "c2", "c3", "c4"))
    assert group(slug)["rebalances"]["count"] == 1
    # the assignment at 6.0 s restarts the auto-commit timers: no commit before 11 s, so
    # the tool has no LAG to show until then
    first_commit = min(t for t, _f in events(slug, "commit_stored"))
    assert 11_000 <= first_commit < 11_100
    series = _series(slug)
    before = [i for i, t in enumerate(series["t"]) if t < first_commit]
    assert all(row["lag"][i] is None for row in series["groups"].values() for i in before)
    assert max(lag_between(slug, first_commit, 30_000)) < 25
    # Burrow: orders-3's single commit (11 at 11.5 s) is behind the log end fetched at
    # 10 s (12): STALL, so the group is ERR until its second commit at 16.6 s
    assert run(slug).sim.recorder.broker_offsets[("orders", 3)][1] == 12
    assert statuses_between(slug, 0, 11_500) == {"OK"}
    assert statuses_between(slug, 11_600, 16_600) == {"ERR"}
    assert statuses_between(slug, 16_608, 30_000) == {"OK"}
    assert group(slug)["lag_status"] == "OK"
    assert ledger(slug)["processed_once"] == 117
    assert ledger(slug)["processed_multiple"] == 0


# --- max.poll.interval.ms ----------------------------------------------------------------------


def test_it_shows_a_slow_batch_costing_the_partition_a_commit_and_duplicates() -> None:
    slug = "max-poll-interval-exceeded"
    spec = {c.id: c for c in run(slug).scenario.consumers}
    assert spec["c1"].max_poll_interval_ms == 10_000
    assert spec["c1"].max_poll_records == 500
    first = events(slug, "assigned")[:2]
    assert {f["partitions"][0] for _, f in first} == {"orders-0", "orders-1"}
    assert assigned(slug, "c1") == ["orders-0"]
    # c1's heartbeat thread leaves the group for it
    ((timeout_at, timeout),) = events(slug, "poll_timeout", "c1")
    assert timeout["max_poll_interval_ms"] == 10_000
    # the heartbeat thread checks the poll timer every retry.backoff.ms (100 ms)
    assert timeout["since_last_poll"] == 10_096
    ((left_at, left),) = events(slug, "member_left")
    assert left["member"] == "c1"
    assert left_at - timeout_at <= 5
    causes = [(t, f["cause"]) for t, f in events(slug, "rebalance_start")]
    assert any(t == left_at and "max.poll.interval.ms" in cause for t, cause in causes)
    # c2 takes orders-0 and starts it from scratch (no commit yet)
    takeover = [(t, f["partitions"]) for t, f in events(slug, "assigned", "c2") if t > timeout_at]
    assert takeover[0][1] == ["orders-0", "orders-1"]
    assert any(f["part"] == "orders-0" and f["offset"] == 0 for _, f in positions(slug, "c2"))
    # meanwhile c1 keeps processing the same orders: two consumers on one partition
    c1_after = [t for t, f in events(slug, "processed", "c1") if t > timeout_at]
    c2_orders0 = [t for t, f in events(slug, "processed", "c2") if f["part"] == "orders-0"]
    assert c1_after
    assert c2_orders0
    assert min(c1_after) < max(c2_orders0)
    # c1's commit is refused by its own client, which knows it left: CommitFailedException
    ((_, exception),) = events(slug, "commit_exception", "c1")
    assert (exception["exception"], exception["error"]) == (
        "CommitFailedException",
        "the consumer is not part of an active group: it was kicked out of it",
    )
    assert events(slug, "commit_sync", "c1") == [], "nothing was sent"
    assert any("CommitFailedException" in e for e in run(slug).errors)
    # polling again rejoins: c1 gets orders-0 back, from c2's commit
    assert group(slug)["generation"] == 3
    assert positions(slug, "c1")[-1][1]["offset"] == 15
    counts = ledger(slug)
    assert (counts["processed_multiple"], counts["processed_never"]) == (15, 0)


# --- eager against cooperative -------------------------------------------------------------------


def test_it_pauses_every_partition_in_an_eager_scale_out() -> None:
    slug = "eager-scale-out"
    assert paused(slug) == {"orders-0": 6006, "orders-1": 6006, "orders-2": 6, "orders-3": 6}
    scale_out = [r for r in group(slug)["rebalances"]["list"] if r["start_ms"] > 10_000]
    assert len(scale_out) == 1, "one round"
    revoked = sorted(p for t, f in events(slug, "revoked") if t > 16_000 for p in f["partitions"])
    assert revoked == FOUR
    # c1 rejoined at 19.5 s and waited idle until c2 finished its batch at 25.5 s
    joins = {
        actor: t for t, kind, actor, _f in run(slug).events if kind == "join_group" and t > 17_000
    }
    assert (joins["c1"], joins["c2"]) == (19_512, 25_512)
    assert [n for t, n in poll_sizes(slug, "c2") if 16_500 < t < 25_000] == [17]
    owners = {member: assigned(slug, member) for member in ("c1", "c2", "c3", "c4")}
    assert sorted(len(parts) for parts in owners.values()) == [1, 1, 1, 1]
    assert lag_at(slug, 50_000) < lag_at(slug, 30_000)


def test_it_pauses_only_the_moved_partitions_in_a_cooperative_scale_out() -> None:
    slug = "cooperative-scale-out"
    assert paused(slug) == {"orders-2": 3508, "orders-3": 4508}
    scale_out = [r for r in group(slug)["rebalances"]["list"] if r["start_ms"] > 10_000]
    assert len(scale_out) == 2, "two rounds"
    assert scale_out[0]["paused_ms"] == {}, "nothing revoked in the first round"
    revoked = sorted(p for t, f in events(slug, "revoked") if t > 16_000 for p in f["partitions"])
    assert revoked == ["orders-2", "orders-3"]
    rejoins = {
        a: f["owned"]
        for t, k, a, f in run(slug).events
        if k == "join_group" and a in ("c1", "c2") and 16_000 < t < 22_515
    }
    assert rejoins == {"c1": ["orders-0", "orders-2"], "c2": ["orders-1", "orders-3"]}
    # onJoinPrepare commits every position before the JoinGroup, eager or cooperative
    before_join = {
        actor: (t, offsets_text(f["offsets"]))
        for t, k, actor, f in run(slug).events
        if k == "commit_sync" and 16_000 < t < 23_000
    }
    assert before_join == {
        "c1": (19_510, "orders-0@13, orders-2@14"),
        "c2": (22_510, "orders-1@15, orders-3@18"),
    }
    assert events(slug, "commit_failed") == []
    # the revocation after the join commits nothing (onJoinComplete only calls
    # onPartitionsRevoked), although c1 and c2 processed on: the new owners re-read
    revoked_at = {a: t for t, k, a, _f in run(slug).events if k == "revoked" and t > 16_000}
    assert revoked_at == {"c2": 29_512, "c1": 30_512}
    stored = [t for t, _f in events(slug, "commit_stored")]
    assert not set(stored) & {t + d for t in revoked_at.values() for d in (0, 1, 2)}
    done = {
        (f["part"], f["first"])
        for t, f in events(slug, "processed")
        if t <= max(revoked_at.values())
    }
    assert {("orders-2", o) for o in range(14, 24)} <= done
    assert {("orders-3", o) for o in range(18, 24)} <= done
    starts = {f["part"]: f["offset"] for t, f in positions(slug, "c3") + positions(slug, "c4")}
    assert starts == {"orders-2": 14, "orders-3": 18}
    twice = [
        (row["partition"], row["offsets"][0])
        for row in run(slug).messages() or []
        if row["processed"]["billing"] > 1
    ]
    assert sorted(twice) == [(2, o) for o in range(14, 24)] + [(3, o) for o in range(18, 24)]
    assert ledger(slug)["processed_multiple"] == 16
    assert ledger("eager-scale-out")["processed_multiple"] == 0
    # the second round waits for c2's next poll() after its revocation
    second = [(r["start_ms"], r["end_ms"]) for r in scale_out][1]
    assert second == (31_015, 34_017)
    owners = {member: assigned(slug, member) for member in ("c1", "c2", "c3", "c4")}
    assert owners == {
        "c1": ["orders-0"],
        "c2": ["orders-1"],
        "c3": ["orders-2"],
        "c4": ["orders-3"],
    }
    # orders-0 and orders-1 drain; orders-2 and orders-3, restarted from the older
    # commits, see no commit from their new owners before the end — yet no STOP: Burrow's
    # last 10 log ends still hold the one fetched at 0 s, below their last commits
    parts = {p["partition"]: p for p in group(slug)["partitions"]}
    assert (parts[0]["lag"], parts[1]["lag"]) == (0, 4)
    assert [parts[k]["status"] for k in range(4)] == ["OK", "OK", "OK", "WARN"]
    assert group(slug)["lag_status"] == "WARN"
    assert statuses_between(slug, 15_511, 22_500) == {"ERR"}  # single commits: STALL
    assert [n for _t, n in poll_sizes(slug, "c3")] == [43]
    assert [n for _t, n in poll_sizes(slug, "c4")] == [35]
    assert [k for _t, k, a, _f in run(slug).events if a in ("c3", "c4") and "commit" in k] == []
    assert lag_at(slug, 50_000) == 110
    assert max(lag_between(slug, 0, 50_000)) == lag_at(slug, 41_506) == 160


def test_it_pauses_less_in_total_with_cooperative_but_processes_the_moved_orders_twice() -> None:
    eager = group("eager-scale-out")["rebalances"]
    cooperative = group("cooperative-scale-out")["rebalances"]
    assert len(paused("eager-scale-out")) == 4
    assert len(paused("cooperative-scale-out")) == 2
    # a pause runs from the revocation until the next owner starts on the partition
    assert (eager["total_pause_ms"], cooperative["total_pause_ms"]) == (12_024, 8_016)
    assert eager["total_pause_ms"] > cooperative["total_pause_ms"]
    assert (eager["count"], cooperative["count"]) == (2, 3)
    # ... and it does not count the orders the new owners process again (500 ms each)
    twice = (
        ledger("eager-scale-out")["processed_multiple"],
        ledger("cooperative-scale-out")["processed_multiple"],
    )
    assert twice == (0, 16)
    assert lag_at("eager-scale-out", 50_000) == 10


def test_it_pairs_the_consumer_protocol_with_the_classic_scale_outs() -> None:
    def classic_part(slug: str) -> dict[str, Any]:
        data = simcore.scenario_to_data(simcore.builtin_scenario(slug))
        for key in ("name", "description"):
            data.pop(key)
        for c in data["consumers"]:
            c["config"].pop("partition.assignment.strategy", None)
            c["config"].pop("group.protocol", None)
        return data

    assert classic_part("consumer-protocol-scale-out") == classic_part("eager-scale-out")
    assert group("consumer-protocol-scale-out")["protocol"] == "uniform"
    assert group("consumer-protocol-scale-out")["group_protocol"] == "consumer"
    assert group("eager-scale-out")["group_protocol"] == "classic"


def test_it_moves_partitions_one_heartbeat_at_a_time_under_the_consumer_protocol() -> None:
    slug = "consumer-protocol-scale-out"
    assert paused(slug) == {"orders-1": 3499, "orders-3": 496}  # orders-0, orders-2 never stop
    assert sum(paused(slug).values()) < sum(paused("cooperative-scale-out").values())
    assert events(slug, "generation") == [] and events(slug, "join_group") == []
    targets = [(t, f["epoch"], f["assignment"]) for t, f in events(slug, "target_assignment")]
    assert targets[-1] == (16_503, 4, "c1: orders-0; c2: orders-2; c3: orders-3; c4: orders-1")
    # the old owners hear of it on their heartbeats (5 s apart), give up at their next poll()
    asked = {f["member"]: t for t, f in events(slug, "revocation_requested") if t > 16_000}
    assert asked == {"c2": 20_007, "c1": 20_009}
    revoked_by = {who: t for t, k, who, _f in run(slug).events if k == "revoked" and t > 16_000}
    assert revoked_by == {"c2": 21_012, "c1": 23_009}  # each after the batch in hand
    # ... and the new owners take them with their own next heartbeat: c3's comes 0.5 s
    # after c2 let go; c4's came before c1 let go, so it waits for the next one
    assert assigned(slug, "c3") == ["orders-3"] and assigned(slug, "c4") == ["orders-1"]
    assert [t for t, f in events(slug, "assigned", "c3") if f["partitions"]] == [21_506]
    assert [t for t, f in events(slug, "assigned", "c4") if f["partitions"]] == [26_506]
    scale_out = [r for r in group(slug)["rebalances"]["list"] if r["start_ms"] > 10_000]
    assert [(r["start_ms"], r["end_ms"]) for r in scale_out] == [(16_503, 26_505)]
    assert ledger(slug)["processed_multiple"] == 0
    assert lag_at(slug, 50_000) < lag_at(slug, 30_000)


# --- static membership ---------------------------------------------------------------------------


def test_a_crashed_static_member_cannot_return_under_the_consumer_protocol() -> None:
    """What the description's last paragraph tells the learner to try."""
    data = simcore.scenario_to_data(simcore.builtin_scenario("static-membership-restart"))
    for c in data["consumers"]:
        c["config"]["group.protocol"] = "consumer"
    result = simcore.simulate(simcore.parse_scenario(data), check_invariants=True)
    failed = [f["error"] for _t, k, who, f in result.events if k == "consumer_failed"]
    assert len(failed) == 1 and failed[0].startswith("UnreleasedInstanceIdException")
    assert not [e for e in result.events if e[1] == "static_rejoin"]


def test_it_lets_a_static_member_restart_without_a_rebalance() -> None:
    slug = "static-membership-restart"
    ((crashed_at, _),) = events(slug, "crash", "c1")
    ((rejoined_at, rejoin),) = events(slug, "static_rejoin")
    assert (crashed_at, rejoin["member"], rejoin["generation"]) == (15_000, "c1", 1)
    assert rejoined_at - crashed_at < 45_000, "within session.timeout.ms"
    assert [t for t, _ in events(slug, "rebalance_start") if t > crashed_at] == []
    assert events(slug, "member_expired") == []
    assert group(slug)["rebalances"]["count"] == 1
    assert group(slug)["generation"] == 1
    before, after = (f["partitions"] for _, f in events(slug, "assigned", "c1"))
    assert before == after == ["orders-0", "orders-1"]
    assert events(slug, "revoked", "c2") == [], "c2 never stopped"
    # the committed offsets of c1's only commit before the crash, 5 s after its assignment
    commits = [
        (t, offsets_text(f["offsets"])) for t, f in events(slug, "commit_stored") if t < crashed_at
    ]
    c1_commits = [(t, o) for t, o in commits if o.startswith("orders-0")]
    assert c1_commits == [(11_008, "orders-0@9, orders-1@10")]
    assert [f["offset"] for t, f in positions(slug, "c1") if t > rejoined_at] == [9, 10]
    # nothing of orders-0/1 is committed until 25.0 s: the LAG climbs from 16 to 38
    first_c1 = next(
        t
        for t, f in events(slug, "commit_stored")
        if t > rejoined_at and "orders-0" in offsets_text(f["offsets"])
    )
    assert first_c1 // 100 == 250
    assert (lag_at(slug, crashed_at), lag_at(slug, first_c1 - 1)) == (16, 38)
    assert lag_at(slug, first_c1) == 13
    after = lag_between(slug, first_c1, 40_000)
    assert (min(after), max(after)) == (2, 23), "the saw of 5 s auto-commits"
    assert ledger(slug)["processed_multiple"] == 10, "commits are unchanged: a replay"


def test_it_stalls_the_group_when_the_same_restart_has_no_instance_id() -> None:
    data = simcore.scenario_to_data(simcore.builtin_scenario("static-membership-restart"))
    for consumer in data["consumers"]:
        del consumer["config"]["group.instance.id"]
    data["duration_ms"] = 60_000
    result = simcore.simulate(simcore.parse_scenario(data), check_invariants=True)
    kinds = [(t, kind, actor, f) for t, kind, actor, f in result.events]
    assert not [k for k in kinds if k[1] == "static_rejoin"]
    started = [t for t, kind, _a, _f in kinds if kind == "rebalance_start" and t > 15_000]
    assert len(started) == 1
    assert 20_000 <= started[0] < 20_100
    revoked = [(t, f["partitions"]) for t, kind, a, f in kinds if kind == "revoked" and a == "c2"]
    assert revoked[0][1] == ["orders-2", "orders-3"]
    assert revoked[0][0] < 22_000
    (expired,) = [(t, f) for t, kind, _a, f in kinds if kind == "member_expired"]
    assert expired[1]["member"] == "c1"
    assert 55_000 <= expired[0] <= 60_000
    scale = result.consumer_groups()["billing"]["rebalances"]["list"][-1]
    assert scale["end_ms"] - expired[0] < 100, "the rebalance waited for the old member id"
    assert min(scale["paused_ms"].values()) > 35_000
    assert sorted(scale["paused_ms"]) == FOUR


# --- retention -----------------------------------------------------------------------------------


def test_it_shows_retention_deleting_orders_the_group_never_read() -> None:
    slug = "retention-deletes-unread"
    scenario = run(slug).scenario
    (topic,) = scenario.topics
    assert (topic.retention_ms, topic.segment_ms) == (20_000, 5_000)
    assert scenario.broker.log_retention_check_interval_ms == 1_000
    assert scenario.broker.log_initial_task_delay_ms == 1_000
    # 51 orders in one poll at 17 s; orders 65..68, fetched right after it, wait in c1's
    # memory until 68 s, long after the broker deleted them
    assert poll_sizes(slug, "c1") == [(3_010, 13), (16_010, 1), (17_010, 51), (68_010, 4)]
    handed = records_text(events(slug, "poll", "c1")[-1][1]["records"])
    assert handed == "orders-0@65, orders-0@66, orders-0@67, orders-0@68"
    deletions = [(t, f["log_start"], f["records"]) for t, f in events(slug, "segments_deleted")]
    # 21 orders a segment (rolled when an order is *more than* segment.ms newer than the
    # first), each deleted at the first check once its newest order is > 20 s old: its
    # newest order was written at 5 s + 5.25 s * k
    newest = [5_000 + 5_250 * k for k in range(9)]
    checks = [(n + 20_000) // 1_000 * 1_000 + 1_000 for n in newest]
    assert deletions == [(checks[k], 21 * (k + 1), 21) for k in range(9)]
    assert deletions[0][0] == 26_000 and deletions[4][0] == 47_000
    resets = [f for _, f in positions(slug, "c1") if "OFFSET_OUT_OF_RANGE" in f["why"]]
    assert len(resets) == 1
    assert resets[0]["offset"] == 189
    assert resets[0]["why"] == "OFFSET_OUT_OF_RANGE at 69, auto.offset.reset=earliest"
    assert ledger(slug)["expired_unread"] == 124
    assert ledger(slug)["processing_total"] == 65
    topic_counts = run(slug).summary()["ledger"]["topics"]["orders"]
    assert (topic_counts["expired"], topic_counts["lost_acked"]) == (189, 0)
    assert run(slug).errors == []
    # LAG counts offsets, deleted ones too; time lag cannot outgrow what is kept
    assert lag_at(slug, 68_000) == 259
    assert max(p["time_lag_ms"] for p in group(slug)["partitions"]) <= 22_000


# --- a producer burst ----------------------------------------------------------------------------


def test_it_shows_a_burst_raising_the_lag_which_then_drains() -> None:
    slug = "producer-burst-and-recovery"
    (producer,) = run(slug).scenario.producers
    assert list(producer.rate_changes) == [(10_000, 10, False), (20_000, 2, False)]
    assert lag_at(slug, 9_500) == 0
    assert lag_at(slug, 15_000) == 31
    assert lag_at(slug, 20_000) == 61
    assert max(lag_between(slug, 0, 60_000)) == 62
    assert lag_at(slug, 40_000) < lag_at(slug, 30_000) < lag_at(slug, 20_000)
    zero_at = next(t for t in _series(slug)["t"] if t > 30_000 and lag_at(slug, t) == 0)
    assert 50_000 <= zero_at <= 51_000
    assert max(lag_between(slug, zero_at, 60_000)) <= 1, "caught up: each new order waits 250 ms"
    # Burrow: OK throughout — between two fetches of the log end (every 10 s) each commit
    # brings the lag it measures down, so it never sees the lag grow at every commit
    assert statuses_between(slug, 0, 60_000) == {"OK"}
    offsets = run(slug).sim.recorder.broker_offsets[("orders", 0)]
    history = run(slug).sim.coordinator.history[("billing", "orders", 0)]
    for k in (1, 2):  # the fetches at 10 s and 20 s: during and right after the burst
        measured = [offsets[k] - o for t, o, _lag in history if k * 10_000 <= t < (k + 1) * 10_000]
        assert len(measured) > 10 and measured == sorted(measured, reverse=True)
    # the estimate appears during the drain and comes true
    assert {summary_at(slug, t)["catch_up_ms"] for t in range(10_500, 23_501, 500)} == {None}
    for t in range(25_000, 45_001, 1_000):
        estimate = summary_at(slug, t)["catch_up_ms"]
        assert estimate is not None
        assert abs(t + estimate - zero_at) <= 1_500
    assert group(slug)["lag_status"] == "OK"
    counts = ledger(slug)
    assert (counts["processed_once"], counts["processed_multiple"]) == (200, 0)
