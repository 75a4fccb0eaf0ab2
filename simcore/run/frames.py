"""Snapshots of the state a viewer sees, taken as the run goes.

Small runs get a frame after every event that recorded something (step through
them one by one); large runs get one frame per slice of simulated time, so a
million-record run streams a few thousand frames, never millions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Final, NamedTuple

from simcore.kernel.errors import InvariantViolation
from simcore.kernel.types import TopicPartition
from simcore.run.lag import REFRESH_MS, WINDOW, Commit, partition_status

if TYPE_CHECKING:
    from simcore.broker.cluster import Partition
    from simcore.broker.log import ReplicaLog
    from simcore.producer.producer import Producer
    from simcore.run.simulation import Simulation

# More messages than this make a large run: frames sampled in time, the timeline's
# data-path steps counted (timeline.QUIET_IN_LARGE_RUNS), and the ledger in counts only
# (no per-message rows or stories).
LARGE_RUN_MESSAGES: Final = 5000
PER_EVENT_MAX_FRAMES: Final = 20000
SLICES: Final = 1000


# The recorder builds these per step: tuple.__new__ skips NamedTuple's Python-level __new__
# (a third of the builtins' run time when it did not).
_new = tuple.__new__


class ReplicaState(NamedTuple):
    leo: int
    hw: int
    follows: bool  # a follower fetching from the leader (False: the leader, or offline)


class PartitionState(NamedTuple):
    log_start: int
    leo: int  # the leader's log end offset
    hw: int
    leader: int | None
    leader_epoch: int
    isr: tuple[int, ...]
    replicas: tuple[ReplicaState, ...]
    lso: int  # the last stable offset (the HW unless a transaction is open)


class GroupRow(NamedTuple):
    """One (group, partition) of ``Recorder.group_rows`` at a step."""

    committed: int | None
    position: int | None
    owner: int | None  # index into sim.consumers
    records_lag: int | None  # the owner's records-lag metric (Consumer.records_lag)
    time_lag: int
    status: str  # Burrow-style OK / WARN / ERR / STOP / STALL
    member: tuple[str, int] | None  # the coordinator's owner: (member id, consumer index)


class ConsumerState(NamedTuple):
    state: str
    processing: int | None  # the offset in progress


class BrokerState(NamedTuple):
    alive: bool
    isolated: bool
    fenced: bool


class ProducerState(NamedTuple):
    in_flight: int
    queued: int
    acked: int
    failed: int
    records_sent: int
    requests: int
    request_latency_total: int
    batches_sent: int
    retries_sent: int
    batches_acked: int


class ConsumerCounters(NamedTuple):
    records_consumed: int
    fetches: int
    fetch_latency_total: int
    commits: int
    commit_latency_total: int
    generation: int


class GroupState(NamedTuple):
    state: str
    generation: int
    protocol: str | None
    rebalances: int
    unassigned: tuple[tuple[str, int], ...]  # members without partitions: (id, consumer index)


class Snapshot(NamedTuple):
    """What a viewer sees at one step, in the order of the recorder's lists."""

    t: int
    n_events: int  # the timeline's length when it was taken
    parts: tuple[PartitionState, ...]  # Recorder.parts
    groups: tuple[GroupRow, ...]  # Recorder.group_rows
    consumers: tuple[ConsumerState, ...]  # sim.consumers
    brokers: tuple[BrokerState, ...]
    producers: tuple[ProducerState, ...]  # sim.producers
    counters: tuple[ConsumerCounters, ...]  # sim.consumers
    group_states: tuple[GroupState, ...]  # Recorder.group_names


class RowKey(NamedTuple):
    """A group row's (group, partition), made once for the run's frames (a NamedTuple is an
    object under mypyc, used as a dict key as it is; a fixed-length tuple type is unpacked
    into a C struct, and boxed into a new tuple at every lookup)."""

    group: str
    tp: TopicPartition


class OffsetsKey(NamedTuple):
    """A group row's (group, topic, partition): the coordinator's key for its offsets."""

    group: str
    topic: str
    partition: int


