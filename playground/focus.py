"""Which partitions a wide topic's strips and chart show first: where something happens.

A topic of 60 partitions draws 60 strips and 120 chart lines: at 1366x768 the chart started
4,088 px down and an embed was 12,547 px tall. Over `FOCUS_OVER` partitions the player
shows at most `FOCUS_SHOW` of them first, with a label saying which and why and a button
that shows all. The choice is made once, in the worker, from the run (deterministic: only
sorted lists and the run's own order, never a set's), most telling first:

1. partitions with records acknowledged and then lost, duplicated, skipped or expired
   (the ledger's outcomes, `Result.messages` through `derived`);
2. partitions led by a broker that died or was isolated (their leader is elected again:
   KRaft fences it after broker.session.timeout.ms, KIP-631);
3. partitions it followed (an acks=all write waits for every ISR member until the dead
   follower leaves the ISR: `min.insync.replicas`, Kafka's topic config docs);
4. the partitions with the largest lag (their peak over the run).

Nothing of these (no fault, no lag, nothing went wrong): every partition is shown.
"""

from __future__ import annotations

from typing import Any

from playground.derived import EXPIRED
from simcore.report.result import LOST_ACKED, NEVER_PROCESSED

FOCUS_OVER = 8  # a topic with more partitions than this shows a focused subset first
FOCUS_SHOW = 8  # partitions in that subset, at most
FAULT_KINDS = ("broker_down", "broker_isolated")

REASONS = (("trouble", 1), ("led", 2), ("followed", 3), ("lag", 4))  # most telling first


def focus(run: dict[str, Any], faults: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The focused partitions of `run` (names, in the strips' order) and their label, or
    None when every partition is shown anyway. `faults`: the run's broker_down /
    broker_isolated events (from the full history, `fault_events`)."""
    frames = run.get("frames") or []
    if not frames:
        return None
    names = [f"{p['topic']}-{p['partition']}" for p in frames[-1]["partitions"]]
    if len(names) <= FOCUS_OVER:
        return None
    brokers = _fault_brokers(faults)
    candidates = {
        "trouble": _troubled(run.get("messages") or []),
        "led": _replicas_of(frames, faults, leading=True),
        "followed": _replicas_of(frames, faults, leading=False),
        "lag": _by_lag(run),
    }
    chosen: dict[str, str] = {}  # name -> its reason, in the order chosen
    led, followed = candidates["led"], candidates["followed"]
    # led and followed taken in turn: both stall an acks=all write (see the docstring)
    ranked = [(name, "trouble") for name in candidates["trouble"]]
    for k in range(max(len(led), len(followed))):
        ranked += [
            (names_[k], key)
            for names_, key in ((led, "led"), (followed, "followed"))
            if k < len(names_)
        ]
    ranked += [(name, "lag") for name in candidates["lag"]]
    for name, key in ranked:
        if len(chosen) >= FOCUS_SHOW:
            break
        chosen.setdefault(name, key)
    if not chosen:  # nothing stands out (no fault, no lag): every partition
        return None
    shown = [name for name in names if name in chosen]
    sizes = {key: len(set(candidates[key])) for key in candidates}
    return {
        "partitions": shown,
        "total": len(names),
        "label": _label(shown, chosen, sizes, brokers, len(names)),
    }


def _label(
    shown: list[str], chosen: dict[str, str], sizes: dict[str, int], brokers: list[str], total: int
) -> str:
    """E.g. "Showing 8 of 60 partitions: 4 of the 10 that broker-2 led, 4 of the 20 it
    followed"."""
    who = " and ".join(brokers) or "the broker"
    counts = {key: sum(1 for name in shown if chosen[name] == key) for key, _ in REASONS}
    pronoun = "they" if len(brokers) > 1 else "it"
    phrases = {
        "trouble": "with records lost, duplicated, skipped or expired",
        "led": f"that {who} led",
        "followed": f"{pronoun} followed" if counts["led"] else f"that {who} followed",
        "lag": "with the largest lag",
    }
    parts = []
    for key, _reason in REASONS:
        count = counts[key]
        if not count:
            continue
        if key in ("led", "followed"):
            some = f"{count} of the {sizes[key]}" if count < sizes[key] else f"the {count}"
            parts.append(f"{some} {phrases[key]}")
        else:
            parts.append(f"{count} {phrases[key]}")
    return f"Showing {len(shown)} of {total} partitions: " + ", ".join(parts)


def _fault_brokers(faults: list[dict[str, Any]]) -> list[str]:
    out: list[str] = []
    for e in faults:
        if e.get("kind") in FAULT_KINDS and e.get("actor") not in out:
            out.append(str(e.get("actor")))
    return out


def _troubled(messages: list[dict[str, Any]]) -> list[str]:
    """Partitions by how many of their records went wrong, most first (ties: by name)."""
    counts: dict[str, int] = {}
    for m in messages:
        processed = list((m.get("processed") or {}).values())
        wrong = (
            m.get("outcome") in (LOST_ACKED, NEVER_PROCESSED, EXPIRED)
            or len(m.get("offsets") or []) > 1
            or (bool(processed) and max(processed) > 1)
        )
        if wrong and m.get("partition") is not None:
            name = f"{m['topic']}-{m['partition']}"
            counts[name] = counts.get(name, 0) + 1
    return [name for name, _n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def _replicas_of(
    frames: list[dict[str, Any]], faults: list[dict[str, Any]], *, leading: bool
) -> list[str]:
    """The partitions a faulted broker led (or only followed) just before it went away,
    read off the last frame at or before the fault."""
    out: list[str] = []
    for e in faults:
        if e.get("kind") not in FAULT_KINDS:
            continue
        broker = _broker_id(str(e.get("actor")))
        before = [f for f in frames if f["t"] <= e["t"]] or frames[:1]
        for p in before[-1]["partitions"]:
            holders = [r["broker"] for r in p.get("replicas", [])]
            led = p.get("leader") == broker
            if led if leading else (broker in holders and not led):
                name = f"{p['topic']}-{p['partition']}"
                if name not in out:
                    out.append(name)
    return out


def _broker_id(actor: str) -> int | None:
    head, _, number = actor.rpartition("-")
    return int(number) if head == "broker" and number.isdigit() else None


def _by_lag(run: dict[str, Any]) -> list[str]:
    """Partitions by their peak lag over the run (the chart's series, summed over groups),
    the largest first, ties by name; without a series, the lag at the last frame."""
    lag: dict[str, int] = {}
    series = (run.get("series") or {}).get("groups")
    if series:
        totals: dict[str, list[int]] = {}
        for key, values in series.items():
            name = key.split("/", 1)[1]
            points = [int(v or 0) for v in values.get("lag") or []]
            old = totals.get(name, [0] * len(points))
            totals[name] = [a + b for a, b in zip(old, points, strict=True)]
        lag = {name: max(points, default=0) for name, points in totals.items()}
    else:
        for row in run["frames"][-1].get("groups") or []:
            name = f"{row['topic']}-{row['partition']}"
            lag[name] = lag.get(name, 0) + int(row.get("lag") or 0)
    ranked = sorted(lag.items(), key=lambda kv: (-kv[1], kv[0]))
    return [name for name, n in ranked if n > 0]
