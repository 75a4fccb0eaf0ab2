"""The group coordinator's offset store (``__consumer_offsets``) and commit faults.

A commit stores whatever offsets it carries, in arrival order: the broker does not
refuse an offset lower than the one already committed, which is why a retried
older ``commitAsync`` can overwrite a newer commit ([J] GroupMetadataManager.storeOffsets;
KafkaConsumer javadoc on commitAsync ordering).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from simcore.groups.classic import Group
from simcore.groups.kip848 import ConsumerGroup
from simcore.kernel.types import TopicPartition
from simcore.scenario.spec import CommitFail, CommitFault, CommitTimeout, FaultSpec

if TYPE_CHECKING:
    from simcore.kernel.engine import Engine, Timer
    from simcore.kernel.timeline import Timeline

COORDINATOR_NOT_AVAILABLE = "COORDINATOR_NOT_AVAILABLE"  # retriable
UNKNOWN_MEMBER_ID = "UNKNOWN_MEMBER_ID"  # not retriable: CommitFailedException


@dataclass
class ConsumerProtocolSettings:
    """Groups under group.protocol=consumer and the broker's group.consumer.* settings."""

    groups: frozenset[str] = frozenset()
    partition_counts: dict[str, int] = field(default_factory=dict)
    heartbeat_interval_ms: int = 5000  # group.consumer.heartbeat.interval.ms
    session_timeout_ms: int = 45_000  # group.consumer.session.timeout.ms


class _ArmedCommitFault:
    """A commit fault of the scenario, and how many more commits it affects."""

    def __init__(self, spec: CommitFault) -> None:
        self.spec = spec
        self.remaining = spec.count


