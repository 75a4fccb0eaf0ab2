"""The consumer's side of the KIP-848 consumer group protocol (``group.protocol=consumer``).

Java's AsyncKafkaConsumer ([J] consumer/internals/ConsumerMembershipManager,
ConsumerHeartbeatRequestManager): one RPC, ConsumerGroupHeartbeat, sent by the background
thread every ``group.consumer.heartbeat.interval.ms`` (the broker's setting, 5000 ms; the
client's ``heartbeat.interval.ms`` and ``session.timeout.ms`` do not apply). The member
joins with epoch 0; each answer carries its member epoch and the partitions it should
own. When those differ from what it owns, it reconciles: it commits (auto-commit) and
gives up the partitions it loses (onPartitionsRevoked), takes the new ones
(onPartitionsAssigned, then OffsetFetch) and acknowledges at once with another heartbeat
listing what it owns now. Callbacks run on the application thread inside ``poll()``, so
— as under the classic protocol — a member busy processing gives its partitions up only
at its next ``poll()``. There are no rounds: members that keep their partitions never
stop, and nobody waits for anybody except the previous owner of a partition.

When the application does not call ``poll()`` within ``max.poll.interval.ms`` the member
leaves (epoch -1) and its partitions are lost to it; the next ``poll()`` joins again. A
heartbeat answered UNKNOWN_MEMBER_ID or FENCED_MEMBER_EPOCH loses the partitions
(onPartitionsLost: nothing is committed) and rejoins. ``close()`` commits, revokes and
leaves; a static member (``group.instance.id``) leaves with epoch -2 and the coordinator
keeps its partitions for it until the session times out.

Simplifications: reconciliation waits for ``poll()`` even when the application registered
no rebalance listener (Java can then finish it on the background thread); the
auto-commit before a revocation commits the revoked partitions' positions (Java commits
every consumed position).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from simcore.consumer.membership import Membership, MembershipClient, _names
from simcore.groups.kip848 import (
    FENCED_MEMBER_EPOCH,
    LEAVE_EPOCH,
    LEAVE_STATIC_EPOCH,
    UNKNOWN_MEMBER_ID,
    UNRELEASED_INSTANCE_ID,
    Answer,
)
from simcore.kernel.types import TopicPartition

if TYPE_CHECKING:
    from simcore.broker.cluster import Cluster
    from simcore.groups.coordinator import Coordinator
    from simcore.groups.kip848 import ConsumerGroup
    from simcore.kernel.engine import Engine
    from simcore.kernel.timeline import Timeline
    from simcore.scenario.spec import ConsumerSpec


class ConsumerProtocolMembership(Membership):
    """The KIP-848 consumer protocol on the client (module docstring)."""

    REVOKE_REASON = "the broker's target assignment moves them"

    def __init__(
        self,
        engine: Engine,
        cluster: Cluster,
        coordinator: Coordinator,
        timeline: Timeline,
        spec: ConsumerSpec,
        client: MembershipClient,
    ) -> None:
        super().__init__(engine, cluster, coordinator, timeline, spec, client)
        self._owned_sent: list[TopicPartition] | None = None  # the owned partitions last sent

    @property
    def modern(self) -> ConsumerGroup:
        return self.coordinator.consumer_group(self.group)

    def _cooperative(self) -> bool:
        return True  # members keep consuming what they keep

    def _auto_commits_revoked(self) -> bool:
        return True  # the new consumer auto-commits before a revocation (see the docstring)

    def client_commit_refusal(self, in_rebalance: bool) -> tuple[str, str] | None:
        """None: the new consumer has no client-side generation check. Its
        CommitRequestManager sends the commit with the member epoch it has — none after
        leaving — and the coordinator decides (its partitions were let go on leaving, so
        positions are gone and only an explicit commit can reach it)."""
        return None

    def ensure_group(self) -> bool:
        if self._pending_assignment is not None and not self._apply_assignment():
            return False  # a blocking commit in onPartitionsRevoked is under way
        if self.rejoin_needed and not self.rebalancing:
            self._send_join()
        return not self._blocked

    # -- heartbeats ------------------------------------------------------------------------------

    def _send_join(self) -> None:
        self.rebalancing = True  # until the first answer
        self.rejoin_needed = False
        self.member = None if self.spec.group_instance_id is None else self.member
        self.generation = 0
        self.timeline.record("join_heartbeat", self.id, group=self.group)
        self._new_beats()
        self._send_heartbeat(0, [])

    def _send_heartbeat(self, epoch: int, owned: list[TopicPartition] | None) -> None:
        """``owned`` goes out only when it differs from the last one sent (as Java's
        heartbeat state does); otherwise the field is null, which the coordinator reads
        as "still owns what it had"."""
        if epoch > 0 and owned is not None:
            if owned == self._owned_sent:
                owned = None
            else:
                self._owned_sent = list(owned)
        elif epoch == 0:
            self._owned_sent = []
        group, beats = self.modern, self.beats  # its answer dies with a newer join, leave or ack
        args = (
            self.member,
            epoch,
            self.id,
            self.spec.group_instance_id,
            tuple(self.spec.topics),
            self.spec.max_poll_interval_ms,
            None if owned is None else list(owned),
        )

        def arrive() -> None:
            answer = group.heartbeat(*args)
            if epoch >= 0:
                beats.after(self.latency, self._on_answer, answer)

        self.engine.after(self.latency, arrive)

    @property
    def heartbeat_interval_ms(self) -> int:
        """The broker's group.consumer.heartbeat.interval.ms (it tells the members)."""
        return self.modern.heartbeat_interval_ms

    def _beat(self) -> None:
        self._send_heartbeat(self.generation, self.assignment)

    def _acknowledge(self) -> None:
        """Right after reconciling: a heartbeat listing what the member owns now (the
        interval timer restarts from here)."""
        if self.member is None:
            return
        self._start_heartbeats()
        self._owned_sent = None  # an acknowledgement always carries the owned partitions
        self._send_heartbeat(self.generation, self.assignment)

    def _on_answer(self, answer: Answer) -> None:
        error, member_id, epoch, assigned = answer
        if error in (UNKNOWN_MEMBER_ID, FENCED_MEMBER_EPOCH):
            self._fenced(error)
            return
        if error == UNRELEASED_INSTANCE_ID:
            self.client.fail(
                "UnreleasedInstanceIdException: the previous instance with this"
                f" group.instance.id ({self.spec.group_instance_id}) has not left the group"
            )
            return
        joined = self.rebalancing
        self.member, self.generation, self.rebalancing = member_id, epoch, False
        if joined:
            self._start_heartbeats()
        if sorted(assigned) != sorted(self.assignment):
            self._pending_assignment = sorted(assigned)
            self.client.maybe_poll()  # applied now if the app sits in poll(), else at its next
        else:  # the newest answer wins: one not yet applied is void (it may hand out
            self._pending_assignment = None  # a partition the coordinator gave elsewhere)

    # -- reconciling ------------------------------------------------------------------------------

    def _assignment_taken(self, revoked: list[TopicPartition], added: list[TopicPartition]) -> None:
        """onPartitionsAssigned and the OffsetFetch for what is new, then the
        acknowledging heartbeat."""
        if added:
            self.client.later(2 * self.latency, self.client.init_positions, added)  # OffsetFetch
        self._acknowledge()

    def _fenced(self, error: str) -> None:
        """onPartitionsLost: drop everything without committing, then rejoin."""
        lost = list(self.assignment)
        self.timeline.record("partitions_lost", self.id, partitions=_names(lost), error=error)
        self._let_go(lost)
        self._pending_assignment = None
        self.member = None
        self.generation = -1
        self._new_beats()
        self.rebalancing = False
        self.rejoin_needed = True
        if self.client.state == "polling":  # idle in poll(): the next loop turn rejoins
            self.client.wake_idle_poll(self.engine.now + 1)

    def leave_group(self, reason: str) -> None:
        """A heartbeat with epoch -1 (-2 for a static member); what is still owned is lost
        to this member (a poll-timeout leave: the app may still be processing it)."""
        if self.member is not None:
            static = self.spec.group_instance_id is not None
            epoch = LEAVE_STATIC_EPOCH if static else LEAVE_EPOCH
            self._send_heartbeat(epoch, None)
            self.timeline.record(
                "leave_group", self.id, group=self.group, epoch=epoch, reason=reason
            )
        self._new_beats()
        self._let_go(list(self.assignment))
        self._pending_assignment = None
        self.member = None if self.spec.group_instance_id is None else self.member
        self.generation = -1
        self.rejoin_needed = True
