"""Lag definitions and the Burrow-style status, on hand-made commit windows and runs."""

from simcore.run.lag import REFRESH_MS, catch_up_ms, group_status, partition_status, window_until
from tests.simcore.helpers import consumer, run, scenario

# Burrow's rules (lag.py), on hand-made windows: commits every 10 s (one broker offset
# fetch each, just before), each lag measured against that fetch


def commits(offsets, every=REFRESH_MS):
    return [(k * every, o, 0) for k, o in enumerate(offsets)]


def test_no_current_lag_is_always_ok():
    window = commits([1, 1, 1])  # stalled offsets, but the broker offset is there
    assert partition_status(window, [1, 1, 1], 2 * REFRESH_MS) == "OK"


def test_a_zero_lag_commit_in_the_window_makes_it_ok():
    # lags 5, 0, 4: the consumer was caught up once in the window
    assert partition_status(commits([1, 2, 3]), [6, 2, 7], 2 * REFRESH_MS) == "OK"


def test_stop_comes_first_even_after_a_zero_lag_commit():
    # commits at 0, 10 and 20 s, the first at zero lag; at 120 s the last is 100 s old
    # (> the 20 s the window spans) and none of the last 10 broker offsets (30..120 s) is
    # at or below it: STOP, although a commit saw zero lag (Burrow's original evaluator: OK)
    offsets = [1, 5, 6] + [50 + k for k in range(10)]
    assert partition_status(commits([1, 2, 3]), offsets, 120_000) == "STOP"
    # at 90 s the fetch at 0 s (1 <= 3) is still among the last 10: caught up recently,
    # so not STOP, and the zero-lag commit makes it OK
    assert partition_status(commits([1, 2, 3]), offsets[:10], 90_000) == "OK"


def test_a_recently_caught_up_partition_is_not_stopped():
    # a broker offset at the last commit (3) among the last 10: caught up a moment ago;
    # the zero-lag rule then makes it OK
    assert partition_status(commits([1, 2, 3]), [5, 6, 3, 3, 9], 41_000) == "OK"


def test_rewind_stall_and_warn_only_without_zero_lag():
    assert partition_status(commits([5, 6, 2]), [8, 9, 10], 2 * REFRESH_MS) == "REWIND"
    assert partition_status(commits([5, 5, 5]), [8, 9, 10], 2 * REFRESH_MS) == "STALL"
    assert partition_status(commits([1, 2, 3]), [5, 7, 9], 2 * REFRESH_MS) == "WARN"
    assert partition_status(commits([1, 4, 8]), [10, 11, 12], 2 * REFRESH_MS) == "OK"


def test_one_commit_with_lag_is_stopped_at_once():
    # a single commit spans no time: any later read with lag finds it stopped
    assert partition_status(commits([3]), [9, 9], REFRESH_MS) == "STOP"


def test_a_commit_ahead_of_the_last_broker_offset_counts_as_zero_lag():
    # Burrow fetched 10 at 0 s; the commit of 12 at 5 s is ahead of it: lag 0, not -2
    window = [(0, 4, 0), (5_000, 12, 0)]
    assert partition_status(window, [10], 6_000) == "OK"


def test_the_group_is_err_when_any_partition_is_stop_stall_or_rewind():
    assert group_status(["OK", "WARN"]) == "WARN"
    for error in ("STOP", "STALL", "REWIND"):
        assert group_status(["OK", error, "WARN"]) == "ERR"
    assert group_status([]) == "OK"


def test_it_estimates_catch_up_from_commit_and_produce_rates():
    # commits advance 10/s, the log end 4/s: lag 60 shrinks 6/s -> 10 s
    window = [(0, 0, 60), (1000, 10, 54)]
    assert catch_up_ms([window], 60) == 10_000
    assert catch_up_ms([[(0, 0, 60), (1000, 2, 62)]], 62) is None  # falling behind


