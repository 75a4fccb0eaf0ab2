"""/metrics/<slug>: the run's metrics at one point, in the Prometheus text format 0.0.4."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from playground import prometheus, runner, scenarios
from simcore import builtin_scenario, parse_scenario
from tests.web.helpers import saved, slow_consumer, text

pytestmark = pytest.mark.django_db

# name{label="value",…} value — the text format's sample line (values here are numbers)
SAMPLE = re.compile(
    r'^[a-zA-Z_:][a-zA-Z0-9_:]*\{([a-zA-Z_]\w*="(?:[^"\\\n]|\\.)*",?)*\} -?[0-9.e+-]+$'
)


def _samples(body: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in body.splitlines():
        if not line or line.startswith("#"):
            continue
        assert SAMPLE.match(line), line
        out.setdefault(line.split("{", 1)[0], []).append(line)
    return out


def test_it_serves_kafka_metrics_in_the_prometheus_text_format(client: Client) -> None:
    slug = saved(builtin_scenario("acks-1-leader-dies"))
    response = client.get(f"/metrics/{slug}")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    body = text(response)
    samples = _samples(body)
    for name in (
        "kafka_producer_producer_metrics_record_send_rate",
        "kafka_consumer_consumer_fetch_manager_metrics_records_consumed_rate",
        "kafka_consumergroup_lag",
        "kafka_topic_partition_current_offset",
        "playground_simulated_time_ms",
    ):
        assert name in samples, name
        assert f"# TYPE {name} gauge" in body
    assert 'kafka_producer_producer_metrics_record_send_rate{client_id="p1"}' in body
    assert body.endswith("\n")


def test_it_defaults_to_the_end_and_picks_a_step_or_a_time(client: Client) -> None:
    scenario = slow_consumer()
    slug = saved(scenario)
    frames = runner.run(scenario)["frames"]
    end = text(client.get(f"/metrics/{slug}"))
    assert f'playground_simulated_time_ms{{scenario="{slug}"}} {frames[-1]["t"]}' in end

    step = text(client.get(f"/metrics/{slug}", {"step": "5"}))
    assert f"step 5 of {len(frames) - 1}" in step
    assert f"}} {frames[5]['t']}\n" in step

    at = text(client.get(f"/metrics/{slug}", {"t": "30000"}))
    expected = max(f["t"] for f in frames if f["t"] <= 30000)
    assert f"simulated t = {expected} ms" in at
    lag = [line for line in at.splitlines() if line.startswith("kafka_consumergroup_lag{")]
    assert lag
    assert lag != [line for line in end.splitlines() if line.startswith("kafka_consumergroup_lag{")]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"step": "-1"}, "step"),
        ({"step": "many"}, "step"),
        ({"step": "999999"}, "step"),
        ({"t": "soon"}, "t"),
        ({"step": "1", "t": "5"}, "t"),
        ({"live": "yes"}, "live"),
    ],
)
def test_it_rejects_a_bad_point_naming_the_field(
    client: Client, query: dict[str, str], field: str
) -> None:
    slug = saved(builtin_scenario("acks-1-leader-dies"))
    response = client.get(f"/metrics/{slug}", query)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["field"] == field
    assert error["message"]


def test_it_answers_404_as_json_for_an_unknown_slug(client: Client) -> None:
    response = client.get("/metrics/0123456789abcdef")
    assert response.status_code == 404
    assert response.json()["error"]["field"] == "slug"


def test_live_replays_the_run_in_real_time_looping() -> None:
    frames = [{"t": t} for t in (0, 1000, 2000, 5000, 10000)]
    assert prometheus.pick_frame(frames, {"live": "1"}, clock=lambda: 0.0) == 0
    assert prometheus.pick_frame(frames, {"live": "1"}, clock=lambda: 2.5) == 2
    assert prometheus.pick_frame(frames, {"live": "1"}, clock=lambda: 10.0) == 4
    assert prometheus.pick_frame(frames, {"live": "1"}, clock=lambda: 10.001 + 1.5) == 1


def test_label_values_are_escaped() -> None:
    run = {
        "metric_keys": [{"name": "records-lag-max", "group": "g", "labels": {"group": 'a"b\\c'}}],
        "frames": [
            {
                "t": 0,
                "metrics": [3],
                "partitions": [],
                "groups": [
                    {"group": 'a"b', "topic": "t", "partition": 0, "committed": 1, "lag": 2}
                ],
            }
        ],
    }
    body = prometheus.exposition(run, 0, "slug")
    assert 'kafka_consumer_g_records_lag_max{group="a\\"b\\\\c"} 3' in body
    assert 'kafka_consumergroup_lag{consumergroup="a\\"b",topic="t",partition="0"} 2' in body
    _samples(body)


def test_a_group_id_with_quotes_is_escaped_exactly_once(client: Client) -> None:
    source = scenarios.source_of(slow_consumer())
    source["consumers"][0]["group"] = 'bil"ling\\eu'  # bil"ling\eu
    slug = saved(parse_scenario(source))
    body = text(client.get(f"/metrics/{slug}"))
    samples = _samples(body)
    escaped = 'bil\\"ling\\\\eu'  # as the text format writes it: bil\"ling\\eu
    assert f'group="{escaped}"' in body  # simcore's client metrics
    assert f'consumergroup="{escaped}"' in body  # kafka_exporter's gauges, written here
    assert '\\\\"' not in body  # no \\" : a quote escaped twice
    lag = samples["kafka_consumer_consumer_fetch_manager_metrics_records_lag_max"]
    assert all(f'group="{escaped}"' in line for line in lag if "group=" in line)
