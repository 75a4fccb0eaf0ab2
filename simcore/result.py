"""A finished run: its timeline, frames, ledger, consumer-group table and figures."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from simcore import ledger
from simcore.narrative import describe
from simcore.producer import render
from simcore.simulation import Simulation
from simcore.timeline import digest

MESSAGE_DETAIL_LIMIT = 10_000
EVENTS_PER_FRAME = 50


class Result:
    def __init__(self, sim: Simulation) -> None:
        self.sim = sim
        self.scenario = sim.scenario
        self.events = sim.timeline.events

    # -- identity -------------------------------------------------------------------------

    @cached_property
    def digest(self) -> str:
        return digest(self.events, self.sim.header())

    @property
    def errors(self) -> list[str]:
        out = []
        for c in self.sim.consumers:
            out.extend(f"{c.id}: {text}" for text in c.exceptions)
            if c.error:
                out.append(f"{c.id}: {c.error}")
        return out

    # -- ledger ----------------------------------------------------------------------------

    def _log_intervals(self, topic: str) -> list[ledger.Interval]:
        out: list[ledger.Interval] = []
        for part in self.sim.cluster.partitions.values():
            if part.topic == topic:
                out.extend(ledger.intervals(b.msgs for b in part.log.batches))
        return out

    def _expired(self, topic: str) -> list[ledger.Interval]:
        return ledger.intervals(self.sim.cluster.retention.deleted.get(topic, []))

    @cached_property
    def ledger(self) -> dict[str, Any]:
        topics = {}
        for spec in self.scenario.topics:
            producers = [p for p in self.sim.producers if p.spec.topic == spec.name]
            topics[spec.name] = ledger.topic_counts(
                [(p.msg_base, p.msg_base + p.sent, 1) for p in producers],
                ledger.intervals(s for p in producers for s in p.acked),
                ledger.intervals(s for p in producers for s in p.failed),
                self._log_intervals(spec.name),
                self._expired(spec.name),
            )
            parts = {
                str(part.index): {
                    "in_log": sum(b.count for b in part.log.batches),
                    "out_of_order": ledger.out_of_order((b.producer, b.msgs)
                                                        for b in part.log.batches),
                }
                for part in self.sim.cluster.partition_list if part.topic == spec.name
            }
            topics[spec.name]["out_of_order"] = sum(p["out_of_order"] for p in parts.values())
            topics[spec.name]["partitions"] = parts
        groups = {}
        for group in sorted({c.spec.group for c in self.sim.consumers}):
            members = [c for c in self.sim.consumers if c.group == group]
            subscribed = sorted({t for c in members for t in c.spec.topics})
            log = [iv for t in subscribed for iv in self._log_intervals(t)]
            counts = ledger.group_counts(
                log, ledger.intervals(s for c in members for s in c.processed),
                [iv for t in subscribed for iv in self._expired(t)])
            counts["processing_total"] = sum(c.processing_total for c in members)
            groups[group] = counts
        return {"topics": topics, "groups": groups}

    # -- kafka-consumer-groups.sh --describe -----------------------------------------------------

    def groups_table(self, snapshot_index: int = -1) -> list[dict[str, Any]]:
        """Rows as the tool prints them; LOG-END-OFFSET is the high watermark."""
        rec = self.sim.recorder
        snap = rec.snapshots[snapshot_index]
        parts_state = snap[2]
        part_index = {id(p): i for i, p in enumerate(rec.parts)}
        rows = []
        for (group, part), (committed, _position, owner) in zip(rec.group_rows, snap[3]):
            if committed is None and owner is None:
                continue  # the tool lists assigned or committed partitions only
            hw = parts_state[part_index[id(part)]][2]
            consumer = self.sim.consumers[owner] if owner is not None else None
            rows.append({
                "GROUP": group, "TOPIC": part.topic, "PARTITION": part.index,
                "CURRENT-OFFSET": committed if committed is not None else "-",
                "LOG-END-OFFSET": hw,
                "LAG": hw - committed if committed is not None else "-",
                "CONSUMER-ID": (consumer.member or "-") if consumer else "-",
                "HOST": f"/10.0.0.{owner + 10}" if consumer else "-",
                "CLIENT-ID": consumer.id if consumer else "-",
            })
        return rows

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.scenario.name,
            "seed": self.scenario.seed,
            "digest": self.digest,
            "ledger": self.ledger,
            "groups": self.groups_table(),
            "errors": self.errors,
        }

    # -- frames for the player -----------------------------------------------------------------

    def event_dict(self, index: int) -> dict[str, Any]:
        time_ms, kind, actor, fields = self.events[index]
        out = {"i": index, "t": time_ms, "kind": kind, "actor": actor,
               "text": describe(kind, actor, fields), "injected": bool(fields.get("injected"))}
        out.update({k: v for k, v in fields.items() if k not in out})
        return out

    def frames(self, max_frames: int = 2000) -> list[dict[str, Any]]:
        snaps = self.sim.recorder.snapshots
        keep = _sample(len(snaps), max_frames)
        frames = []
        prev_len = 0
        for step, index in enumerate(keep):
            time_ms, n_events, parts, groups, consumers, brokers, producers = snaps[index]
            first = max(prev_len, n_events - EVENTS_PER_FRAME)
            frames.append({
                "step": step, "t": time_ms,
                "events": [self.event_dict(i) for i in range(first, n_events)],
                "skipped_events": first - prev_len,
                "partitions": [_frame_partition(p, s) for p, s in zip(self.sim.recorder.parts,
                                                                       parts)],
                "brokers": [{"id": b, "alive": s[0], "isolated": s[1], "fenced": s[2]}
                            for b, s in enumerate(brokers)],
                "producers": [
                    {"id": p.spec.id, "in_flight": s[0], "queued_batches": s[1], "acked": s[2],
                     "failed": s[3]} for p, s in zip(self.sim.producers, producers)],
                "groups": self._frame_groups(parts, groups),
                "consumers": [
                    {"id": c.id, "group": c.group, "state": s[0], "offset": s[1]}
                    for c, s in zip(self.sim.consumers, consumers)],
            })
            prev_len = n_events
        return frames

    def _frame_groups(self, parts: tuple, groups: tuple) -> list[dict[str, Any]]:
        rec = self.sim.recorder
        part_index = {id(p): i for i, p in enumerate(rec.parts)}
        rows = []
        for (group, part), (committed, position, owner) in zip(rec.group_rows, groups):
            hw = parts[part_index[id(part)]][2]
            rows.append({
                "group": group, "topic": part.topic, "partition": part.index,
                "committed": committed, "position": position,
                "consumer": self.sim.consumers[owner].id if owner is not None else None,
                "lag": hw - committed if committed is not None else None,
                "records_lag": hw - position if position is not None else None,
            })
        return rows

    def series(self) -> dict[str, Any]:
        """Offsets and lag over time, one point per snapshot (sampled to 2000)."""
        snaps = self.sim.recorder.snapshots
        keep = _sample(len(snaps), 2000)
        rec = self.sim.recorder
        out: dict[str, Any] = {"t": [snaps[i][0] for i in keep], "partitions": {}, "groups": {}}
        for k, part in enumerate(rec.parts):
            out["partitions"][part.name] = {
                "leo": [snaps[i][2][k][1] for i in keep], "hw": [snaps[i][2][k][2] for i in keep]}
        part_index = {id(p): i for i, p in enumerate(rec.parts)}
        for k, (group, part) in enumerate(rec.group_rows):
            j = part_index[id(part)]
            committed = [snaps[i][3][k][0] for i in keep]
            position = [snaps[i][3][k][1] for i in keep]
            hws = [snaps[i][2][j][2] for i in keep]
            out["groups"][f"{group}/{part.name}"] = {
                "committed": committed, "position": position,
                "lag": [h - c if c is not None else None for h, c in zip(hws, committed)],
            }
        return out

    def figures(self) -> dict[str, Any]:
        from simcore.figures import offsets_figure

        return {"offsets": offsets_figure(self.series(), self.scenario.name)}

    # -- per-message detail (small runs) ---------------------------------------------------------

    @cached_property
    def _message_index(self) -> dict[int, dict[str, Any]] | None:
        if self.sim.total_messages > MESSAGE_DETAIL_LIMIT:
            return None
        rows: dict[int, dict[str, Any]] = {}
        for producer in self.sim.producers:
            spec = producer.spec
            for i in range(producer.sent):
                rows[producer.msg_base + i] = {
                    "id": f"{spec.id}#{i}", "producer": spec.id, "i": i,
                    "key": render(spec.key, i) if spec.key is not None else None,
                    "value": render(spec.value, i), "topic": spec.topic, "partition": None,
                    "offsets": [], "acked": False, "failed": False, "processed": {},
                    "batches": [],
                }
            for seqs, flag in ((producer.acked, "acked"), (producer.failed, "failed")):
                for seq in seqs:
                    for msg in seq:
                        rows[msg][flag] = True
            for number, (partition, seq) in enumerate(producer.sent_batches):
                for msg in seq:
                    rows[msg]["partition"] = partition
                    rows[msg]["batches"].append(number)
        for part in self.sim.cluster.partitions.values():
            for batch in part.log.batches:
                for k, msg in enumerate(batch.msgs):
                    rows[msg]["offsets"].append(batch.base + k)
        for consumer in self.sim.consumers:
            for seq in consumer.processed:
                for msg in seq:
                    counts = rows[msg]["processed"]
                    counts[consumer.group] = counts.get(consumer.group, 0) + 1
        groups = sorted({c.group for c in self.sim.consumers})
        for row in rows.values():
            row["processed"] = {g: row["processed"].get(g, 0) for g in groups
                                if any(c.group == g and row["topic"] in c.spec.topics
                                       for c in self.sim.consumers)}
            row["outcome"] = _outcome(row)
        return rows

    def messages(self) -> list[dict[str, Any]] | None:
        index = self._message_index
        return None if index is None else [index[k] for k in sorted(index)]

    def message_story(self, msg_id: str) -> list[dict[str, Any]]:
        """Every event that touched one message, e.g. ``"p1#3"``."""
        index = self._message_index
        row = next((r for r in (index or {}).values() if r["id"] == msg_id), None)
        if row is None:
            return []
        part = f"{row['topic']}-{row['partition']}"
        offsets = set(row["offsets"])
        story = []
        crossed: set[tuple[str, str]] = set()
        for n, (_t, kind, actor, f) in enumerate(self.events):
            if _touches(kind, actor, f, row, part, offsets, crossed):
                story.append(self.event_dict(n))
        return story


def _frame_partition(part: Any, s: tuple) -> dict[str, Any]:
    return {
        "topic": part.topic, "partition": part.index, "log_start": s[0], "leo": s[1], "hw": s[2],
        "leader": s[3], "epoch": s[4], "isr": list(s[5]),
        "replicas": [{"broker": b, "leo": r[0], "hw": r[1], "leading": r[2]}
                     for b, r in zip(part.replicas, s[6])],
    }


def _touches(kind: str, actor: str, f: dict[str, Any], row: dict[str, Any], part: str,
             offsets: set[int], crossed: set[tuple[str, str]]) -> bool:
    if kind in ("send", "ack", "produce_error", "produce_failed"):
        return actor == row["producer"] and f["batch"] in row["batches"]
    if f.get("part") != part and kind not in ("commit_ok", "crash", "commit_failed"):
        return False
    if kind in ("append", "processed"):
        start = f.get("base", f.get("first"))
        return any(start <= o < start + f["count"] for o in offsets)
    if kind == "hw":
        key = ("hw", part)
        if key not in crossed and any(o < f["hw"] for o in offsets):
            crossed.add(key)
            return True
    if kind == "commit_ok" and offsets:
        for item in f["offsets"].split(", "):
            name, _, value = item.rpartition("@")
            key = ("commit", actor)
            if name == part and int(value) > min(offsets) and key not in crossed:
                crossed.add(key)
                return True
    return False


def _outcome(row: dict[str, Any]) -> str:
    if not row["offsets"]:
        return "lost (acknowledged, not in the log)" if row["acked"] else "not written"
    counts = list(row["processed"].values())
    if not counts:
        return "in the log"
    worst = max(counts) if max(counts) > 1 else min(counts)
    if worst == 0:
        return "never processed"
    if worst == 1:
        return "processed once"
    return f"processed {worst} times"


def _sample(n: int, limit: int) -> list[int]:
    if n <= limit:
        return list(range(n))
    step = (n - 1) / (limit - 1)
    return sorted({round(k * step) for k in range(limit)})