def test_it_reports_the_curricula_lag_example_both_ways():
    # 7 messages; the consumer committed 3 and holds position 4 when the run ends
    producers = [{"id": "p1", "topic": "orders", "messages": 7, "rate_per_s": 1000}]
    c = consumer(
        commit="sync-per-batch",
        processing_ms=1000,
        config={"enable.auto.commit": False, "max.poll.records": 3},
    )
    result = run(scenario(duration_ms=4100, producers=producers, consumers=[c]))
    partition = result.consumer_groups()["g"]["partitions"][0]
    assert partition["lag"] == 4  # tool lag: HW 7 - committed 3
    # client records-lag: HW - position 6, with the HW of the answer poll() handed out
    # last, read before the 7th record was written: 6 - 6 = 0. The answer with the 7th
    # (HW 7) waits in memory: the client learns HW 7 when it hands that record out.
    assert partition["records_lag"] == 0
    state = result.sim.consumers[0].states[("orders", 0)]
    assert (state.position, state.end, len(state.buffer)) == (6, 7, 1)
    assert partition["time_lag_ms"] > 0


def test_it_marks_a_slow_consumer_warn_and_a_dead_one_stop():
    # 20 orders/s, 5 processed a second, commits every 10 s (no faster than Burrow
    # fetches the brokers' offsets, or two commits share one fetch and the lag "drops")
    producers = [{"id": "p1", "topic": "orders", "messages": 1200, "rate_per_s": 20}]
    slow = consumer(
        processing_ms=200, config={"auto.commit.interval.ms": 10_000, "max.poll.records": 5}
    )
    result = run(scenario(duration_ms=60_000, producers=producers, consumers=[slow]))
    group = result.consumer_groups()["g"]
    assert group["partitions"][0]["status"] == "WARN"
    assert group["lag_status"] == "WARN"
    # c1 dies at 25 s after two commits. Burrow's last 10 broker offsets reach back 100 s,
    # and the first ones (0 at the start) are below c1's last commit: "caught up
    # recently", so not STOP until they have rolled out of the window
    dead = [{"action": "crash", "target": "c1", "at_ms": 25_000}]
    early = run(scenario(duration_ms=60_000, producers=producers, consumers=[slow], faults=dead))
    assert early.consumer_groups()["g"]["partitions"][0]["status"] == "WARN"
    stopped = run(scenario(duration_ms=150_000, producers=producers, consumers=[slow], faults=dead))
    group = stopped.consumer_groups()["g"]
    assert group["partitions"][0]["status"] == "STOP"
    assert group["lag_status"] == "ERR"  # Burrow's group status for a STOP partition
    assert group["catch_up_ms"] is None  # nothing consumes: no estimate


def test_burrow_measures_lag_against_the_offsets_it_last_fetched():
    # the same slow consumer committing every second: within one 10 s fetch interval
    # each commit's lag shrinks against the same broker offset, so Burrow says OK
    producers = [{"id": "p1", "topic": "orders", "messages": 1200, "rate_per_s": 20}]
    slow = consumer(
        processing_ms=200, config={"auto.commit.interval.ms": 1_000, "max.poll.records": 5}
    )
    result = run(scenario(duration_ms=60_000, producers=producers, consumers=[slow]))
    group = result.consumer_groups()["g"]
    assert group["partitions"][0]["lag"] > 500  # far behind by the tool's measure...
    assert group["lag_status"] == "OK"  # ...but not by Burrow's rules


# --- boundaries of each rule -----------------------------------------------------------------


def test_without_commits_or_broker_offsets_there_is_nothing_to_judge():
    assert partition_status([], [5], 10_000) == "OK"
    assert partition_status(commits([1]), [], 10_000) == "OK"


def test_a_lag_of_one_counts_and_a_lag_of_zero_does_not():
    stalled = commits([5, 5])  # offsets that did not move
    assert partition_status(stalled, [5, 5], 10_000) == "OK"  # B = 5 = last commit
    assert partition_status(stalled, [6, 6], 10_000) == "STALL"  # B = 6: lag 1 at each


