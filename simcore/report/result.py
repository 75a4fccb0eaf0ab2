"""A finished run: its timeline, frames, ledger, consumer-group table and figures."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from simcore.broker.log import Batch, ReplicaLog
from simcore.consumer.processing import Publisher
from simcore.kernel.collector import collector_paused
from simcore.kernel.ids import IdLog
from simcore.kernel.timeline import digest
from simcore.producer.producer import Producer, render
from simcore.report import answers, ledger, playback
from simcore.report.end_to_end import end_to_end
from simcore.report.narrative import describe
from simcore.report.processing import inputs_of, processing_ledger
from simcore.report.transactions import transactions_summary
from simcore.report.txn_view import TxnView
from simcore.run.frames import LARGE_RUN_MESSAGES, PartitionState, Snapshot
from simcore.run.simulation import Simulation

EVENTS_PER_FRAME = 50


class Result:
    def __init__(self, sim: Simulation) -> None:
        self.sim = sim
        self.scenario = sim.scenario
        self.events = sim.timeline.events
        self._log_cache: dict[tuple[str, bool], ledger.Ids] = {}
        self._log_parts: dict[str, dict[str, dict[str, int]]] = {}
        self._memos: dict[str, Any] = {}

    def _memo(self, name: str, compute: Callable[[], Any]) -> Any:
        """``compute()`` once, then its value: ``functools.cached_property`` by hand, as
        mypyc compiles that decorator into a plain property, computed on every read (a
        transactional run's frames rebuilt the transactions' view 12,000 times: 4.9 s
        instead of 0.4 s; tests/simcore/test_compiled_engine.py)."""
        if name not in self._memos:
            self._memos[name] = compute()
        return self._memos[name]

    # -- identity -------------------------------------------------------------------------

    @property
    def digest(self) -> str:
        value: str = self._memo("digest", self._digest)
        return value

    def _digest(self) -> str:
        return digest(self.events, self.sim.header())

    @property
    def errors(self) -> list[str]:
        out: list[str] = []
        for c in self.sim.consumers:
            out.extend(f"{c.id}: {text}" for text in c.exceptions)
            if c.error:
                out.append(f"{c.id}: {c.error}")
        return out

    # -- ledger ----------------------------------------------------------------------------

    def _log_intervals(self, topic: str, committed_only: bool = False) -> ledger.Ids:
        """The message ids in the topic's final logs (computed once per topic); with
        ``committed_only``, those a read_committed reader can get: without the records of
        aborted transactions (a group of read_committed consumers is counted over them)."""
        key = (topic, committed_only)
        cached = self._log_cache.get(key)
        if cached is None and not committed_only:
            self._log_scan(topic)  # (it fills the cache)
            cached = self._log_cache[key]
        elif cached is None:
            cached = self._log_cache[key] = ledger.intervals(
                b.msgs
                for part in self.sim.cluster.partitions.values()
                if part.topic == topic
                for b in part.log.batches
                if not b.control and not _in_aborted(part.log, b)
            )
        return cached

    def _log_scan(self, topic: str) -> dict[str, dict[str, int]]:
        """Each partition's ``in_log`` and ``out_of_order`` in the topic's final logs, and
        the topic's log layer of the ledger (``_log_intervals``): one pass over a log of
        hundreds of thousands of batches, not one for each."""
        parts = self._log_parts.get(topic)
        if parts is None:
            gather = IdLog()
            parts = self._log_parts[topic] = {}
            for part in self.sim.cluster.partition_list:
                if part.topic == topic:
                    in_log, late = ledger.log_counts(part.log.batches, gather)
                    parts[str(part.index)] = {"in_log": in_log, "out_of_order": late}
            self._log_cache[(topic, False)] = ledger.ids_of([gather])
        return parts

    def skip_mark(self, group: str, tp: tuple[str, int]) -> int | None:
        """Below this offset the group will not read what it has not read: its final
        committed offset, or — higher, or with no commit — where auto.offset.reset=latest
        started one of its members (the records it passed over)."""
        marks = [
            c.reset_floor[tp]
            for c in self.sim.consumers
            if c.group == group and tp in c.reset_floor
        ]
        committed = self.sim.coordinator.committed_offset(group, tp)
        if committed is not None:
            marks.append(committed)
        return max(marks) if marks else None

    def _behind_committed(self, group: str, topics: list[str]) -> ledger.Ids:
        """Message ids below the group's skip mark (see ``skip_mark``), per partition."""
        out: list[Sequence[int]] = []
        for part in self.sim.cluster.partition_list:
            committed = self.skip_mark(group, part.tp)
            if part.topic not in topics or committed is None:
                continue
            batches = part.log.batches_from(part.log.log_start, committed)
            out.extend(
                b.msgs if b.end <= committed else b.msgs[: max(0, committed - b.base)]
                for b in batches
                if not b.control
            )
        return ledger.intervals(out)

    def _republished(self, topic: str) -> list[tuple[range, bool]]:
        """Records applications published to the topic (dead letters, retries), with
        whether each was acknowledged (issue 15)."""
        world = self.sim.processing
        if world is None:
            return []
        out = []
        for publisher in world.publishers:
            acked = {ids.start for ids in publisher.acked}
            for (_partition, ids), to in zip(publisher.sent_batches, publisher.topics, strict=True):
                if to == topic:
                    out.append((ids, ids.start in acked))
        return out

    def _expired(self, topic: str) -> ledger.Ids:
        return ledger.intervals(self.sim.cluster.retention.deleted.get(topic, []))

    @property
    def txn_view(self) -> TxnView | None:
        """Transactions as frames show them (None: the run has none)."""
        value: TxnView | None = self._memo("txn_view", self._txn_view)
        return value

    def _txn_view(self) -> TxnView | None:
        return TxnView(self.sim) if self.sim.cluster.transactions is not None else None

    @property
    def ledger(self) -> dict[str, Any]:
        value: dict[str, Any] = self._memo("ledger", self._ledger)
        return value

    def _ledger(self) -> dict[str, Any]:
        topics: dict[str, dict[str, Any]] = {}
        for spec in self.scenario.topics:
            producers = [p for p in self.sim.producers if p.spec.topic == spec.name]
            republished = self._republished(spec.name)
            topics[spec.name] = ledger.topic_counts(
                [(p.msg_base, p.msg_base + p.sent, 1) for p in producers]
                + [(ids.start, ids.stop, 1) for ids, _acked in republished],
                ledger.ids_of(
                    [*(p.acked for p in producers), IdLog(i for i, a in republished if a)]
                ),
                ledger.ids_of(p.failed for p in producers),
                self._log_intervals(spec.name),
                self._expired(spec.name),
            )
            parts = self._log_scan(spec.name)
            topics[spec.name]["out_of_order"] = sum(p["out_of_order"] for p in parts.values())
            topics[spec.name]["partitions"] = parts
        groups = {}
        for group in sorted({c.spec.group for c in self.sim.consumers}):
            members = [c for c in self.sim.consumers if c.group == group]
            subscribed = sorted({t for c in members for t in c.spec.topics})
            committed_only = all(c.committed_only for c in members)
            counts = ledger.group_counts(
                ledger.Ids.concat([self._log_intervals(t, committed_only) for t in subscribed]),
                ledger.ids_of(c.processed for c in members),
                ledger.Ids.concat([self._expired(t) for t in subscribed]),
                partial(self._behind_committed, group, subscribed),  # read if some is unread
            )
            counts["processing_total"] = sum(c.processing_total for c in members)
            groups[group] = counts
        return {"topics": topics, "groups": groups}

    # -- what a viewer sees (see simcore.report.playback) ---------------------------

    def _snap(self, index: int) -> Snapshot:
        return self.sim.recorder.snapshots[index]

    def groups_table(self, snapshot_index: int = -1) -> list[dict[str, Any]]:
        """kafka-consumer-groups.sh --describe at a snapshot (default: the end)."""
        return playback.describe_table(self, self._snap(snapshot_index))

    def consumer_groups(self) -> dict[str, Any]:
        """Per group at the end: protocol state, rebalances with their pauses, lag."""
        snap = self._snap(-1)
        out = {}
        rows = playback.group_rows(self, snap)
        for summary in playback.group_summaries(self, snap, rows):
            name = summary["group"]
            group = self.sim.coordinator.group(name)
            rebalances = [
                {
                    "cause": r["cause"],
                    "start_ms": r["start"],
                    "end_ms": r["end"],
                    "duration_ms": (r["end"] if r["end"] is not None else snap.t) - r["start"],
                    "paused_ms": dict(sorted(r["paused"].items())),
                }
                for r in group.history.rebalances
            ]
            out[name] = {
                "group_protocol": summary["group_protocol"],
                "state": summary["state"],
                "generation": summary["generation"],
                "protocol": summary["protocol"],
                "rebalances": {
                    "count": len(rebalances),
                    "total_pause_ms": sum(sum(r["paused_ms"].values()) for r in rebalances),
                    "list": rebalances,
                },
                "lag_status": summary["status"],
                "catch_up_ms": summary["catch_up_ms"],
                "partitions": [
                    {
                        k: r[k]
                        for k in (
                            "topic",
                            "partition",
                            "lag",
                            "records_lag",
                            "time_lag_ms",
                            "status",
                        )
                    }
                    for r in rows
                    if r["group"] == name
                ],
            }
        return out

    def metrics(self, snapshot_index: int = -1) -> list[dict[str, Any]]:
        return playback.metrics(self, snapshot_index % len(self.sim.recorder.snapshots))

    def summary(self) -> dict[str, Any]:
        with collector_paused():  # (kernel/collector.py)
            return self._summary()

    def _summary(self) -> dict[str, Any]:
        out = {
            "name": self.scenario.name,
            "seed": self.scenario.seed,
            "digest": self.digest,
            "ledger": self.ledger,
            "groups": self.groups_table(),
            "consumer_groups": self.consumer_groups(),
            "errors": self.errors,
        }
        processing = processing_ledger(self.sim)
        if processing is not None:  # only runs whose processing can fail (issue 15)
            out["processing"] = processing
        transactions = transactions_summary(self.sim)
        if transactions is not None:
            out["transactions"] = transactions
        pipelines = end_to_end(self.sim)
        if pipelines is not None:
            out["end_to_end"] = pipelines
        if self.scenario.questions:
            out["questions"] = self.questions()
        if self.scenario.security is not None:
            out["security"] = self.security()
        reads = self.follower_fetching()
        if reads:
            out["follower_fetching"] = reads
        return out

    def follower_fetching(self) -> dict[str, Any]:
        """Per consumer with a ``client.rack`` (KIP-392): where it reads each partition from
        at the end, bytes from its own rack and from others, and how late records reached
        it after the leader's HW passed them — from followers and from leaders."""
        out = {}
        for consumer in self.sim.consumers:
            reads = consumer.reads
            if reads is None:
                continue
            late = {True: [s[2] for s in reads.staleness if s[3]], False: []}
            late[False] = [s[2] for s in reads.staleness if not s[3]]
            out[consumer.id] = {
                "client_rack": reads.rack,
                "read_replicas": {
                    f"{t}-{p}": broker
                    for (t, p), (broker, _until) in sorted(reads.preferred.items())
                },
                "bytes_same_rack": reads.bytes_same_rack,
                "bytes_cross_rack": reads.bytes_cross_rack,
                "fetches_from_followers": reads.follower_fetches,
                "fetches_from_leaders": reads.leader_fetches,
                # (t, ms, 1 if from a follower) for a chart: at most 240 points, evenly picked
                "staleness_series": [
                    [t, late, int(follower)]
                    for t, _part, late, follower in reads.staleness[
                        :: max(1, -(-len(reads.staleness) // 240))
                    ]
                ],
                "staleness_ms": {
                    source: {
                        "max": max(values, default=0),
                        "avg": round(sum(values) / len(values), 1) if values else 0,
                    }
                    for source, values in (("follower", late[True]), ("leader", late[False]))
                },
            }
        return out

    def security(self) -> dict[str, Any]:
        """Per client: its principal and address, how its connection ended, and the ACL
        decision for each request it sent (up to the first denial)."""
        out = {}
        for client, access in self.sim.access.items():
            outcome = access.connection
            out[client] = {
                "principal": access.principal,
                "host": access.host,
                "connected": outcome.connected,
                "stage": outcome.stage,
                "reported": outcome.reported,
                "admitted": access.allowed,
                "requests": [
                    {
                        "request": c.request,
                        "operation": c.operation,
                        "resource": f"{c.resource_type} {c.name}",
                        "allowed": c.decision.allowed,
                        "rule": c.decision.rule,
                        "why": c.decision.why(),
                    }
                    for c in access.checks
                ],
            }
        return out

    def questions(self) -> list[dict[str, Any]]:
        """The scenario's questions with the answers this run gives (report/answers.py)."""
        return answers.answers(self)

    def event_dict(self, index: int) -> dict[str, Any]:
        time_ms, kind, actor, fields = self.events[index]
        out = {
            "i": index,
            "t": time_ms,
            "kind": kind,
            "actor": actor,
            "text": describe(kind, actor, fields),
            "injected": bool(fields.get("injected")),
        }
        out.update({k: v for k, v in fields.items() if k not in out})
        return out

    def frame_snapshot_indexes(self, max_frames: int = 2000) -> list[int]:
        """Which recorder snapshot each frame of ``frames(max_frames)`` shows (pass one to
        ``metrics()`` or ``groups_table()`` for that frame)."""
        return _sample(len(self.sim.recorder.snapshots), max_frames)

    def frames(self, max_frames: int = 2000) -> list[dict[str, Any]]:
        """JSON-able frames; each carries its ``snapshot`` index."""
        frames = []
        prev_len = 0
        shown: dict[int, tuple[PartitionState, dict[str, Any]]] = {}
        for step, index in enumerate(self.frame_snapshot_indexes(max_frames)):
            snap = self._snap(index)
            first = max(prev_len, snap.n_events - EVENTS_PER_FRAME)
            frames.append(playback.frame(self, snap, step, first, prev_len, index, shown))
            prev_len = snap.n_events
        return frames

    def series(self) -> dict[str, Any]:
        """Offsets and lag over time, one point per snapshot (sampled to 2000)."""
        return playback.series(self, _sample(len(self.sim.recorder.snapshots), 2000))

    def figures(self) -> dict[str, Any]:
        from simcore.report.figures import offsets_figure

        return {"offsets": offsets_figure(self.series(), self.scenario.name)}

    # -- per-message detail (small runs) ---------------------------------------------------------

    @property
    def _message_index(self) -> dict[int, dict[str, Any]] | None:
        value: dict[int, dict[str, Any]] | None = self._memo("messages", self._index_messages)
        return value

    def _index_messages(self) -> dict[int, dict[str, Any]] | None:
        if self.sim.total_messages > LARGE_RUN_MESSAGES:
            return None
        rows: dict[int, dict[str, Any]] = {}
        seq: Sequence[int]  # message ids: acked/failed, sent batches, processed chunks
        for producer in self.sim.producers:
            spec = producer.spec
            for i in range(producer.sent):
                rows[producer.msg_base + i] = {
                    "id": f"{spec.id}#{i}",
                    "producer": spec.id,
                    "i": i,
                    "key": render(spec.key, i) if spec.key is not None else None,
                    "value": render(spec.value, i),
                    "topic": spec.topic,
                    "partition": None,
                    "offsets": [],
                    "acked": False,
                    "failed": False,
                    "processed": {},
                    "batches": [],
                }
            for ids, flag in ((producer.acked, "acked"), (producer.failed, "failed")):
                for msg in ids:
                    rows[msg][flag] = True
            for number, (partition, seq) in enumerate(producer.sender.sent_batches):
                for msg in seq:
                    rows[msg]["partition"] = partition
                    rows[msg]["batches"].append(number)
        rows.update(self._republished_rows(rows))
        for part in self.sim.cluster.partitions.values():
            for batch in part.log.batches:
                if batch.control:
                    continue
                for k, msg in enumerate(batch.msgs):
                    rows[msg]["offsets"].append(batch.base + k)
        for consumer in self.sim.consumers:
            for msg in consumer.processed:
                counts = rows[msg]["processed"]
                counts[consumer.group] = counts.get(consumer.group, 0) + 1
        self._sink_view(rows)
        groups = sorted({c.group for c in self.sim.consumers})
        for row in rows.values():
            row["processed"] = {
                g: row["processed"].get(g, 0)
                for g in groups
                if any(c.group == g and row["topic"] in c.spec.topics for c in self.sim.consumers)
            }
            row["outcome"] = _outcome(row)
        return rows

    def _sink_view(self, rows: dict[int, dict[str, Any]]) -> None:
        """Each input's row gets ``sink``: per application with a sink, how many times the
        input was applied there (0, 1, 2, ...: issue 15)."""
        world = self.sim.processing
        if world is None:
            return
        for name in sorted(world.apps):
            app = world.apps[name]
            if app.sink is None:
                continue
            for msg in inputs_of(self.sim, app):
                rows[msg].setdefault("sink", {})[app.name] = app.sink.applied.get(msg, 0)

    def _republished_rows(self, rows: dict[int, dict[str, Any]]) -> dict[int, dict[str, Any]]:
        """Rows for the records applications republished (issue 15): a copy of an input,
        named by the application's publisher (``c1-pub#0``), with ``origin`` its input."""
        world = self.sim.processing
        out: dict[int, dict[str, Any]] = {}
        if world is None:
            return out
        for publisher in world.publishers:
            acked = {ids.start for ids in publisher.acked}
            batches = zip(publisher.sent_batches, publisher.topics, strict=True)
            for number, ((partition, ids), topic) in enumerate(batches):
                origin = rows[world.copies[ids.start].origin.msg]
                out[ids.start] = origin | {
                    "id": f"{publisher.name}#{number}",
                    "producer": publisher.name,
                    "i": number,
                    "topic": topic,
                    "partition": partition,
                    "offsets": [],
                    "acked": ids.start in acked,
                    "failed": False,
                    "processed": {},
                    "batches": [number],
                    "origin": origin["id"],
                }
        return out

    def messages(self) -> list[dict[str, Any]] | None:
        index = self._message_index
        return None if index is None else [index[k] for k in sorted(index)]

    def message_story(self, msg_id: str) -> list[dict[str, Any]]:
        """Every event that touched one message, e.g. ``"p1#3"``: its sends and acks, each
        append (with the offset it got, even if later truncated), the HW passing it, the
        polls and processing that covered it, the commits that moved past it, crashes
        while it was in hand, truncation or deletion of it."""
        index = self._message_index
        gid = next((g for g, r in (index or {}).items() if r["id"] == msg_id), None)
        if gid is None:
            return []
        assert index is not None
        story = _Story(index[gid], gid, self.sim)
        return [self.event_dict(n) for n, event in enumerate(self.events) if story.touches(event)]


class _Story:
    """Follows one message through the timeline (small runs only)."""

    def __init__(self, row: dict[str, Any], gid: int, sim: Simulation) -> None:
        self.row = row
        self.part = f"{row['topic']}-{row['partition']}"
        sources: list[Producer | Publisher] = [*sim.producers]
        sources += sim.processing.publishers if sim.processing else []
        batches = next(
            [ids for _part, ids in _sent_batches(source)]
            for source in sources
            if _source_name(source) == row["producer"]
        )
        self.index_in = {n: list(batches[n]).index(gid) for n in row["batches"]}
        self.offsets: set[int] = set(row["offsets"])  # where it is in the final log
        self.written: set[int] = set()  # every offset it was appended at (maybe truncated)
        self.crossed: set[tuple[str, str]] = set()
        self.holding: set[str] = set()  # consumers that polled it and have not finished it

    def touches(self, event: Any) -> bool:
        _t, kind, actor, f = event
        if kind in ("send", "ack", "produce_error", "produce_failed"):
            return actor == self.row["producer"] and f["batch"] in self.row["batches"]
        if kind == "append":
            if f["producer"] == self.row["producer"] and f["batch"] in self.index_in:
                self.written.add(f["base"] + self.index_in[f["batch"]])
                return True
            return False
        if kind == "crash":
            return actor in self.holding
        if kind in ("commit_ok", "commit_stored"):
            return self._commit_crosses(actor, f["offsets"])
        if f.get("part") != self.part and kind != "poll":
            return False
        return self._partition_event(kind, actor, f)

    def _partition_event(self, kind: str, actor: str, f: dict[str, Any]) -> bool:
        offsets = self.offsets
        if kind == "poll":
            if any(self._covers(*item) for item in f["records"]):
                self.holding.add(actor)
                return True
            return False
        if kind == "processed":
            if any(f["first"] <= o < f["first"] + f["count"] for o in offsets):
                self.holding.discard(actor)
                return True
            return False
        if kind == "hw":
            return self._first(("hw", f["part"]), any(o < f["hw"] for o in offsets))
        if kind == "truncate":  # the offset it was written at is cut away
            return any(
                f["offset"] <= o < f["offset"] + f["removed"] for o in self.written - offsets
            )
        if kind == "segments_deleted":
            return any(o < f["log_start"] for o in offsets)
        if kind == "position":  # a consumer (re)starts at or before it, once it exists
            if not offsets or not self.written:
                return False
            passed_over = str(f["why"]).endswith("auto.offset.reset=latest")  # skipped by it
            return f["offset"] <= max(offsets) or (passed_over and f["offset"] > min(offsets))
        return False

    def _covers(self, part: str, first: int, last: int) -> bool:
        return part == self.part and any(first <= o <= last for o in self.offsets)

    def _commit_crosses(self, actor: str, offsets: list[list[Any]]) -> bool:
        for part, value in offsets:
            if part == self.part and self.offsets and value > min(self.offsets):
                return self._first(("commit", actor), True)
        return False

    def _first(self, key: tuple[str, str], condition: bool) -> bool:
        if condition and key not in self.crossed:
            self.crossed.add(key)
            return True
        return False


def _sent_batches(source: Producer | Publisher) -> Sequence[tuple[int, Sequence[int]]]:
    """A producer's sent batches (its sender's), or an application publisher's."""
    return source.sender.sent_batches if isinstance(source, Producer) else source.sent_batches


def _source_name(source: Producer | Publisher) -> str:
    """A producer's id, or an application publisher's name."""
    return source.spec.id if isinstance(source, Producer) else source.name


# A message's outcome (the ledger's "outcome" column); compare with these, never parse them
LOST_ACKED = "lost (acknowledged, not in the log)"
NEVER_PROCESSED = "never processed"


def _outcome(row: dict[str, Any]) -> str:
    if not row["offsets"]:
        return LOST_ACKED if row["acked"] else "not written"
    counts = list(row["processed"].values())
    if not counts:
        return "in the log"
    worst = max(counts) if max(counts) > 1 else min(counts)
    if worst == 0:
        return NEVER_PROCESSED
    if worst == 1:
        return "processed once"
    return f"processed {worst} times"


def _sample(n: int, limit: int) -> list[int]:
    if n <= limit:
        return list(range(n))
    step = (n - 1) / (limit - 1)
    return sorted({round(k * step) for k in range(limit)})


def _in_aborted(log: ReplicaLog, batch: Batch) -> bool:
    """Is the batch part of an aborted transaction (the log's aborted index)?"""
    if not batch.transactional or not log.aborted:
        return False
    pid, base = batch.producer_id, batch.base
    return any(p == pid and first <= base < end for p, first, end in log.aborted)