class Coordinator:
    def __init__(
        self,
        engine: Engine,
        timeline: Timeline,
        hw_of: Callable[[TopicPartition], int],  # a partition's high watermark (for lag)
        faults: tuple[FaultSpec, ...],
        initial_delay_ms: int = 3000,
        offsets_retention_minutes: int = 10080,
        consumer_protocol: ConsumerProtocolSettings | None = None,
        offsets_retention_check_interval_ms: int = 600_000,
    ) -> None:
        self.engine = engine
        self.timeline = timeline
        self.initial_delay_ms = initial_delay_ms
        self.consumer_protocol = consumer_protocol or ConsumerProtocolSettings()
        self.offsets_retention_ms = offsets_retention_minutes * 60_000
        self.offsets_check_interval_ms = offsets_retention_check_interval_ms
        self._expiry_timers: dict[str, Timer] = {}  # an Empty group's next offsets clean-up
        self._empty_since: dict[str, int] = {}
        self.groups: dict[str, Group | ConsumerGroup] = {}
        self.committed: dict[tuple[str, str, int], int] = {}
        # (group, topic, partition) -> [(time, committed offset, lag then)], for lag status
        self.history: dict[tuple[str, str, int], list[tuple[int, int, int]]] = {}
        self.hw_of = hw_of
        self._faults = [
            _ArmedCommitFault(f) for f in faults if isinstance(f, (CommitFail, CommitTimeout))
        ]
        self._stalled: set[str] = set()  # members whose connection hangs after a lost commit
        # (group, producer id) -> offsets committed inside a transaction still open
        self._pending_txn: dict[tuple[str, int], dict[TopicPartition, int]] = {}

    def committed_offset(self, group: str, tp: tuple[str, int]) -> int | None:
        return self.committed.get((group, tp[0], tp[1]))

    def group(self, name: str) -> Group | ConsumerGroup:
        if name not in self.groups:
            settings = self.consumer_protocol
            group: Group | ConsumerGroup
            if name in settings.groups:
                group = ConsumerGroup(
                    name,
                    self.engine,
                    self.timeline,
                    settings.partition_counts,
                    settings.heartbeat_interval_ms,
                    settings.session_timeout_ms,
                )
            else:
                group = Group(name, self.engine, self.timeline, self.initial_delay_ms)
            group.on_empty = lambda: self._group_emptied(group)
            self.groups[name] = group
        return self.groups[name]

    def classic_group(self, name: str) -> Group:
        group = self.group(name)
        assert isinstance(group, Group), f"{name} uses group.protocol=consumer"
        return group

    def consumer_group(self, name: str) -> ConsumerGroup:
        group = self.group(name)
        assert isinstance(group, ConsumerGroup), f"{name} uses group.protocol=classic"
        return group

    def _group_emptied(self, group: Group | ConsumerGroup) -> None:
        """offsets.retention.minutes (KIP-211): an Empty group's committed offsets expire at
        the coordinator's first clean-up once the retention has passed. The clean-up runs
        every ``offsets.retention.check.interval.ms`` from the moment the coordinator loaded
        (here: the run's start) ([J] GroupCoordinatorShard.cleanupGroupMetadata and
        scheduleGroupMetadataExpiration). The retention counts from the moment a classic
        group became Empty; for a group.protocol=consumer group, from each offset's commit
        ([J] ClassicGroup / ConsumerGroup.offsetExpirationCondition;
        OffsetExpirationConditionImpl: ``now - base >= retention``)."""
        old = self._expiry_timers.pop(group.name, None)
        if old is not None:
            old.cancel()
        self._empty_since[group.name] = self.engine.now
        self._schedule_expiry(group)

    def _expiry_base(self, group: Group | ConsumerGroup, key: tuple[str, str, int]) -> int:
        if isinstance(group, ConsumerGroup):
            return self.history[key][-1][0]  # the offset's commit time
        return self._empty_since[group.name]

    def _group_keys(self, group: Group | ConsumerGroup) -> list[tuple[str, str, int]]:
        return sorted(k for k in self.committed if k[0] == group.name)

    def _schedule_expiry(self, group: Group | ConsumerGroup) -> None:
        keys = self._group_keys(group)
        if not keys:
            return
        due = min(self._expiry_base(group, k) for k in keys) + self.offsets_retention_ms
        interval = self.offsets_check_interval_ms
        cleanup = max(1, -(-due // interval)) * interval  # the first clean-up at or after due
        self._expiry_timers[group.name] = self.engine.timer(
            cleanup - self.engine.now, self._expire_offsets, group
        )

    def _expire_offsets(self, group: Group | ConsumerGroup) -> None:
        if group.state != "Empty":
            return
        now = self.engine.now
        keys = [
            k
            for k in self._group_keys(group)
            if now - self._expiry_base(group, k) >= self.offsets_retention_ms
        ]
        for key in keys:
            del self.committed[key]
        if keys:
            self.timeline.record(
                "offsets_expired",
                "coordinator",
                group=group.name,
                partitions=[f"{t}-{p}" for _g, t, p in keys],
            )
        self._schedule_expiry(group)  # offsets committed later expire later

    def commit(
        self,
        member: str,
        group: str,
        offsets: dict[TopicPartition, int],
        respond: Callable[[str | None], None],
        member_id: str | None = None,
        generation: int = -1,
    ) -> None:
        """An OffsetCommit request arrives (now). Faults from the scenario apply first,
        then the group's generation check (a commit from a member that was removed, or
        from an older generation, is refused)."""
        if member in self._stalled:
            return  # queued behind the lost request on the same connection: never answered
        fault = self._matching_fault(member)
        if fault is not None:
            fault.remaining -= 1
            spec = fault.spec
            if isinstance(spec, CommitTimeout):
                self.timeline.record(
                    "commit_lost",
                    "coordinator",
                    member=member,
                    offsets=_fmt(offsets),
                    injected=True,
                )
                self._stalled.add(member)
                return  # no answer: the client's request.timeout.ms runs out
            error = COORDINATOR_NOT_AVAILABLE if spec.retriable else UNKNOWN_MEMBER_ID
            self.timeline.record(
                "commit_rejected",
                "coordinator",
                member=member,
                offsets=_fmt(offsets),
                error=error,
                injected=True,
            )
            respond(error)
            return
        state = self.group(group)
        refused = state.commit_error(member_id, generation)
        if refused is not None:
            self.timeline.record(
                "commit_refused", "coordinator", member=member, offsets=_fmt(offsets), error=refused
            )
            respond(refused)
            return
        if isinstance(state, Group) and member_id is not None and member_id in state.members:
            state.touch(state.members[member_id])  # a sign of life (classic doCommitOffsets)
        for tp, offset in sorted(offsets.items()):
            topic, partition = tp
            self.committed[(group, topic, partition)] = offset
            lag = max(0, self.hw_of(tp) - offset)
            self.history.setdefault((group, topic, partition), []).append(
                (self.engine.now, offset, lag)
            )
        self.timeline.record(
            "commit_stored", "coordinator", member=member, group=group, offsets=_fmt(offsets)
        )
        respond(None)

    # -- offsets inside transactions (KIP-98, KIP-447) -----------------------------------

    def txn_offset_commit(
        self,
        group: str,
        producer_id: int,
        offsets: dict[TopicPartition, int],
        member_id: str | None,
        generation: int,
    ) -> str | None:
        """TxnOffsetCommit: the offsets wait, pending, for the transaction's end. The
        consumer group metadata sent with them is checked like a commit's (KIP-447: a
        producer for a member of an older generation is refused, ILLEGAL_GENERATION or
        UNKNOWN_MEMBER_ID; [J] GroupCoordinator.handleTxnCommitOffsets)."""
        refused = self.group(group).commit_error(member_id, generation)
        if refused is not None:
            self.timeline.record(
                "commit_refused",
                "coordinator",
                member=f"producer {producer_id}",
                offsets=_fmt(offsets),
                error=refused,
            )
            return refused
        pending = self._pending_txn.setdefault((group, producer_id), {})
        pending.update(offsets)
        return None

    def complete_txn(self, producer_id: int, commit: bool) -> None:
        """The transaction's marker reached ``__consumer_offsets``: its pending offsets are
        committed, or dropped ([J] GroupMetadataManager.handleTxnCompletion)."""
        for key in sorted(k for k in self._pending_txn if k[1] == producer_id):
            offsets = self._pending_txn.pop(key)
            if not commit:
                continue
            group = key[0]
            for tp, offset in sorted(offsets.items()):
                topic, partition = tp
                self.committed[(group, topic, partition)] = offset
                lag = max(0, self.hw_of(tp) - offset)
                self.history.setdefault((group, topic, partition), []).append(
                    (self.engine.now, offset, lag)
                )
            self.timeline.record(
                "commit_stored",
                "coordinator",
                member=f"producer {producer_id}",
                group=group,
                offsets=_fmt(offsets),
            )

    def unstable(self, group: str, tps: list[TopicPartition]) -> bool:
        """Does a transaction still hold offsets of the group for any of ``tps``?"""
        wanted = set(tps)
        return any(
            key[0] == group and wanted & set(offsets) for key, offsets in self._pending_txn.items()
        )

    def disconnect(self, member: str) -> None:
        """The client closed its connection after a request timeout."""
        self._stalled.discard(member)

    def _matching_fault(self, member: str) -> _ArmedCommitFault | None:
        for fault in self._faults:
            at = fault.spec.at_ms or 0
            if fault.remaining > 0 and fault.spec.target == member and self.engine.now >= at:
                return fault
        return None


def _fmt(offsets: dict[TopicPartition, int]) -> list[list[str | int]]:
    """Committed offsets as data: [partition, offset] each, in partition order (narrative.py
    writes them as "orders-0@5")."""
    return [[f"{t}-{p}", o] for (t, p), o in sorted(offsets.items())]
