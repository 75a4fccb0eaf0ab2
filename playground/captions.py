"""Narration: a caption at each step that matters, read off a finished run's timeline.

The moments a viewer must not miss: a commit that moves a group's offset past a record
still being processed (the auto-commit trap), a consumer crash (and what becomes of the
records it held), a rebalance, an election that leaves acknowledged records out of the
log, an `auto.offset.reset`, retention deleting records a group has not read. Each
caption is `{"t", "kind", "text"}` (the player shows it from the first frame at or after
`t`); simcore's narrative gives the sentence of the event, this module the consequence,
read from `fates` (small runs) and the commits in the timeline. Capped at MAX_CAPTIONS,
rebalances first to go.
"""

from __future__ import annotations

from typing import Any

from simcore import Result
from simcore.report.narrative import describe

MAX_CAPTIONS = 40
PER_KIND = 6  # a churning group would narrate nothing but rebalances


def captions(result: Result, fates: dict[str, Any] | None) -> list[dict[str, Any]]:
    return _Narrator(result, fates).run()


def _sentence(text: str) -> str:
    return text + "."  # ids (c1, broker-0) start many: no capital


def _span(offsets: list[int]) -> str:
    offsets = sorted(offsets)
    if len(offsets) == 1:
        return f"offset {offsets[0]}"
    if offsets == list(range(offsets[0], offsets[-1] + 1)):
        return f"offsets {offsets[0]}–{offsets[-1]}"
    return "offsets " + ", ".join(map(str, offsets[:6])) + (" …" if len(offsets) > 6 else "")


