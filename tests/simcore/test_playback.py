"""Frames, metrics and the Prometheus text format."""

import simcore
from simcore.report.playback import prometheus_text
from tests.simcore.helpers import consumer, run, scenario


def test_it_escapes_prometheus_label_values():
    text = prometheus_text(
        [
            {
                "name": "records-lag",
                "group": "consumer-fetch-manager-metrics",
                "labels": {"group": 'a"b\\c\nd'},
                "value": 3,
            }
        ]
    )
    assert 'group="a\\"b\\\\c\\nd"' in text
    assert text.startswith(
        "# TYPE kafka_consumer_consumer_fetch_manager_metrics_records_lag gauge\n"
    )


def test_it_tells_each_frame_its_snapshot():
    result = run(scenario())
    frames = result.frames(max_frames=5)
    assert [f["snapshot"] for f in frames] == result.frame_snapshot_indexes(5)
    assert frames[-1]["snapshot"] == len(result.sim.recorder.snapshots) - 1


def test_it_reports_metrics_with_kafkas_names():
    producers = [{"id": "p1", "topic": "orders", "messages": 600, "rate_per_s": 100}]
    result = run(
        scenario(duration_ms=5000, producers=producers, consumers=[consumer(processing_ms=5)])
    )
    names = {m["name"] for m in result.metrics()}
    assert {
        "records-consumed-rate",
        "fetch-latency-avg",
        "commit-latency-avg",
        "records-lag-max",
        "records-lag",
        "record-send-rate",
        "request-latency-avg",
    } <= names
    rate = next(m["value"] for m in result.metrics() if m["name"] == "record-send-rate")
    # ~500 records sent from ~0 s, read at 5 s: one sample, so Kafka's Rate divides by
    # a whole window more (5 s + 30 s), not by the 5 s that passed (Rate.windowSize)
    assert 500 / 35.1 <= rate <= 500 / 34.9


def test_it_slows_a_consumer_down_from_a_given_time():
    producers = [{"id": "p1", "topic": "orders", "messages": 100, "rate_per_s": 20}]
    c = consumer(
        processing_ms=10,
        processing_changes=[{"at_ms": 2000, "processing_ms": 400, "injected": True}],
    )
    result = run(scenario(duration_ms=8000, producers=producers, consumers=[c]))
    change = [e for e in result.events if e[1] == "processing_change"]
    assert change and change[0][3]["injected"] is True
    lag = result.series()["groups"]["g/orders-0"]["lag"]
    assert lag[-1] is not None and lag[-1] > 10  # 20/s in, 2.5/s out after the change
    assert simcore.parse_scenario(scenario(consumers=[c])).consumers[0].processing_changes == (
        (2000, 400, True),
    )
