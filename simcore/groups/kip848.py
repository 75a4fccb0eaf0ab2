"""The consumer group protocol of KIP-848 (``group.protocol=consumer``), coordinator side.

Modelled on apache/kafka ``group-coordinator``: ``GroupMetadataManager.consumerGroupHeartbeat``
and ``modern/consumer/CurrentAssignmentBuilder``. There is one RPC, the heartbeat; no
JoinGroup, no SyncGroup and no group-wide barrier.

- A member joins with member epoch 0 and leaves with -1 (a static member with -2: it
  keeps its assignment until ``group.consumer.session.timeout.ms`` runs out, and a
  restart with the same ``group.instance.id`` takes it back). A join, a leave or an
  expired session bumps the **group epoch**.
- When the group epoch is ahead of the target assignment's epoch, the coordinator runs
  its assignor (``uniform``: simcore.groups.server_assignors) over all members: the **target
  assignment**, stamped with the group epoch.
- Each member is then reconciled on *its own* heartbeats. A member that must give up
  partitions stays at its member epoch with those partitions "pending revocation"
  (UNREVOKED_PARTITIONS) until a heartbeat shows it no longer owns them; a member whose
  new partitions are still owned by someone else takes the target epoch and gets them
  on a later heartbeat once they are released (UNRELEASED_PARTITIONS). Otherwise it is
  STABLE at the target epoch. A partition never has two owners.
- A member that keeps partitions pending revocation longer than its rebalance timeout
  (its ``max.poll.interval.ms``) is fenced and removed.
- OffsetCommit carries the member epoch; a commit from an unknown member is refused
  with UNKNOWN_MEMBER_ID, one with another epoch with STALE_MEMBER_EPOCH.

The group is Empty, Reconciling (some member is not yet STABLE at the target epoch) or
Stable. For the group view a "rebalance" runs from a group epoch bump until the group is
Stable again; ``generation`` is the group epoch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from simcore.groups.rebalances import RebalanceHistory
from simcore.groups.server_assignors import uniform
from simcore.kernel.types import TopicPartition

if TYPE_CHECKING:
    from simcore.kernel.engine import Engine, Timer
    from simcore.kernel.timeline import Timeline

UNKNOWN_MEMBER_ID = "UNKNOWN_MEMBER_ID"
FENCED_MEMBER_EPOCH = "FENCED_MEMBER_EPOCH"
STALE_MEMBER_EPOCH = "STALE_MEMBER_EPOCH"
UNRELEASED_INSTANCE_ID = "UNRELEASED_INSTANCE_ID"
LEAVE_EPOCH = -1
LEAVE_STATIC_EPOCH = -2
STABLE, UNREVOKED, UNRELEASED = "STABLE", "UNREVOKED_PARTITIONS", "UNRELEASED_PARTITIONS"

# (error, member id, member epoch, assigned partitions) — what a heartbeat answers
Answer = tuple[str | None, str | None, int, list[TopicPartition]]


class ModernMember:
    def __init__(
        self,
        member_id: str,
        client_id: str,
        instance_id: str | None,
        topics: tuple[str, ...],
        rebalance_timeout_ms: int,
    ) -> None:
        self.id = member_id
        self.client_id = client_id
        self.instance_id = instance_id
        self.topics = topics
        self.rebalance_timeout_ms = rebalance_timeout_ms
        self.epoch = 0
        self.previous_epoch = -1
        self.state = STABLE
        self.assigned: list[TopicPartition] = []
        self.revoking: list[TopicPartition] = []  # pending revocation: still owned
        self.session_timer: Timer | None = None  # group.consumer.session.timeout.ms
        self.revoke_timer: Timer | None = None  # the rebalance timeout of a revocation
        self.left_static = False  # sent epoch -2: gone for now, assignment kept

    @property
    def assignment(self) -> list[TopicPartition]:
        """Everything the member owns (what --describe shows for it)."""
        return sorted(self.assigned + self.revoking)


class ConsumerGroup:
    """Duck-compatible with simcore.groups.classic.Group where the coordinator, the recorder and
    the playback read a group (state, generation, protocol, members, history,
    owners, commit_error, touch)."""

    def __init__(
        self,
        name: str,
        engine: Engine,
        timeline: Timeline,
        partition_counts: dict[str, int],
        heartbeat_interval_ms: int,
        session_timeout_ms: int,
    ) -> None:
        self.name = name
        self.engine = engine
        self.timeline = timeline
        self.partition_counts = partition_counts
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.session_timeout_ms = session_timeout_ms
        self.state = "Empty"
        self.group_epoch = 0
        self.target_epoch = 0
        self.target: dict[str, list[TopicPartition]] = {}
        self.protocol = "uniform"  # the broker's assignor
        self.members: dict[str, ModernMember] = {}
        self.static: dict[str, str] = {}  # group.instance.id -> member id
        self.history = RebalanceHistory(
            engine,
            timeline,
            name,
            owners=lambda: self.members.values(),
            generation=lambda: self.group_epoch,
            state=lambda: self.state,
        )
        self._next_member = 0
        self.on_empty: Callable[[], None] = lambda: None

    @property
    def generation(self) -> int:
        """What the group view calls the generation: the group epoch."""
        return self.group_epoch

    @generation.setter
    def generation(self, epoch: int) -> None:
        self.group_epoch = epoch

    # -- the heartbeat ----------------------------------------------------------------------

    def heartbeat(
        self,
        member_id: str | None,
        epoch: int,
        client_id: str,
        instance_id: str | None,
        topics: tuple[str, ...],
        rebalance_timeout_ms: int,
        owned: list[TopicPartition] | None,
    ) -> Answer:
        """A ConsumerGroupHeartbeat arrives (now); returns the answer."""
        if epoch == 0:
            joined = self._join(member_id, client_id, instance_id, topics, rebalance_timeout_ms)
            if isinstance(joined, str):
                return (joined, None, 0, [])
            member = joined
        else:
            found = self.members.get(member_id) if member_id is not None else None
            if found is None:
                return (UNKNOWN_MEMBER_ID, None, 0, [])
            member = found
            if epoch in (LEAVE_EPOCH, LEAVE_STATIC_EPOCH):
                self._leave(member, epoch)
                return (None, member.id, epoch, [])
            if not self._epoch_ok(member, epoch, owned):
                return (FENCED_MEMBER_EPOCH, member.id, member.epoch, [])
        self.touch(member)
        if self.group_epoch > self.target_epoch:
            self._compute_target()
        self._reconcile(member, owned)
        self._update_state()
        return (None, member.id, member.epoch, list(member.assigned))

    def _join(
        self,
        member_id: str | None,
        client_id: str,
        instance_id: str | None,
        topics: tuple[str, ...],
        rebalance_timeout_ms: int,
    ) -> ModernMember | str:
        if instance_id is not None and instance_id in self.static:
            old = self.members[self.static[instance_id]]
            if not old.left_static:
                return UNRELEASED_INSTANCE_ID  # the previous instance has not left yet
            # a static member coming back takes over its assignment and epoch, and the
            # group epoch does not move (its subscription is the same)
            del self.members[old.id]
            member = ModernMember(
                self._new_member_id(client_id), client_id, instance_id, topics, rebalance_timeout_ms
            )
            member.epoch, member.previous_epoch = old.epoch, old.previous_epoch
            member.assigned, member.revoking, member.state = old.assigned, old.revoking, old.state
            if old.id in self.target:  # its target assignment moves to the new member id
                self.target[member.id] = self.target.pop(old.id)
            self.members[member.id] = member
            self.static[instance_id] = member.id
            self.timeline.record(
                "static_rejoin",
                "coordinator",
                group=self.name,
                member=client_id,
                generation=self.group_epoch,
            )
            return member
        member = ModernMember(
            self._new_member_id(client_id), client_id, instance_id, topics, rebalance_timeout_ms
        )
        self.members[member.id] = member
        if instance_id is not None:
            self.static[instance_id] = member.id
        self._bump(f"{client_id} joins")
        return member

    def _leave(self, member: ModernMember, epoch: int) -> None:
        if epoch == LEAVE_STATIC_EPOCH and member.instance_id is not None:
            member.left_static = True  # kept (and its partitions) until the session expires
            self.timeline.record(
                "member_left",
                "coordinator",
                group=self.name,
                member=member.client_id,
                reason=f"{member.client_id} left (static: its assignment waits for it)",
            )
            return
        self._remove(member, f"{member.client_id} leaves")
        self.timeline.record(
            "member_left",
            "coordinator",
            group=self.name,
            member=member.client_id,
            reason=f"{member.client_id} left the group",
        )

    def _epoch_ok(
        self, member: ModernMember, epoch: int, owned: list[TopicPartition] | None
    ) -> bool:
        """throwIfMemberEpochIsInvalid: the current epoch, or the previous one when the
        epoch bump did not reach the member and it owns nothing it should not."""
        if epoch == member.epoch:
            return True
        if epoch == member.previous_epoch and owned is not None:
            return set(owned) <= set(member.assigned)
        return False

    def _new_member_id(self, client_id: str) -> str:
        self._next_member += 1
        return f"{client_id}-{self.name}-{self._next_member:04d}"

    def _remove(self, member: ModernMember, cause: str) -> None:
        del self.members[member.id]
        if member.instance_id is not None and self.static.get(member.instance_id) == member.id:
            del self.static[member.instance_id]
        self.target.pop(member.id, None)
        if self.members:
            self._bump(cause)
        self._update_state()

    def _bump(self, cause: str) -> None:
        self.group_epoch += 1
        self.history.open(cause)
        self.timeline.record(
            "group_epoch", "coordinator", group=self.name, epoch=self.group_epoch, cause=cause
        )

    # -- the target assignment and reconciliation -------------------------------------------

    def _compute_target(self) -> None:
        live = sorted(self.members)
        topics = self.members[live[0]].topics if live else ()
        self.target = uniform(live, topics, self.partition_counts, self.target)
        self.target_epoch = self.group_epoch
        self.timeline.record(
            "target_assignment",
            "coordinator",
            group=self.name,
            epoch=self.target_epoch,
            assignment="; ".join(
                f"{self.members[m].client_id}: "
                + (", ".join(f"{t}-{p}" for t, p in tps) or "nothing")
                for m, tps in self.target.items()
            ),
        )

    def _owned_by_other(self, tp: TopicPartition, other_than: ModernMember) -> bool:
        """Is ``tp`` owned (assigned or pending revocation) by another member?"""
        return any(
            tp in m.assigned or tp in m.revoking
            for m in self.members.values()
            if m is not other_than
        )

    def _reconcile(self, member: ModernMember, owned: list[TopicPartition] | None) -> None:
        """CurrentAssignmentBuilder.build()."""
        if member.state == STABLE and member.epoch == self.target_epoch:
            return
        if member.state == UNREVOKED and _still_owns(owned, member.revoking):
            return
        self._next_assignment(member, owned)

    def _next_assignment(self, member: ModernMember, owned: list[TopicPartition] | None) -> None:
        target = set(self.target.get(member.id, []))
        keep = [tp for tp in member.assigned if tp in target]
        revoke = [tp for tp in member.assigned if tp not in target]
        pending = [tp for tp in sorted(target) if tp not in keep]
        unreleased = [
            tp for tp in pending if tp not in member.revoking and self._owned_by_other(tp, member)
        ]
        pending = [tp for tp in pending if tp not in unreleased]
        if revoke and _still_owns(owned, revoke):
            member.state = UNREVOKED
            member.assigned, member.revoking = keep, revoke
            if member.revoke_timer is not None:
                member.revoke_timer.cancel()
            member.revoke_timer = self.engine.timer(
                member.rebalance_timeout_ms, self._revocation_timeout, member
            )
            self.timeline.record(
                "revocation_requested",
                "coordinator",
                group=self.name,
                member=member.client_id,
                partitions=_names(revoke),
                epoch=member.epoch,
            )
            return
        self._set_epoch(member, self.target_epoch)
        member.assigned = sorted(keep + pending)
        member.revoking = []
        member.state = UNRELEASED if unreleased else STABLE

    def _set_epoch(self, member: ModernMember, epoch: int) -> None:
        if epoch != member.epoch:
            member.previous_epoch, member.epoch = member.epoch, epoch

    def _revocation_timeout(self, member: ModernMember) -> None:
        if self.members.get(member.id) is not member or member.state != UNREVOKED:
            return
        self.timeline.record(
            "member_expired",
            "coordinator",
            group=self.name,
            member=member.client_id,
            reason="did not revoke its partitions within the rebalance timeout",
        )
        self._remove(member, f"{member.client_id} did not revoke in time")

    def _update_state(self) -> None:
        if not self.members:
            if self.state != "Empty":
                self.state = "Empty"
                self.history.close()
                self.on_empty()
            return
        settled = self.target_epoch == self.group_epoch and all(
            m.state == STABLE and m.epoch == self.target_epoch for m in self.members.values()
        )
        self.state = "Stable" if settled else "Reconciling"
        if settled:
            self.history.close()

    # -- sessions ---------------------------------------------------------------------------

    def touch(self, member: ModernMember) -> None:
        """A heartbeat: the session timer starts again."""
        if member.session_timer is not None:
            member.session_timer.cancel()
        member.session_timer = self.engine.timer(self.session_timeout_ms, self._expire, member)

    def _expire(self, member: ModernMember) -> None:
        if self.members.get(member.id) is not member:
            return  # it left or was removed meanwhile
        self.timeline.record(
            "member_expired",
            "coordinator",
            group=self.name,
            member=member.client_id,
            session_timeout_ms=self.session_timeout_ms,
        )
        self._remove(member, f"{member.client_id}'s session timed out")

    # -- what the rest of simcore reads -----------------------------------------------------

    def owners(self) -> dict[TopicPartition, ModernMember]:
        """The member the coordinator believes owns each partition (dead ones included until
        their session expires): what kafka-consumer-groups.sh --describe shows."""
        table: dict[TopicPartition, ModernMember] = {}
        for member in self.members.values():
            for tp in member.assigned:
                table.setdefault(tp, member)
            for tp in member.revoking:
                table.setdefault(tp, member)
        return table

    def commit_error(self, member_id: str | None, epoch: int) -> str | None:
        """OffsetMetadataManager.validateOffsetCommit for a consumer group."""
        if member_id is None or epoch < 0:
            return None if self.state == "Empty" else UNKNOWN_MEMBER_ID
        member = self.members.get(member_id)
        if member is None:
            return UNKNOWN_MEMBER_ID
        if epoch != member.epoch:
            return STALE_MEMBER_EPOCH
        return None


def _still_owns(owned: list[TopicPartition] | None, revoking: list[TopicPartition]) -> bool:
    """ownsRevokedPartitions: a heartbeat without its owned partitions counts as owning."""
    return owned is None or any(tp in revoking for tp in owned)


def _names(tps: list[TopicPartition]) -> list[str]:
    return [f"{t}-{p}" for t, p in tps]
