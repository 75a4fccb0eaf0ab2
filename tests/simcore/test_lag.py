"""Lag definitions and the Burrow-style status, on hand-made commit windows and runs."""

from simcore.lag import catch_up_ms, partition_status, worst
from tests.simcore.helpers import consumer, run, scenario


def commits(offsets, lags, every=1000):
    return [(k * every, o, lag) for k, (o, lag) in enumerate(zip(offsets, lags, strict=True))]


def test_it_is_ok_when_lag_touched_zero_in_the_window():
    assert partition_status(commits([1, 2, 3], [5, 0, 4]), 3000) == "OK"
    assert partition_status(commits([1, 2, 3], [4, 5, 6]), 3000, current_lag=0) == "OK"


def test_it_puts_stopped_commits_before_an_old_zero_lag():
    # the window still remembers lag 0, but commits stopped while lag built up since
    assert partition_status(commits([1, 2, 3], [0, 0, 0]), 10_000, current_lag=40) == "STOP"


def test_it_warns_when_lag_keeps_growing():
    assert partition_status(commits([1, 2, 3], [4, 5, 6]), 3000) == "WARN"


def test_it_stalls_when_commits_do_not_move_while_lag_exists():
    assert partition_status(commits([5, 5, 5], [3, 4, 5]), 3000) == "STALL"


def test_it_stops_when_commits_stop():
    assert partition_status(commits([1, 2, 3], [3, 2, 1]), 2000 + 2001) == "STOP"


def test_it_rewinds_when_a_commit_goes_backwards():
    assert partition_status(commits([5, 6, 2], [3, 3, 7]), 3000) == "REWIND"


def test_it_is_ok_when_lag_shrinks_and_reports_the_worst_partition():
    assert partition_status(commits([1, 4, 8], [9, 7, 4]), 3000) == "OK"
    assert worst(["OK", "WARN", "STALL", "REWIND"]) == "STALL"


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
    assert partition["records_lag"] == 1  # client records-lag: HW 7 - position 6
    assert partition["time_lag_ms"] > 0


def test_it_marks_a_slow_consumer_warn_and_a_dead_one_stop():
    producers = [{"id": "p1", "topic": "orders", "messages": 200, "rate_per_s": 20}]
    slow = consumer(
        processing_ms=200, config={"auto.commit.interval.ms": 1000, "max.poll.records": 5}
    )
    result = run(scenario(duration_ms=9000, producers=producers, consumers=[slow]))
    assert result.consumer_groups()["g"]["lag_status"] == "WARN"
    dead = [{"action": "crash", "target": "c1", "at_ms": 5000}]
    stopped = run(scenario(duration_ms=30000, producers=producers, consumers=[slow], faults=dead))
    assert stopped.consumer_groups()["g"]["lag_status"] == "STOP"
