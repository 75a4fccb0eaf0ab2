"""What a viewer sees at a step: frames, the --describe table, series and metrics.

Everything here reads the recorder's snapshots (see ``frames``), so any step of a
finished run can be shown without simulating again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from simcore.groups.kip848 import ConsumerGroup
from simcore.kernel.types import client_host
from simcore.run.lag import catch_up_ms, group_status, window_until

if TYPE_CHECKING:
    from simcore.broker.cluster import Partition
    from simcore.report.result import Result
    from simcore.report.txn_view import TxnView
    from simcore.run.frames import PartitionState, Snapshot


def group_rows(result: Result, snap: Snapshot) -> list[dict[str, Any]]:
    rec = result.sim.recorder
    rows = []
    rows_at = zip(rec.group_rows, snap.groups, rec.group_row_parts, strict=True)
    for (group, part), row, at in rows_at:
        committed, position, owner = row.committed, row.position, row.owner
        hw = snap.parts[at].hw
        rows.append(
            {
                "group": group,
                "topic": part.topic,
                "partition": part.index,
                "committed": committed,
                "position": position,
                "consumer": result.sim.consumers[owner].id if owner is not None else None,
                "lag": hw - committed if committed is not None else None,
                # the client's metric: HW - position as of the last poll() that handed
                # out records (or answer without any), from the HW that answer carried
                "records_lag": row.records_lag,
                "time_lag_ms": row.time_lag,
                "status": row.status,
            }
        )
    return rows


def describe_table(result: Result, snap: Snapshot) -> list[dict[str, Any]]:
    """kafka-consumer-groups.sh --describe: assigned or committed partitions only; its
    LOG-END-OFFSET is the high watermark; a missing value prints '-'."""
    consumers = result.sim.consumers
    rows = []
    for row, raw in zip(group_rows(result, snap), snap.groups, strict=True):
        committed, described = raw.committed, raw.member
        if committed is None and described is None:
            continue
        member_id, owner = described if described else (None, None)
        consumer = consumers[owner] if owner is not None else None
        hw = row["lag"] + committed if committed is not None else None
        if hw is None:
            part = next(
                p
                for g, p in result.sim.recorder.group_rows
                if g == row["group"] and p.topic == row["topic"] and p.index == row["partition"]
            )
            hw = snap.parts[result.sim.recorder.parts.index(part)].hw
        rows.append(
            {
                "GROUP": row["group"],
                "TOPIC": row["topic"],
                "PARTITION": row["partition"],
                "CURRENT-OFFSET": committed if committed is not None else "-",
                "LOG-END-OFFSET": hw,
                "LAG": row["lag"] if committed is not None else "-",
                "CONSUMER-ID": member_id or "-",
                "HOST": "/" + client_host("consumer", owner) if owner is not None else "-",
                "CLIENT-ID": consumer.id if consumer else "-",
            }
        )
    for name, state in zip(result.sim.recorder.group_names, snap.group_states, strict=True):
        for member_id, owner in state.unassigned:  # members with nothing assigned get a '-' row
            rows.append(
                {
                    "GROUP": name,
                    "TOPIC": "-",
                    "PARTITION": "-",
                    "CURRENT-OFFSET": "-",
                    "LOG-END-OFFSET": "-",
                    "LAG": "-",
                    "CONSUMER-ID": member_id,
                    "HOST": "/" + client_host("consumer", owner),
                    "CLIENT-ID": consumers[owner].id,
                }
            )
    return rows


def group_summaries(
    result: Result, snap: Snapshot, rows: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Per group: protocol state, generation, lag status, catch-up estimate (from ``rows``,
    the snapshot's ``group_rows``, which every caller has built already)."""
    coordinator = result.sim.coordinator
    out = []
    for name, group in zip(result.sim.recorder.group_names, snap.group_states, strict=True):
        mine = [r for r in rows if r["group"] == name]
        total = sum(r["lag"] or 0 for r in mine)
        histories = [
            window_until(coordinator.history.get((name, r["topic"], r["partition"]), []), snap.t)
            for r in mine
        ]
        out.append(
            {
                "group": name,
                # Kafka's group.protocol: under "consumer" (KIP-848) the generation is the
                # group epoch and each member has its own member epoch
                "group_protocol": (
                    "consumer" if isinstance(coordinator.group(name), ConsumerGroup) else "classic"
                ),
                "state": group.state,
                "generation": group.generation,
                "protocol": group.protocol,
                "rebalances": group.rebalances,
                "total_lag": total,
                "records_lag": sum(r["records_lag"] or 0 for r in mine),
                "max_time_lag_ms": max((r["time_lag_ms"] for r in mine), default=0),
                "status": group_status([r["status"] for r in mine]),
                # nothing consuming (no member) is not catching up
                "catch_up_ms": None if group.state == "Empty" else catch_up_ms(histories, total),
            }
        )
    return out