class _Narrator:
    def __init__(self, result: Result, fates: dict[str, Any] | None) -> None:
        self.result = result
        self.parts = (fates or {}).get("partitions") or {}
        self.group_of = {c.id: c.group for c in result.sim.consumers}
        self.committed: dict[tuple[str, str], int] = {}  # (group, partition) -> offset
        self.out: list[dict[str, Any]] = []
        self.expired: set[tuple[str, str]] = set()  # (group, partition) already narrated
        self.expired_offsets: dict[tuple[str, str], int] = {}  # committed before expiry
        self.open_rebalance: dict[str, dict[str, Any]] = {}  # group -> its rebalance's caption

    def run(self) -> list[dict[str, Any]]:
        for t, kind, actor, f in self.result.events:
            handler = getattr(self, f"_{kind}", None)
            if handler is not None:
                handler(t, actor, f)
        return self.out[:MAX_CAPTIONS]

    def _say(self, t: int, kind: str, text: str) -> None:
        last = self.out[-1] if self.out else None
        if last and last["t"] == t and last["kind"] == kind:
            if kind != "rebalance":  # one rebalance per moment is enough
                last["text"] += f" {text}"
            return
        if sum(c["kind"] == kind for c in self.out) >= PER_KIND:
            return
        self.out.append({"t": t, "kind": kind, "text": text})

    # -- what records are where, from the fates ---------------------------------------------

    def _held(self, consumer: str, t: int, part: str | None = None) -> dict[str, list[int]]:
        """Offsets each partition's records `consumer` holds (polled, unfinished) at `t`."""
        out: dict[str, list[int]] = {}
        for name, data in self.parts.items():
            if part is not None and name != part:
                continue
            entries = data["entries"]
            for entry, who, start, end in data["held"]:
                if who == consumer and start <= t and (end is None or end >= t):
                    out.setdefault(name, []).append(entries[entry][0])
        return out

    def _done_by(self, group: str, part: str, offset: int, t: int) -> bool:
        data = self.parts[part]
        entries = data["entries"]
        return any(
            g == group and when <= t and entries[e][0] == offset for e, g, when in data["done"]
        )

    # -- the moments ------------------------------------------------------------------------------

    def _commit_stored(self, t: int, _actor: str, f: dict[str, Any]) -> None:
        group = f["group"]
        member = f.get("member", "")
        for part, offset in f["offsets"]:
            before = self.committed.get((group, part))
            self.committed[(group, part)] = offset
            if part not in self.parts or (before is not None and offset <= before):
                continue
            unfinished = [
                o
                for consumer, g in self.group_of.items()
                if g == group
                for o in self._held(consumer, t, part).get(part, [])
                if o < offset and not self._done_by(group, part, o, t)
            ]
            if unfinished:
                self._say(
                    t,
                    "commit-ahead",
                    f"{group} commits offset {offset} on {part} while {member or 'a member'} "
                    f"is still processing {_span(unfinished)}: the committed offset says "
                    f"“done” for a record that is not. If {member or 'it'} crashes now, "
                    "nobody will read it again.",
                )

    def _crash(self, t: int, actor: str, f: dict[str, Any]) -> None:
        group = self.group_of.get(actor)
        held = self._held(actor, t) if group else {}
        text = _sentence(describe("crash", actor, f))
        for part, offsets in sorted(held.items()):
            committed = self.committed.get((group or "", part))
            offsets = [o for o in offsets if not self._done_by(group or "", part, o, t)]
            skipped = [o for o in offsets if committed is not None and o < committed]
            again = [o for o in offsets if o not in skipped]
            if skipped:
                text += (
                    f" It held {part} {_span(skipped)}, unprocessed, below {group}'s committed "
                    f"offset {committed}: lost to {group} — the next owner starts at {committed}."
                )
            if again:
                them = "them" if len(again) > 1 else "it"
                text += (
                    f" It held {part} {_span(again)}, at or above the committed offset: "
                    f"the next owner reads {them} again."
                )
        self._say(t, "crash", text)

    def _rebalance_start(self, t: int, actor: str, f: dict[str, Any]) -> None:
        self._say(
            t,
            "rebalance",
            _sentence(describe("rebalance_start", actor, f))
            + " Until it ends, the partitions it moves are not processed.",
        )
        # the caption stays on the stage until the next one: it gets the rebalance's end
        # (`until`), and the stage says the rebalance ended instead of "until it ends" for
        # ever (a group's rebalances never overlap: simcore/groups/rebalances.py `open`)
        last = self.out[-1] if self.out else None
        # ("group" already set: another group's caption, said at the same moment)
        if last and last["t"] == t and last["kind"] == "rebalance" and "group" not in last:
            last["group"] = str(f.get("group"))
            self.open_rebalance[last["group"]] = last

    def _rebalance_end(self, t: int, actor: str, f: dict[str, Any]) -> None:
        caption = self.open_rebalance.pop(str(f.get("group")), None)
        if caption is not None:
            caption["until"] = t

    def _leader_elected(self, t: int, actor: str, f: dict[str, Any]) -> None:
        data = self.parts.get(f["part"])
        gone = []
        if data:
            gone = [e for e in data["entries"] if e[5] and e[3] is not None and t <= e[3] <= t]
        if not gone and not f["unclean"]:
            return
        text = _sentence(describe("leader_elected", actor, f))
        if gone:
            ids = ", ".join(e[1] for e in gone[:8]) + (" …" if len(gone) > 8 else "")
            text += (
                f" The new leader never had {_span([e[0] for e in gone])} ({ids}): "
                f"{len(gone)} acknowledged record{'s' if len(gone) != 1 else ''} "
                "leave the log, and the producer is never told."
            )
        self._say(t, "election", text)

    def _position(self, t: int, actor: str, f: dict[str, Any]) -> None:
        """A reset that skips records (latest), or one after the group had committed
        (its offsets expired): a group's first start at earliest is not news."""
        why = str(f["why"])
        if "auto.offset.reset" not in why:
            return
        group = self.group_of.get(actor, "")
        had = self.expired_offsets.pop((group, f["part"]), None)
        skips = why.endswith("latest") and f["offset"] > 0
        if not skips and had is None:
            return
        text = _sentence(describe("position", actor, f))
        if had is not None:
            text += f" {group} had committed {had} before its offsets expired."
        self._say(t, "reset", text)

    def _offsets_expired(self, _t: int, _actor: str, f: dict[str, Any]) -> None:
        for key in [k for k in self.committed if k[0] == f["group"]]:
            self.expired_offsets[key] = self.committed.pop(key)

    def _segments_deleted(self, t: int, actor: str, f: dict[str, Any]) -> None:
        unread = {
            group: offset
            for (group, part), offset in self.committed.items()
            if part == f["part"] and offset < f["log_start"] and (group, part) not in self.expired
        }
        if not unread:
            return
        self.expired.update((group, f["part"]) for group in unread)
        text = _sentence(describe("segments_deleted", actor, f))
        for group, offset in sorted(unread.items()):
            text += (
                f" {group} had committed only up to {offset}: offsets {offset}–"
                f"{f['log_start'] - 1} expire before it reads them."
            )
        self._say(t, "expiry", text)