class Recorder:
    def __init__(self, sim: Simulation, check: bool = False) -> None:
        self.sim = sim
        # each partition's state as the last frame showed it, reused while unchanged (most
        # partitions of a wide topic between two frames); test mode (``check``) compares
        # every frame's partitions with states built afresh
        self._last_states: list[PartitionState | None] = [None] * len(sim.cluster.partitions)
        self._check = check
        self.per_event = sim.total_messages <= LARGE_RUN_MESSAGES
        self.slice_ms = max(1, sim.scenario.duration_ms // SLICES)
        self.next_slice = 0
        self.snapshots: list[Snapshot] = []
        self.parts = list(sim.cluster.partitions.values())
        self.group_rows = [
            (group, part)
            for group in sorted({c.group for c in sim.consumers})
            for part in self.parts
            if any(c.group == group and part.topic in c.spec.topics for c in sim.consumers)
        ]
        self.group_names = sorted({c.group for c in sim.consumers})
        # each group row's partition, as its place in ``parts`` (a frame reads its HW there)
        self.group_row_parts = [self.parts.index(part) for _group, part in self.group_rows]
        # each group row's keys, made once: (group, partition) for its owner, status and
        # time stamp, (group, topic, partition) for its committed offsets; and the row the
        # last frame showed, reused while the same (most rows of a wide topic)
        self._row_keys = [
            (RowKey(group, part.tp), OffsetsKey(group, part.topic, part.index))
            for group, part in self.group_rows
        ]
        self._last_rows: list[GroupRow | None] = [None] * len(self.group_rows)
        self.consumer_index = {c.id: k for k, c in enumerate(sim.consumers)}
        # what Burrow sees of each partition: the high watermark every REFRESH_MS (lag.py)
        self.broker_offsets: dict[tuple[str, int], list[int]] = {p.tp: [] for p in self.parts}
        self._statuses: dict[tuple[str, tuple[str, int]], tuple[tuple[int, ...], str]] = {}
        if self.group_rows:
            sim.engine.at(0, self._fetch_broker_offsets)
        self._last_len = 0
        self._stamps: dict[
            tuple[str, tuple[str, int]], tuple[tuple[ReplicaLog, int, int], int]
        ] = {}
        self._take()

    def after_event(self) -> None:
        n = len(self.sim.timeline.events)
        if self.per_event:
            if n > self._last_len:
                self._take()
                if len(self.snapshots) >= PER_EVENT_MAX_FRAMES:
                    self.per_event = False
                    self.next_slice = self.sim.engine.now + self.slice_ms
        elif self.sim.engine.now >= self.next_slice:
            self.on_time()

    def on_time(self) -> int:
        """Slice mode: a frame when simulated time reaches the next slice; returns the
        next one (the engine calls this only then, not after every event)."""
        self._take()
        self.next_slice = (self.sim.engine.now // self.slice_ms + 1) * self.slice_ms
        return self.next_slice

    def final(self) -> None:
        if (
            len(self.sim.timeline.events) > self._last_len
            or self.snapshots[-1].t != self.sim.engine.now
        ):
            self._take()

    def _status(self, key: RowKey, commits: Sequence[Commit], now: int) -> str:
        """lag.partition_status of the group row ``key`` (group, partition), cached: between
        two commits and two fetches of the log ends, only crossing the STOP threshold can
        change it."""
        if not commits:
            return "OK"
        offsets = self.broker_offsets[key.tp]
        first_t = commits[-WINDOW if len(commits) >= WINDOW else 0][0]
        last_t = commits[-1][0]
        seen = (len(commits), len(offsets), now // REFRESH_MS, now - last_t > last_t - first_t)
        cached = self._statuses.get(key)
        if cached is None or cached[0] != seen:
            cached = (seen, partition_status(commits[-WINDOW:], offsets, now))
            self._statuses[key] = cached
        return cached[1]

    def _fetch_broker_offsets(self) -> None:
        for part in self.parts:
            self.broker_offsets[part.tp].append(part.log.hw)
        self.sim.engine.after(REFRESH_MS, self._fetch_broker_offsets)

    def _take(self) -> None:
        sim = self.sim
        owners = {}
        for index, consumer in enumerate(sim.consumers):
            if consumer.state not in ("down", "failed", "not_started"):
                for tp in consumer.membership.assignment:
                    owners[(consumer.group, tp)] = index
        groups = []
        now = sim.engine.now
        coordinator = sim.coordinator
        history, committed_offsets = coordinator.history, coordinator.committed
        states = {name: coordinator.group(name) for name in self.group_names}
        owners_by_group = {name: state.owners() for name, state in states.items()}
        row_keys, last_rows = self._row_keys, self._last_rows
        for k, (group, part) in enumerate(self.group_rows):
            tp = part.tp
            log = part.log
            key, offsets_key = row_keys[k]
            owner = owners.get(key)
            if owner is None:
                position = records_lag = None
            else:
                holder = sim.consumers[owner]
                position, records_lag = holder.position(tp), holder.records_lag(tp)
            committed = committed_offsets.get(offsets_key)
            time_lag = 0
            if committed is not None and committed < log.hw:
                at = max(committed, log.log_start)
                # a record in the log (and its timestamp) stays until the log is truncated
                mark = (log, at, log.truncations)
                cached = self._stamps.get(key)
                if cached is not None and cached[0] == mark:
                    stamp: int | None = cached[1]
                else:
                    stamp = log.timestamp_at(at)
                    if stamp is not None:
                        self._stamps[key] = (mark, stamp)
                time_lag = now - stamp if stamp is not None else 0
            commits = history.get(offsets_key, ())
            status = self._status(key, commits, now)
            member = owners_by_group[group].get(tp)
            described = (member.id, self.consumer_index[member.client_id]) if member else None
            row = last_rows[k]
            if (
                row is None
                or row.committed != committed
                or row.position != position
                or row.owner != owner
                or row.records_lag != records_lag
                or row.time_lag != time_lag
                or row.status != status
                or row.member != described
            ):
                row = last_rows[k] = _new(
                    GroupRow,
                    (committed, position, owner, records_lag, time_lag, status, described),
                )
            groups.append(row)
        network, fenced = sim.cluster.network, sim.cluster.controller.fenced
        consumers, client_index = sim.consumers, self.consumer_index
        self.snapshots.append(
            _new(
                Snapshot,
                (
                    now,
                    len(sim.timeline.events),
                    self._partition_states(),
                    tuple(groups),
                    tuple(
                        [
                            _new(ConsumerState, (c.state, c.current[1] if c.current else None))
                            for c in consumers
                        ]
                    ),
                    tuple(
                        [
                            _new(BrokerState, (alive, b in network.isolated, b in fenced))
                            for b, alive in enumerate(network.alive)
                        ]
                    ),
                    tuple([_producer_state(p) for p in sim.producers]),
                    tuple(
                        [
                            _new(
                                ConsumerCounters,
                                (
                                    c.records_consumed,
                                    c.fetch_count,
                                    c.fetch_latency_total,
                                    c.committer.commit_count,
                                    c.committer.commit_latency_total,
                                    c.membership.generation,
                                ),
                            )
                            for c in consumers
                        ]
                    ),
                    tuple(
                        [
                            _new(
                                GroupState,
                                (
                                    g.state,
                                    g.generation,
                                    g.protocol,
                                    len(g.history.rebalances),
                                    tuple(
                                        [
                                            (m.id, client_index[m.client_id])
                                            for m in g.members.values()
                                            if not m.assignment
                                        ]
                                    ),
                                ),
                            )
                            for g in states.values()
                        ]
                    ),
                ),
            )
        )
        self._last_len = len(sim.timeline.events)

    def _partition_states(self) -> tuple[PartitionState, ...]:
        parts, last = self.parts, self._last_states
        out: list[PartitionState] = []
        for k in range(len(parts)):
            state = last[k] = _shown(parts[k], last[k])
            out.append(state)
        states = tuple(out)
        if self._check:
            for part, state in zip(parts, states, strict=True):
                if state != _partition_state(part):
                    sim = self.sim
                    raise InvariantViolation(
                        sim.scenario.seed,
                        sim.engine.events_run,
                        f"the frame shows {part.name} as {state}, not as it is:"
                        f" {_partition_state(part)}",
                    )
        return states


def _shown(p: Partition, last: PartitionState | None) -> PartitionState:
    """``p``'s state for a frame: ``last``, the one the last frame showed, if nothing in it
    changed (building one takes about 6,000 instructions — four tuples —, comparing a
    fraction of that; between two frames of a wide topic most partitions are unchanged:
    with null keys over 60 partitions, building them was a third of a run)."""
    log = p.log
    if (
        last is None
        or log.leo != last.leo
        or log.hw != last.hw
        or log.log_start != last.log_start
        or p.leader != last.leader
        or p.leader_epoch != last.leader_epoch
        or log.lso != last.lso
    ):
        return _partition_state(p)
    isr, shown_isr = p.isr, last.isr
    replicas, shown = p.replicas, last.replicas
    if len(isr) != len(shown_isr) or len(replicas) != len(shown):
        return _partition_state(p)
    for k in range(len(isr)):
        if isr[k] != shown_isr[k]:
            return _partition_state(p)
    for k, r in enumerate(replicas.values()):
        was = shown[k]
        if r.leo != was.leo or r.hw != was.hw or (r.lead is not None) != was.follows:
            return _partition_state(p)
    return last


def _partition_state(p: Partition) -> PartitionState:
    log = p.log
    return _new(
        PartitionState,
        (
            log.log_start,
            log.leo,
            log.hw,
            p.leader,
            p.leader_epoch,
            tuple(p.isr),
            tuple(
                [_new(ReplicaState, (r.leo, r.hw, r.lead is not None)) for r in p.replicas.values()]
            ),
            log.lso,
        ),
    )


def _producer_state(p: Producer) -> ProducerState:
    sender = p.sender
    return _new(
        ProducerState,
        (
            sum([len(c) for c in sender.connections.values()]),
            sum([len(q) for q in p.queues.values()]),
            p.acked_count,
            p.failed_count,
            sender.records_sent,
            sender.request_count,
            sender.request_latency_total,
            sender.batches_sent,
            sender.retries_sent,
            p.batches_acked,
        ),
    )