def frame(
    result: Result,
    snap: Snapshot,
    step: int,
    first_event: int,
    prev_events: int,
    snapshot_index: int,
    shown: dict[int, tuple[PartitionState, dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """One frame. ``shown``, kept by the caller across a run's frames, hands a partition
    whose state did not change since the frame before the same dict again (a wide topic
    is mostly still between frames: a dead leader's partitions, every one once the
    producer is done), so its JSON is what it was, built once."""
    sim = result.sim
    rows = group_rows(result, snap)
    return {
        "step": step,
        "t": snap.t,
        "snapshot": snapshot_index,
        "events": [result.event_dict(i) for i in range(first_event, snap.n_events)],
        "skipped_events": first_event - prev_events,
        "partitions": _partitions(result, snap, shown),
        "brokers": [
            {"id": b, "alive": s.alive, "isolated": s.isolated, "fenced": s.fenced}
            for b, s in enumerate(snap.brokers)
        ],
        "producers": [
            {
                "id": p.spec.id,
                "in_flight": s.in_flight,
                "queued_batches": s.queued,
                "acked": s.acked,
                "failed": s.failed,
                "sends": s.batches_sent,  # produce requests, retries included
                "retries": s.retries_sent,
                "acked_batches": s.batches_acked,
            }
            for p, s in zip(sim.producers, snap.producers, strict=True)
        ],
        **(
            {"transactions": result.txn_view.coordinators(snap.n_events)}
            if result.txn_view is not None
            else {}
        ),
        "groups": rows,
        "group_summary": group_summaries(result, snap, rows),
        "consumers": [
            {
                "id": c.id,
                "group": c.group,
                "state": s.state,
                "offset": s.processing,
                "generation": counters.generation,
            }
            for c, s, counters in zip(sim.consumers, snap.consumers, snap.counters, strict=True)
        ],
    }


def _partitions(
    result: Result, snap: Snapshot, shown: dict[int, tuple[PartitionState, dict[str, Any]]] | None
) -> list[dict[str, Any]]:
    txn: TxnView | None = result.txn_view
    out = []
    for k, (part, state) in enumerate(zip(result.sim.recorder.parts, snap.parts, strict=True)):
        if txn is not None or shown is None:  # (a transaction's view moves with the events)
            out.append(_partition(part, state, txn, snap.n_events))
            continue
        before = shown.get(k)
        if before is not None and before[0] == state:
            out.append(before[1])
            continue
        built = _partition(part, state, txn, snap.n_events)
        shown[k] = (state, built)
        out.append(built)
    return out


def _partition(
    part: Partition, s: PartitionState, txn: TxnView | None, n_events: int
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "topic": part.topic,
        "partition": part.index,
        "log_start": s.log_start,
        "leo": s.leo,
        "hw": s.hw,
        "leader": s.leader,
        "epoch": s.leader_epoch,
        "isr": list(s.isr),
        "replicas": [
            {"broker": b, "leo": r.leo, "hw": r.hw, "leading": r.follows}
            for b, r in zip(part.replicas, s.replicas, strict=True)
        ],
    }
    if txn is not None:  # a run with transactions: the LSO, markers and aborted records
        out["lso"] = s.lso
        out.update(txn.partition(part.name, n_events))
    return out


def series(result: Result, keep: list[int]) -> dict[str, Any]:
    """Offsets and lag over time at the given snapshot indexes."""
    snaps = [result.sim.recorder.snapshots[i] for i in keep]
    rec = result.sim.recorder
    out: dict[str, Any] = {"t": [s.t for s in snaps], "partitions": {}, "groups": {}}
    for k, part in enumerate(rec.parts):
        out["partitions"][part.name] = {
            "leo": [s.parts[k].leo for s in snaps],
            "hw": [s.parts[k].hw for s in snaps],
        }
    for k, (group, part) in enumerate(rec.group_rows):
        j = rec.parts.index(part)
        committed = [s.groups[k].committed for s in snaps]
        hws = [s.parts[j].hw for s in snaps]
        out["groups"][f"{group}/{part.name}"] = {
            "committed": committed,
            "position": [s.groups[k].position for s in snaps],
            "lag": [h - c if c is not None else None for h, c in zip(hws, committed, strict=True)],
            "time_lag_ms": [s.groups[k].time_lag for s in snaps],
        }
    return out


def metrics(result: Result, index: int) -> list[dict[str, Any]]:
    """Client metrics at a snapshot, with Kafka's names, read the way a client computes
    them: windowed stats over 2 samples of 30 s (client_metrics.py)."""
    now = result.sim.recorder.snapshots[index]
    t = now.t
    out: list[dict[str, Any]] = []
    rows = group_rows(result, now)
    for consumer in result.sim.consumers:
        labels = {"client_id": consumer.id, "group": consumer.group}
        out += [
            _metric(
                "records-consumed-rate",
                "consumer-fetch-manager-metrics",
                labels,
                consumer.consumed_sensor.rate(t),
            ),
            _metric(
                "fetch-latency-avg",
                "consumer-fetch-manager-metrics",
                labels,
                consumer.fetch_latency_sensor.avg(t),
            ),
            _metric(
                "commit-latency-avg",
                "consumer-coordinator-metrics",
                labels,
                consumer.committer.commit_latency_sensor.avg(t),
            ),
            _metric(
                "records-lag-max",
                "consumer-fetch-manager-metrics",
                labels,
                consumer.lag_sensor.max(t),
            ),
        ]
        for r in rows:
            if r["consumer"] == consumer.id and r["records_lag"] is not None:
                out.append(
                    _metric(
                        "records-lag",
                        "consumer-fetch-manager-metrics",
                        {**labels, "topic": r["topic"], "partition": str(r["partition"])},
                        r["records_lag"],
                    )
                )
    for producer in result.sim.producers:
        labels = {"client_id": producer.spec.id}
        out += [
            _metric(
                "record-send-rate", "producer-metrics", labels, producer.sender.send_sensor.rate(t)
            ),
            _metric(
                "request-latency-avg",
                "producer-metrics",
                labels,
                producer.sender.request_latency_sensor.avg(t),
            ),
        ]
    return out


def _metric(name: str, group: str, labels: dict[str, str], value: float | None) -> dict[str, Any]:
    return {
        "name": name,
        "group": group,
        "labels": labels,
        "value": _shown(value),
    }


def _shown(value: float | None) -> float | None:
    """A whole number as it is, a fraction to 3 decimals. (The int test comes first: compiled
    by mypyc, ``round`` of a ``float``-typed int returns a float — 3.0 where Python says 3.)"""
    if value is None or isinstance(value, int):
        return value
    return round(value, 3)


def prometheus_text(items: list[dict[str, Any]]) -> str:
    """The Prometheus text exposition format, names as the JMX exporter writes them with
    its default rules: ``<domain>_<type>_<attribute>``, dots and dashes as underscores —
    e.g. ``kafka.consumer:type=consumer-fetch-manager-metrics`` ``records-lag`` →
    ``kafka_consumer_consumer_fetch_manager_metrics_records_lag`` (the type repeats the
    client kind: that is how the exporter spells it); unknown values are left out."""
    lines: list[str] = []
    seen: set[str] = set()
    for item in items:
        if item["value"] is None:
            continue
        domain = "kafka.producer" if item["group"].startswith("producer") else "kafka.consumer"
        name = f"{domain}_{item['group']}_{item['name']}".replace("-", "_").replace(".", "_")
        if name not in seen:
            seen.add(name)
            lines.append(f"# TYPE {name} gauge")
        labels = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(item["labels"].items()))
        lines.append(f"{name}{{{labels}}} {item['value']}")
    return "\n".join(lines) + "\n"


def _escape(value: object) -> str:
    """Label values in the text format escape backslash, double quote and newline."""
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
