"""Client metrics as Kafka's windowed stats compute them ([J] common.metrics.stats:
SampledStat, Rate, Avg, Max; 2 samples of 30 s), each value worked out by hand."""

import random

import pytest

from simcore.kernel.client_metrics import Sensor
from tests.simcore.helpers import consumer, run, scenario


def sensor(*records):
    out = Sensor()
    for t, v in records:
        out.record(t, v)
    return out


def test_a_rate_divides_by_at_least_one_full_window():
    # 100 records in the first 12 s: 100 / (12 s + 30 s), not 100 / 12 s
    s = sensor(*[(120 * k, 1) for k in range(100)])
    assert s.rate(12_000) == pytest.approx(100 / 42)
    # the first record starts the sample: from 2 s on, the elapsed time counts from there
    late = sensor(*[(2_000 + 100 * k, 1) for k in range(100)])
    assert late.rate(12_000) == pytest.approx(100 / 40)


def test_a_rate_spans_both_samples_and_forgets_obsolete_ones():
    s = sensor((0, 10), (31_000, 20))  # the second record is a window later: a new sample
    assert s.rate(40_000) == pytest.approx(30 / 40)  # 40 s since the oldest sample began
    # at 61 s the first sample is 61 s old (>= 2 x 30 s): reset at the read, so only the
    # second counts, over the 30 s since it began
    assert s.rate(61_000) == pytest.approx(20 / 30)
    assert s.rate(95_000) == 0  # both obsolete


def test_a_sample_starts_with_the_record_that_finds_the_current_one_complete():
    # 0 starts sample 0; 29,999 is still in it; 30,000 starts sample 1; 45,000 is in it;
    # 60,000 starts sample 2, which replaces sample 0
    s = sensor((0, 1), (29_999, 2), (30_000, 4), (45_000, 8), (60_000, 16))
    assert s.rate(60_000) == pytest.approx((4 + 8 + 16) / 30)  # oldest kept: 30,000


def test_avg_and_max_cover_the_retained_samples_and_are_unknown_without_records():
    s = sensor((1_000, 500), (2_000, 2), (3_000, 90), (40_000, 3))
    assert s.avg(40_000) == pytest.approx((500 + 2 + 90 + 3) / 4)
    assert s.max(40_000) == 500
    assert s.max(70_000) == 3  # the first sample (from 1 s) is obsolete at 61 s
    assert s.max(100_000) is None and s.avg(100_000) is None
    assert Sensor().max(5_000) is None and Sensor().rate(5_000) == 0


def test_records_arriving_out_of_time_order_read_as_if_recorded_in_order():
    # a long poll's idle rounds are recorded when its answer comes, after later records
    records = [(1_000, 5), (31_000, 7), (2_000, 9), (45_000, 1), (30_500, 4)]
    shuffled, ordered = sensor(*records), sensor(*sorted(records, key=lambda r: r[0]))
    for now in (2_000, 31_000, 40_000, 62_000, 80_000):
        assert shuffled.rate(now) == ordered.rate(now)
        assert shuffled.avg(now) == ordered.avg(now)
        assert shuffled.max(now) == ordered.max(now)
    assert shuffled.max(31_000) == 9  # 1 s, 2 s and 30.5 s are one sample; 31 s the next
    # a read after more records sees them (the index is rebuilt)
    shuffled.record(50_000, 70)
    assert shuffled.max(55_000) == 70


def test_a_read_between_records_sees_every_record_whether_packed_or_not():
    # a sensor keeps its latest records in lists and packs them into its arrays 4,096 at a
    # time (PENDING): reads just before, at and after a pack all see every record so far
    s = Sensor()
    seen = []
    for k in range(10_000):
        s.record(5 * k, k % 1000)  # 50 s in all: both samples kept, none obsolete
        seen.append(k % 1000)
        if k in (0, 4_094, 4_095, 4_096, 8_191, 8_192, 9_999):
            assert s.max(5 * k) == max(seen)
            assert s.avg(5 * k) == pytest.approx(sum(seen) / len(seen))


def test_a_max_only_sensor_folds_an_instants_records_and_reads_the_same_max():
    # records-lag-max's sensor: several records at one instant (a fetch answer, then the
    # poll() it wakes) keep one, their largest; out-of-order and packed records included
    rng = random.Random(7)
    plain, folded = Sensor(), Sensor(max_only=True)
    t = 0
    reads = set(range(0, 10_000 * 700 + 70_000, 997))
    for _ in range(10_000):
        t += rng.choice((0, 0, 1, 5, 700))
        at = t - rng.choice((0, 0, 0, 1_500)) if t > 1_500 else t  # a back-dated idle round
        value = rng.randrange(0, 50)
        plain.record(at, value)
        folded.record(at, value)
        reads |= {at - 1, at}  # just before and at each record

    def stored(sensor: Sensor) -> int:
        return len(sensor.times) + len(sensor._pending_times)

    assert stored(folded) < 0.8 * stored(plain) == 0.8 * 10_000  # folded, packed or not
    for now in sorted(reads):
        assert folded.max(now) == plain.max(now)
    with pytest.raises(ValueError, match="no avg"):
        folded.avg(t)
    with pytest.raises(ValueError, match="no rate"):
        folded.rate(t)


