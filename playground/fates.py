"""Each record's fate over time, read off a finished small run's timeline in the worker.

The partition strip shows, at every step, what has become of each record: unread, in
progress (held by a consumer that polled it and has not finished it), processed once or
several times by a group, skipped behind the group's committed offset, acknowledged and
then lost from the log, or expired by retention. The frames carry the offsets (log start,
HW, LEO, each group's committed offset); this module adds, per partition, who occupied
each offset and when, when each group finished processing it, and who held it:

    {"orders-0": {
        "entries": [[offset, id, t_in, t_out, t_acked, lost], ...],
        "done": [[entry, group, t], ...],            # a group finished processing it
        "held": [[entry, consumer, t_from, t_to], ...],  # polled and not yet finished
     }, ...}
    "skips": {group: {partition: [[t, mark], ...]}}  # auto.offset.reset=latest start points

`t_out` is when the record left the partition's log (its leader's LEO fell to or below
its offset: an election of a replica without it, or a truncation) — None if it is still
there at the end; `lost` marks the ledger's acknowledged-then-lost records. `t_to` None
means the consumer still held it at the end. Small runs only (a big run's timeline does
not itemise appends, polls and processing): None otherwise.
"""

from __future__ import annotations

from typing import Any

from simcore import Result
from simcore.kernel.collector import collector_paused

# The consumer no longer holds what it polled: it crashed, failed or closed.
DROPS_IN_HAND = frozenset({"crash", "consumer_failed", "closed"})
LATEST = "auto.offset.reset=latest"


def record_fates(result: Result, lost_ids: set[str]) -> dict[str, Any] | None:
    if result.messages() is None:
        return None
    # The tracker allocates many small lists while the finished run holds millions of
    # objects: each collection would walk them all (5,000 records: 0.44 s, 0.04 s without).
    with collector_paused():
        return _Tracker(result, lost_ids).run()


class _Tracker:
    def __init__(self, result: Result, lost_ids: set[str]) -> None:
        sim = result.sim
        self.result = result
        self.lost_ids = lost_ids
        self.group_of = {c.id: c.group for c in sim.consumers}
        self.batches = {
            (p.spec.id, number): (p.msg_base, seq)
            for p in sim.producers
            for number, (_part, seq) in enumerate(p.sender.sent_batches)
        }
        # records applications republished (dead letters, retries: issue 15), labelled
        # by their publisher's count (c1-pub#0), as result.messages() names them
        for publisher in sim.processing.publishers if sim.processing else []:
            for number, (_part, ids) in enumerate(publisher.sent_batches):
                self.batches[(publisher.name, number)] = (ids.start - number, ids)
        self.acked: dict[tuple[str, int], int] = {}
        self.parts = {part.name: _Part() for part in sim.recorder.parts}
        self.skips: dict[str, dict[str, list[list[int]]]] = {}

    def run(self) -> dict[str, Any]:
        rec = self.result.sim.recorder
        names = [part.name for part in rec.parts]
        events = self.result.events
        done = 0
        for snap in rec.snapshots:
            for event in events[done : snap.n_events]:
                self._event(*event)
            done = snap.n_events
            for name, state in zip(names, snap.parts, strict=True):
                self.parts[name].shrink(state.leo, snap.t)
        for event in events[done:]:
            self._event(*event)
        return {
            "partitions": {
                name: part.as_json(self.acked, self.lost_ids) for name, part in self.parts.items()
            },
            "skips": self.skips,
        }

    def _event(self, t: int, kind: str, actor: str, f: dict[str, Any]) -> None:
        if kind == "append":
            base, ids = self.batches[(f["producer"], f["batch"])]
            labels = [f"{f['producer']}#{msg - base}" for msg in ids]
            self.parts[f["part"]].append(t, f["base"], labels, (f["producer"], f["batch"]))
        elif kind == "ack":
            self.acked.setdefault((actor, f["batch"]), t)
        elif kind == "poll":
            for name, first, last in f["records"]:
                self.parts[name].hold(actor, first, last, t)
        elif kind == "processed":
            part = self.parts[f["part"]]
            part.finish(actor, self.group_of[actor], f["first"], f["count"], t)
        elif kind in DROPS_IN_HAND and actor in self.group_of:
            for part in self.parts.values():
                part.drop(actor, t)
        elif kind == "position" and str(f["why"]).endswith(LATEST):
            marks = self.skips.setdefault(self.group_of[actor], {}).setdefault(f["part"], [])
            marks.append([t, f["offset"]])


class _Part:
    """One partition: who occupies each offset of its leader's log, and since when."""

    def __init__(self) -> None:
        self.entries: list[list[Any]] = []  # [offset, id, t_in, t_out, (producer, batch)]
        self.at: dict[int, int] = {}  # offset -> entry index, while in the log
        self.done: list[list[Any]] = []
        self.held: list[list[Any]] = []
        self.holding: dict[tuple[str, int], int] = {}  # (consumer, entry) -> held index
        self.top = 0  # one past the highest offset held

    def append(self, t: int, base: int, labels: list[str], batch: tuple[str, int]) -> None:
        for k, label in enumerate(labels):
            self._leave(base + k, t)
            self.at[base + k] = len(self.entries)
            self.entries.append([base + k, label, t, None, batch])
        self.top = max(self.top, base + len(labels))

    def shrink(self, leo: int, t: int) -> None:
        if leo >= self.top:  # the usual case, at every snapshot: nothing to look at
            return
        for offset in [o for o in self.at if o >= leo]:
            self._leave(offset, t)
        self.top = leo

    def _leave(self, offset: int, t: int) -> None:
        entry = self.at.pop(offset, None)
        if entry is not None:
            self.entries[entry][3] = t

    def hold(self, consumer: str, first: int, last: int, t: int) -> None:
        for offset in range(first, last + 1):
            entry = self.at.get(offset)
            if entry is not None and (consumer, entry) not in self.holding:
                self.holding[(consumer, entry)] = len(self.held)
                self.held.append([entry, consumer, t, None])

    def finish(self, consumer: str, group: str, first: int, count: int, t: int) -> None:
        for offset in range(first, first + count):
            entry = self.at.get(offset)
            if entry is None:
                continue
            self.done.append([entry, group, t])
            held = self.holding.pop((consumer, entry), None)
            if held is not None:
                self.held[held][3] = t

    def drop(self, consumer: str, t: int) -> None:
        for key in [k for k in self.holding if k[0] == consumer]:
            self.held[self.holding.pop(key)][3] = t

    def as_json(self, acked: dict[tuple[str, int], int], lost_ids: set[str]) -> dict[str, Any]:
        entries = [
            [offset, label, t_in, t_out, acked.get(batch), label in lost_ids and t_out is not None]
            for offset, label, t_in, t_out, batch in self.entries
        ]
        return {"entries": entries, "done": self.done, "held": self.held}
