"""What a run's page shows that is read off all of its frames, computed once in the worker.

A page shows the run at its end (the player redraws every step in the browser from the
websocket stream): the last frame (cluster, producers, groups, metrics), the last events of
the log, each frame's time (an embed's `?step=`), and the warnings a reader should see
before trusting the headline. Each of these reads every frame, and a heavy built-in has
about 1,000 of them (12 MB decoded), so the worker computes them beside the outcome
(`jobs`) and a page decodes only the run's small blob, never the frames (the "crash
here" page of a scale-out built-in: a full decode was 40-200 ms of the web process).

The warnings: the run ends before a fault's effects have played out (no fencing or
election yet, a rebalance still running), or its headline's loss comes from a default —
records a group skipped because `auto.offset.reset=latest` started it at the end of the
log — rather than from the fault.
"""

from __future__ import annotations

from typing import Any

from simcore import Result, Scenario

# broker.session.timeout.ms, Kafka's default (KIP-631; the controller fences a broker that
# has not heartbeated for this long)
BROKER_SESSION_MS = 9_000
LAST_EVENTS = 200  # the event log shown without JavaScript, and the embed's


def facts(scenario: Scenario, run: dict[str, Any]) -> dict[str, Any]:
    """The page's facts of `run` (with its frames), to be kept in the run's blob."""
    frames = run.get("frames") or []
    return {
        "last_frame": frames[-1] if frames else None,
        "last_events": last_events(frames, LAST_EVENTS),
        "frame_times": [frame["t"] for frame in frames],
        "warnings": run_warnings(scenario, run),
    }


def last_events(frames: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    """The last `limit` events of the run's frames, oldest first."""
    events: list[dict[str, Any]] = []
    for frame in reversed(frames):
        events[:0] = frame["events"]
        if len(events) >= limit:
            break
    return events[-limit:]


def run_warnings(scenario: Scenario, run: dict[str, Any]) -> list[str]:
    """What a reader of this run should know before trusting its headline."""
    if run.get("error") and not run.get("partial"):
        return []
    frames = run.get("frames") or []
    end_ms = int(frames[-1]["t"]) if frames else 0
    end_ms = max(end_ms, scenario.duration_ms)
    faults = run.get("fault_events")
    if faults is None:  # a partial run's data may lack it: the events the frames kept
        faults = _events(frames)
    return (
        _fault_warnings(faults, end_ms)
        + _rebalance_warnings(run, end_ms)
        + _default_loss_warnings(scenario, run)
    )


# The events the broker-fault warnings read (simcore's event kinds: broker/*.py, the
# controller's fencing and elections, KIP-631)
FAULT_KINDS = (
    "broker_down",
    "broker_isolated",
    "broker_fenced",
    "broker_up",
    "broker_reconnected",
    "leader_elected",
    "partition_offline",
)


def fault_events(result: Result) -> list[dict[str, Any]]:
    """Every broker fault, fencing, return and election of the run, from its full timeline.
    The frames keep only their latest events (EVENTS_PER_FRAME, then jobs._trim_events): a
    big run's frames could miss the fencing or the election, and the page would warn that
    the run ends before the failover when it does not."""
    out = []
    for time_ms, kind, actor, fields in result.events:
        if kind not in FAULT_KINDS:
            continue
        event = {"t": time_ms, "kind": kind, "actor": actor}
        if "broker" in fields:
            event["broker"] = fields["broker"]
        if "part" in fields:
            event["part"] = fields["part"]
        out.append(event)
    return out


def _events(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for frame in frames for e in frame.get("events", [])]


def _fault_warnings(events: list[dict[str, Any]], end_ms: int) -> list[str]:
    warnings = []
    for e in events:
        if e.get("kind") not in ("broker_down", "broker_isolated"):
            continue
        broker = e.get("actor", "")
        later = [x for x in events if x["t"] >= e["t"]]
        fenced = any(
            x.get("kind") == "broker_fenced" and f"broker-{x.get('broker')}" == broker
            for x in later
        )
        back = any(
            x.get("kind") in ("broker_up", "broker_reconnected") and x.get("actor") == broker
            for x in later
        )
        elected = any(x.get("kind") in ("leader_elected", "partition_offline") for x in later)
        if not fenced and not back:
            warnings.append(
                f"The run ends at {end_ms} ms, {end_ms - e['t']} ms after {broker} went away at"
                f" {e['t']} ms: before the controller fences it (broker.session.timeout.ms,"
                f" {BROKER_SESSION_MS} ms by default), so no new leader is elected yet."
                " Lengthen duration_ms to see the failover."
            )
        elif fenced and not elected:
            warnings.append(
                f"The run ends at {end_ms} ms, after {broker} was fenced but before a new"
                " leader is elected: lengthen duration_ms to see the failover."
            )
    return warnings


def _rebalance_warnings(run: dict[str, Any], end_ms: int) -> list[str]:
    """A rebalance still running at the end. Read off the summary's rebalance history
    (every rebalance of each group, `Result.consumer_groups`), not off the frames' events: a
    big run's frames carry only their latest events (simcore's EVENTS_PER_FRAME, then
    jobs._trim_events), and the production topic's `rebalance_end` at 6005 ms was left out,
    so its page said a rebalance that had ended was still running."""
    groups = (run.get("summary") or {}).get("consumer_groups")
    open_rebalances: dict[str, int] = {}
    if groups is not None:
        for group, about in groups.items():
            history = (about.get("rebalances") or {}).get("list") or []
            if history and history[-1].get("end_ms") is None:
                open_rebalances[str(group)] = history[-1]["start_ms"]
    else:  # a partial run's summary may lack it: the events the frames kept
        for e in _events(run.get("frames") or []):
            if e.get("kind") == "rebalance_start":
                open_rebalances.setdefault(str(e.get("group")), e["t"])
            elif e.get("kind") == "rebalance_end":
                open_rebalances.pop(str(e.get("group")), None)
    return [
        f"The run ends at {end_ms} ms while group {group}'s rebalance (started at"
        f" {started} ms) is still running: lengthen duration_ms to see the consumers recover."
        for group, started in open_rebalances.items()
    ]


def _default_loss_warnings(scenario: Scenario, run: dict[str, Any]) -> list[str]:
    ledger = run.get("summary", {}).get("ledger", {})
    lost_acked = sum(t.get("lost_acked", 0) for t in ledger.get("topics", {}).values())
    warnings = []
    for group, counts in ledger.get("groups", {}).items():
        skipped = counts.get("skipped", 0)
        if not skipped:
            continue
        members = [c for c in scenario.consumers if c.group == group]
        latest = [c for c in members if c.auto_offset_reset == "latest"]
        if not latest:
            continue
        written = any("auto.offset.reset" in (_written_config(scenario, c.id)) for c in latest)
        origin = "set in this scenario" if written else "Kafka's default, not set in this scenario"
        because = (
            ""
            if lost_acked
            else " No acknowledged record was lost: the fault itself cost nothing here."
        )
        warnings.append(
            f"{skipped:,} of the records counted as lost were skipped by group {group} because of"
            f" auto.offset.reset=latest ({origin}): with no committed offset the consumer"
            f" started at the end of the log, after them — not because of the fault.{because}"
            " Set auto.offset.reset: earliest to see what the fault costs."
        )
    return warnings


def _written_config(scenario: Scenario, consumer_id: str) -> dict[str, Any]:
    for entry in scenario.source.get("consumers", []):
        if isinstance(entry, dict) and entry.get("id") == consumer_id:
            config = entry.get("config") or {}
            return config if isinstance(config, dict) else {}
    return {}
