"""`/metrics/<slug>`: a run's metrics at one point, in the Prometheus text format (0.0.4).

The client metrics are simcore's (`Result.metrics()`, Kafka's names), rendered by
`simcore.report.playback.prometheus_text` as the JMX exporter names them, label values escaped
there. Next to them, the consumer-group gauges Grafana's usual Kafka dashboards read,
named as kafka_exporter (danielqsj/kafka_exporter) writes them: `kafka_consumergroup_lag`
and friends.

Which point: `?step=<n>` (a frame), `?t=<ms>` (the last frame at or before t), or
`?live=1`: the run replays in real time, looping, so successive scrapes see it move.
Default: the end of the run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from playground.numbers import MAX_DIGITS, is_number, parse_int
from simcore import ScenarioError
from simcore.report.playback import prometheus_text

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
POINT_FIELDS = ("step", "t", "live")


def pick_frame(
    frames: list[dict[str, Any]],
    query: Mapping[str, str],
    clock: Callable[[], float] = time.time,
) -> int:
    """The frame index the query asks for; ScenarioError naming the query field if bad."""
    given = [name for name in POINT_FIELDS if name in query]
    if len(given) > 1:
        raise ScenarioError(given[1], f"give one of {', '.join(POINT_FIELDS)}, not several")
    last = len(frames) - 1
    if not given:
        return last
    name = given[0]
    raw = query[name].strip()
    if name == "live":
        if raw not in ("1", "true"):
            raise ScenarioError(
                "live", f"must be 1 to replay in real time, got {raw!r}", allowed="1"
            )
        span = max(1, frames[-1]["t"])
        return _frame_at(frames, int(clock() * 1000) % (span + 1))
    if name == "step":
        if is_number(raw) and len(raw) <= MAX_DIGITS and int(raw) > last:
            message = f"is past the end: the run has {last + 1} steps"
            raise ScenarioError("step", message, allowed=f"0 … {last}")
        return parse_int(raw, "step", maximum=last)
    return _frame_at(frames, parse_int(raw, "t", maximum=10**MAX_DIGITS - 1))


def _frame_at(frames: list[dict[str, Any]], t: int) -> int:
    """The last frame at or before `t` (the first frame if `t` is before it)."""
    low, high = 0, len(frames) - 1
    while low < high:
        mid = (low + high + 1) // 2
        if frames[mid]["t"] <= t:
            low = mid
        else:
            high = mid - 1
    return low


def exposition(run: dict[str, Any], index: int, slug: str) -> str:
    frame = run["frames"][index]
    items = [
        {**key, "value": value}
        for key, value in zip(run["metric_keys"], frame["metrics"], strict=True)
    ]  # prometheus_text escapes their label values itself
    head = (
        f"# Kafka semantics playground: scenario {slug}, step {index} of "
        f"{len(run['frames']) - 1}, simulated t = {frame['t']} ms\n"
        f"# TYPE playground_simulated_time_ms gauge\n"
        f"playground_simulated_time_ms{_labels(scenario=slug)} {frame['t']}\n"
    )
    return head + prometheus_text(items) + _exporter_gauges(frame)


def _escape(value: Any) -> str:
    """A label value with the text format's escapes (a group id may hold any character),
    for the lines written here; simcore's `prometheus_text` escapes its own."""
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(**labels: Any) -> str:
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items()) + "}"


def _exporter_gauges(frame: dict[str, Any]) -> str:
    lines: list[str] = []
    gauges: dict[str, list[str]] = {
        "kafka_topic_partition_current_offset": [
            f"{_labels(topic=p['topic'], partition=p['partition'])} {p['hw']}"
            for p in frame["partitions"]
        ],
        "kafka_consumergroup_current_offset": [],
        "kafka_consumergroup_lag": [],
    }
    for row in frame["groups"]:
        if row["committed"] is None:
            continue
        labels = _labels(consumergroup=row["group"], topic=row["topic"], partition=row["partition"])
        gauges["kafka_consumergroup_current_offset"].append(f"{labels} {row['committed']}")
        gauges["kafka_consumergroup_lag"].append(f"{labels} {row['lag']}")
    for name, samples in gauges.items():
        if samples:
            lines.append(f"# TYPE {name} gauge")
            lines.extend(f"{name}{sample}" for sample in samples)
    return "\n".join(lines) + "\n" if lines else ""