def test_stop_needs_more_time_since_the_last_commit_than_the_window_spans():
    # commits at 10 s and 20 s (offsets 1, 2); broker offsets never at or below 2
    window = [(10_000, 1, 0), (20_000, 2, 0)]
    offsets = [5, 6, 7, 8]
    assert partition_status(window, offsets, 30_000) == "WARN"  # 10 s since = 10 s span
    assert partition_status(window, offsets, 30_001) == "STOP"


def test_only_broker_offsets_fetched_by_now_count_as_recent():
    window = [(0, 3, 0), (10_000, 4, 0)]
    # at 25 s the fetches at 0, 10 and 20 s are known; one at 30 s (below the last
    # commit, after a truncation) is not yet
    assert partition_status(window, [9, 9, 9, 2], 25_000) == "STOP"
    # the fetch at 10 s (at the last commit, 4) is recent: caught up then, so not STOP
    assert partition_status(window, [9, 4, 9], 25_000) == "OK"


def test_no_lag_now_is_ok_whatever_the_commits_saw():
    # the log end shrank to the last commit (an unclean election truncated it): lag 0 now,
    # although both commits saw lag 2 and it never fell
    window = [(0, 3, 0), (10_000, 4, 0)]
    assert partition_status(window, [5, 6, 4], 20_000) == "OK"
    assert partition_status(window, [5, 6, 7], 20_000) == "WARN"


def test_warn_when_the_lag_stays_level_too():
    # lags 4, 4, 5 never fall: WARN; offsets move, so not STALL
    assert partition_status(commits([1, 2, 3]), [5, 6, 8], 2 * REFRESH_MS) == "WARN"


def test_the_catch_up_estimate_uses_each_windows_span_and_every_partition():
    # offsets 0 -> 10 over 2 s (5/s); log end 60 -> 64 (2/s): 3/s gained, 54 to go
    window = [(1000, 0, 60), (2000, 5, 57), (3000, 10, 54)]
    assert catch_up_ms([window], 54) == 18_000
    assert catch_up_ms([window], 1) == 333  # a lag of one is still a lag
    assert catch_up_ms([window], 0) == 0
    # a partition with one commit, or two at the same moment, is skipped, not the end
    assert catch_up_ms([[(500, 1, 1)], [(900, 1, 1), (900, 2, 0)], window], 54) == 18_000
    # two partitions add up: 6/s gained
    assert catch_up_ms([window, window], 108) == 18_000
    # the span is first to last commit, whatever the ones between; offsets from 10
    later = [(1000, 10, 60), (1000, 12, 59), (3000, 20, 54)]
    assert catch_up_ms([later], 54) == 18_000
    # no lag: zero, even for a group falling behind
    assert catch_up_ms([[(0, 0, 60), (1000, 2, 62)]], 0) == 0


def test_the_window_is_the_last_ten_commits_made_by_then():
    history = [(1000 * k, 100 + k, 0) for k in range(15)]  # offsets unlike the times
    assert window_until(history, 4_500) == history[:5]
    assert window_until(history, 14_000) == history[5:15]
    assert window_until(history, 0) == history[:1]


def test_the_recorded_status_is_the_rule_applied_afresh_at_every_step():
    # the recorder caches statuses; recomputing each one from the history up to its
    # step must give the same answer
    import simcore

    scenario_ = dict(simcore.builtin_scenarios())["cooperative-scale-out"]
    result = simcore.simulate(scenario_)
    recorder, history = result.sim.recorder, result.sim.coordinator.history
    checked = set()
    for snap in recorder.snapshots:
        now = snap[0]
        for (group, part), row in zip(recorder.group_rows, snap[3], strict=True):
            tp = (part.topic, part.index)
            commits = [c for c in history.get((group, *tp), []) if c[0] <= now]
            offsets = recorder.broker_offsets[tp][: now // REFRESH_MS + 1]
            expected = partition_status(commits[-10:], offsets, now) if commits else "OK"
            assert row.status == expected, (now, tp)
            checked.add(row.status)
    assert {"OK", "WARN", "STALL"} <= checked