def test_max_is_a_whole_number_as_recorded_on_either_engine():
    # the compiled engine once turned the recorded ints into floats (records-lag-max 12.0)
    peak = sensor((0, 12), (10, 3)).max(20)
    assert peak == 12 and type(peak) is int


def snapshot_at(result, t):
    """The last snapshot at or before t, and its time (metrics are read at snapshots)."""
    index = max(i for i, s in enumerate(result.sim.recorder.snapshots) if s[0] <= t)
    return index, result.sim.recorder.snapshots[index][0]


def metric(result, name, t):
    index, _time = snapshot_at(result, t)
    return next(m["value"] for m in result.metrics(index) if m["name"] == name)


def test_it_reports_a_draining_consumers_lag_max_over_the_window_not_the_lag_now():
    # 200 records at once, a consumer that takes 10 ms each: its lag at each fetch is
    # large, then 0; records-lag-max remembers the largest for the window
    producers = [{"id": "p1", "topic": "orders", "messages": 200, "rate_per_s": 100_000}]
    result = run(
        scenario(
            duration_ms=10_000,
            producers=producers,
            consumers=[consumer(processing_ms=10, config={"max.poll.records": 20})],
        )
    )
    assert metric(result, "records-lag", 9_000) == 0
    # recorded as poll() hands records out, after they moved the position, from the HW
    # the answer carried ([J] FetchCollector.fetchRecords): the first answer brings all
    # 200 (HW 200) and the first poll() hands out 20 of them, so 180, not 200
    assert metric(result, "records-lag-max", 9_000) == 180
    # the rate: 200 records, first handed out at the first poll, read at 9 s
    first = min(e[0] for e in result.events if e[1] == "poll" and e[2] == "c1")
    _index, read_at = snapshot_at(result, 9_000)
    assert metric(result, "records-consumed-rate", 9_000) == pytest.approx(
        200 / ((read_at - first + 30_000) / 1000), abs=0.001
    )


@pytest.mark.parametrize("latency_ms", [1, 50])
def test_a_consumer_keeping_up_reports_no_lag_though_records_keep_coming(latency_ms):
    # 1,000 records/s, every answer handed out whole by the next poll(): Java's lag is the
    # answer's HW minus the position after poll(), 0 each time. Read at the answer's
    # arrival, before its records are handed out, it would count the records just
    # fetched; read from the leader's HW at the poll, the records appended while the
    # answer travelled (about ten batches at 50 ms each way).
    producers = [{"id": "p1", "topic": "orders", "messages": 10_000, "rate_per_s": 1_000}]
    result = run(
        scenario(
            duration_ms=12_000,
            network_latency_ms=latency_ms,
            producers=producers,
            consumers=[consumer(config={"max.poll.records": 10_000})],
        )
    )
    c1 = result.sim.consumers[0]
    assert c1.records_consumed == 10_000 and c1.fetch_count > 50  # as the records came
    for t in (2_000, 5_000, 9_000):
        assert metric(result, "records-lag-max", t) == 0


def test_a_caught_up_consumer_reports_its_long_polls_latency():
    # nothing to read after the first second: every fetch waits fetch.max.wait.ms (500)
    # at the leader plus a round trip (2 x 1 ms): 502 ms each, empty answers included
    producers = [{"id": "p1", "topic": "orders", "messages": 10, "rate_per_s": 10}]
    result = run(scenario(duration_ms=100_000, producers=producers))
    assert metric(result, "fetch-latency-avg", 100_000) == 502
    assert metric(result, "records-consumed-rate", 100_000) == 0
    assert metric(result, "records-lag-max", 100_000) == 0


def test_a_single_record_is_a_sample_and_a_full_window_is_not_padded():
    s = sensor((0, 30))
    assert s.rate(10_000) == pytest.approx(30 / 40)  # 10 s + one window
    assert s.rate(30_000) == pytest.approx(30 / 30)  # a full window passed: no padding
    assert s.avg(10_000) == 30 and s.max(10_000) == 30
    assert Sensor().avg(10_000) is None


def test_request_and_commit_latencies_are_averaged_over_the_window_then_forgotten():
    # one broker, 1 ms each way: every produce request and every commit takes 2 ms (acks
    # all on a single replica needs no follower); nothing is sent after the first second
    producers = [{"id": "p1", "topic": "orders", "messages": 10, "rate_per_s": 10}]
    result = run(scenario(duration_ms=100_000, producers=producers))
    assert metric(result, "request-latency-avg", 5_000) == 2
    assert metric(result, "commit-latency-avg", 20_000) == 2  # auto-commits every 5 s
    sent = sum(e[3]["count"] for e in result.events if e[1] == "send")  # records
    first = min(e[0] for e in result.events if e[1] == "send")
    _index, read_at = snapshot_at(result, 5_000)
    assert metric(result, "record-send-rate", 5_000) == pytest.approx(
        sent / ((read_at - first + 30_000) / 1000), abs=0.001
    )
    # 60 s after the last request both samples are obsolete: no value
    assert metric(result, "request-latency-avg", 100_000) is None
