"""The consumer's side of the classic group protocol: join, sync, heartbeat, leave.

Java ([J] consumer/internals/AbstractCoordinator, ConsumerCoordinator; KIP-62,
KIP-345, KIP-429): a background thread heart-beats every ``heartbeat.interval.ms``;
when the coordinator answers REBALANCE_IN_PROGRESS the *application thread* rejoins
at its next ``poll()`` — so a consumer busy processing holds the whole group up. If
the application does not call ``poll()`` within ``max.poll.interval.ms`` the
heartbeat thread leaves the group for it. Before rejoining, ``poll()`` commits
synchronously when auto-commit is on (onJoinPrepare) and, with the eager protocol,
revokes every partition (onPartitionsRevoked); with the cooperative protocol only the
partitions that move are revoked, after the first rebalance, and the consumer joins
a second time so they can be handed over. The group leader computes the assignment
on the client (the assignor) and returns it through SyncGroup.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from simcore.consumer.assignors import assign
from simcore.groups.classic import ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID
from simcore.kernel.types import TopicPartition

if TYPE_CHECKING:
    from simcore.broker.cluster import Cluster
    from simcore.consumer.consumer import Chunk
    from simcore.groups.classic import Group
    from simcore.groups.coordinator import Coordinator
    from simcore.groups.kip848 import ConsumerGroup
    from simcore.kernel.engine import Engine
    from simcore.kernel.timeline import Timeline
    from simcore.scenario.spec import ConsumerSpec

COOPERATIVE = ("cooperative-sticky",)


class Membership:
    """Mixed into Consumer (after Committer).

    Consumer sets the attributes declared here and implements the methods stubbed here
    (commit_sync: Committer); the stubs only declare them, the real methods override
    them."""

    engine: Engine
    cluster: Cluster
    coordinator: Coordinator
    timeline: Timeline
    spec: ConsumerSpec
    id: str
    group: str
    state: str
    assignment: list[TopicPartition]
    positions: dict[TopicPartition, int]
    stored: dict[TopicPartition, int]
    buffers: dict[TopicPartition, deque[Chunk]]
    fetching: dict[TopicPartition, int]
    paused: set[TopicPartition]
    _next_auto_commit: int
    incarnation: int

    @property
    def latency(self) -> int:
        raise NotImplementedError

    @property
    def librdkafka(self) -> bool:
        raise NotImplementedError

    def later(self, delay: int, handler: Callable[..., object], *args: object) -> None:
        raise NotImplementedError

    def poll(self) -> None:
        raise NotImplementedError

    def wake_idle_poll(self, not_before: int) -> None:
        raise NotImplementedError

    def _init_positions(self, tps: list[TopicPartition]) -> None:
        raise NotImplementedError

    def commit_sync(
        self,
        offsets: dict[TopicPartition, int],
        then: Callable[[], None],
        in_rebalance: bool = False,
    ) -> None:
        raise NotImplementedError

    def _init_membership(self) -> None:
        self.member: str | None = None  # member id given by the coordinator
        self.generation = -1
        self.rejoin_needed = True
        self.rebalancing = False
        self.protocol: str | None = None
        self.last_poll = 0
        self._hb_token = 0
        self._hb_started = 0  # when the heartbeat thread last (re)started: its wake-up phase
        self._pending_assignment: list[TopicPartition] | None = None
        self._blocked = False  # poll() waits for a commit in a rebalance callback
        self.joining = False  # JoinGroup or SyncGroup in flight (Java: not STABLE)

    @property
    def group_state(self) -> Group | ConsumerGroup:
        return self.coordinator.group(self.group)

    @property
    def classic(self) -> Group:
        """The group, under the classic protocol (JoinGroup, SyncGroup, Heartbeat)."""
        return self.coordinator.classic_group(self.group)

    def _cooperative(self) -> bool:
        return (self.protocol or self.spec.assignors[0]) in COOPERATIVE

    # -- joining ---------------------------------------------------------------------------------

    def ensure_group(self) -> bool:
        """Called first thing in poll(): True when the consumer may fetch and process.

        A new assignment is applied here, on the application thread, as the Java client
        runs its rebalance callbacks inside poll(). With the eager protocol nothing is
        owned during a rebalance, so poll() has nothing to return; a cooperative member
        keeps consuming the partitions it keeps (KIP-429)."""
        if self._pending_assignment is not None and not self._apply_assignment():
            return False  # a blocking commit in onPartitionsRevoked is under way
        if self.rejoin_needed and not self.rebalancing:
            self._begin_rebalance()
        if self._blocked:
            return False
        return self._cooperative() or not self.rebalancing

    def _begin_rebalance(self) -> None:
        self.rebalancing = True
        self.rejoin_needed = False
        self.state = "rebalancing"
        self._hb_token += 1  # the heartbeat thread pauses while the join is in flight
        revoke = [] if self._cooperative() else list(self.assignment)
        self._blocked = True
        inline = [True]

        def join() -> None:
            self._blocked = False
            self._send_join()
            if not inline[0] and self._cooperative():  # poll() waited for the commit:
                self.maybe_poll()  # a cooperative member consumes on during the join

        self._revoke(revoke, "before rejoining (eager protocol)", then=join, commit_all=True)
        inline[0] = False

    def _auto_commits_revoked(self) -> bool:
        """Whether the auto-commit covers partitions revoked after a join. Not in Java's
        classic cooperative protocol: onJoinComplete only calls onPartitionsRevoked and
        rejoins ([J] ConsumerCoordinator.onJoinComplete), so what the member consumed since
        onJoinPrepare's commit is re-read by the new owner. librdkafka commits the
        removed partitions' stored offsets when auto-commit is on."""
        return self.librdkafka

    def _revoke(
        self,
        tps: list[TopicPartition],
        why: str,
        then: Callable[[], None],
        *,
        commit_all: bool = False,
    ) -> None:
        """onJoinPrepare / onPartitionsRevoked: commit what the app would, then let go.

        ``commit_all``: Java's onJoinPrepare auto-commits every consumed position, eager
        or cooperative, and sends JoinGroup only once that commit is done
        ([J] ConsumerCoordinator.onJoinPrepare, maybeAutoCommitOffsetsAsync); close()
        commits them all too (maybeAutoCommitOffsetsSync)."""
        auto = self.spec.enable_auto_commit
        if self.member is None:
            offsets = {}
        elif self.librdkafka and auto:
            offsets = {tp: o for tp, o in self.stored.items() if tp in set(tps)}
        elif commit_all and auto:
            offsets = dict(self.positions)
        elif self.spec.commit_on_revoke or (auto and (commit_all or self._auto_commits_revoked())):
            offsets = {tp: self.positions[tp] for tp in tps if tp in self.positions}
        else:
            offsets = {}

        def release() -> None:
            if tps:
                self.timeline.record("revoked", self.id, partitions=_names(tps), why=why)
            self._let_go(tps)
            then()

        if offsets:
            self.commit_sync(offsets, then=release, in_rebalance=True)
        else:
            release()

    def _let_go(self, tps: list[TopicPartition]) -> None:
        """Stop consuming ``tps``: positions, fetched records and fetches are dropped."""
        for tp in tps:
            self.positions.pop(tp, None)
            self.buffers.pop(tp, None)
            self.fetching.pop(tp, None)
            self.paused.discard(tp)  # a revoked partition forgets its pause, as in Java
            self.group_state.partition_stopped(tp)
        self.assignment = [tp for tp in self.assignment if tp not in set(tps)]

    def client_commit_refusal(self, in_rebalance: bool) -> tuple[str, str] | None:
        """(exception, why) when the client fails a commit without sending it.

        Java ([J] ConsumerCoordinator.sendOffsetCommitRequest, generationIfStable): a group
        member commits only in a stable generation. After it left the group (poll timeout,
        a heartbeat answered UNKNOWN_MEMBER_ID) the commit throws CommitFailedException —
        so a consumer too slow for max.poll.interval.ms redoes the same batch for ever;
        while its JoinGroup/SyncGroup is in flight, RebalanceInProgressException.
        librdkafka ([R] rdkafka_cgrp.c rd_kafka_cgrp_offsets_commit, the
        max.poll.interval.ms timer): leaving the group marks the assignment lost, and a
        commit of it fails with _ASSIGNMENT_LOST (the auto-commit timer skips it); a
        commit during a join goes out with the current generation."""
        if self.generation == -1:
            if self.librdkafka:
                return ("KafkaException(_ASSIGNMENT_LOST)", "the assignment was lost")
            return (
                "CommitFailedException",
                "the consumer is not part of an active group: it was kicked out of it",
            )
        if self.joining and not in_rebalance and not self.librdkafka:
            return ("RebalanceInProgressException", "the consumer is rejoining its group")
        return None

    def _send_join(self) -> None:
        self.joining = True
        self.state = "rebalancing"
        info: dict[str, Any] = {
            "protocols": list(self.spec.assignors),
            "subscription": tuple(self.spec.topics),
            "owned": list(self.assignment),
            "session_timeout_ms": self.spec.session_timeout_ms,
            "rebalance_timeout_ms": self.spec.max_poll_interval_ms,
        }
        self.timeline.record("join_group", self.id, group=self.group, owned=_names(self.assignment))

        incarnation = self.incarnation  # an answer to a crashed incarnation is dropped

        def respond(*answer: Any) -> None:
            if incarnation == self.incarnation:
                self.later(self.latency, self._on_join, *answer)

        self.engine.after(
            self.latency,
            self.classic.join,
            self.member,
            self.id,
            self.spec.group_instance_id,
            info,
            respond,
        )

    def _on_join(
        self,
        error: str | None,
        generation: int,
        member: str,
        leader: str,
        protocol: str,
        subscriptions: dict[str, dict[str, Any]] | None,
    ) -> None:
        if error is not None:
            self._rejoin_later(error)
            return
        self.member, self.generation, self.protocol = member, generation, protocol
        assignments: dict[str, list[TopicPartition]] | None = None
        if subscriptions is not None:
            assignments = self._leader_assign(protocol, subscriptions)

        incarnation = self.incarnation

        def respond(error: str | None, assignment: list[TopicPartition]) -> None:
            if incarnation == self.incarnation:
                self.later(self.latency, self._on_sync, error, assignment)

        self.engine.after(self.latency, self.classic.sync, member, generation, assignments, respond)

    def _leader_assign(
        self, protocol: str, subscriptions: dict[str, dict[str, Any]]
    ) -> dict[str, list[TopicPartition]]:
        """The group leader runs the assignor (client side, as in the classic protocol)."""
        subs = {m: list(info["subscription"]) for m, info in subscriptions.items()}
        owned = {m: list(info["owned"]) for m, info in subscriptions.items()}
        result = assign(
            protocol, subs, self.cluster.partition_counts, current=owned, client=self.spec.client
        )
        if protocol in COOPERATIVE:
            # KIP-429: a partition that changes owner is first only revoked; it is handed
            # to its new owner in the follow-up rebalance
            owner = {tp: m for m, tps in owned.items() for tp in tps}
            result = {m: [tp for tp in tps if owner.get(tp, m) == m] for m, tps in result.items()}
        return result

    def _on_sync(self, error: str | None, assignment: list[TopicPartition]) -> None:
        self.joining = False
        if error is not None:
            self._rejoin_later(error)
            return
        self._start_heartbeats()
        self._pending_assignment = sorted(assignment)
        self.maybe_poll()  # applied now if the app sits in poll(), else at its next poll()

    REVOKE_REASON = "moved to another member (cooperative protocol)"

    def _apply_assignment(self) -> bool:
        """onPartitionsRevoked for what moves away, then the protocol's next step for the
        new assignment (``_assignment_taken``). False while a blocking commit holds poll()
        up."""
        new, self._pending_assignment = self._pending_assignment or [], None
        revoked = [tp for tp in self.assignment if tp not in new]
        added = [tp for tp in new if tp not in self.assignment]
        self.timeline.record(
            "assigned",
            self.id,
            partitions=_names(new),
            generation=self.generation,
            added=_names(added),
            revoked=_names(revoked),
        )
        done, inline = [False], [True]

        def assigned() -> None:
            self.assignment = new
            self._blocked = False
            done[0] = True
            self._assignment_taken(revoked, added)
            if not inline[0]:  # the commit finished later: poll() was waiting for it
                self.maybe_poll()

        if revoked:
            self._blocked = True
            self._revoke(revoked, self.REVOKE_REASON, assigned)
        else:
            assigned()
        inline[0] = False
        return done[0]

    def _assignment_taken(self, revoked: list[TopicPartition], added: list[TopicPartition]) -> None:
        """Classic: the OffsetFetch for what is new; a cooperative member that gave
        something up joins a second round, which hands it over. Java's onJoinComplete
        also reschedules the auto-commit from now ([J] ConsumerCoordinator:
        ``nextAutoCommitTimer.updateAndReset``), so the first poll() after a rebalance
        does not auto-commit."""
        if revoked:
            self.rejoin_needed = True
        if not self.librdkafka and self.spec.enable_auto_commit:
            self._next_auto_commit = self.engine.now + self.spec.auto_commit_interval_ms
        self.later(2 * self.latency, self._init_positions, added)  # OffsetFetch

    def maybe_poll(self) -> None:
        """Run poll() now if the application is waiting inside it (not while it works)."""
        if self.state in ("polling", "rebalancing", "joining"):
            self.poll()

    def _rejoin_later(self, error: str) -> None:
        self.joining = False
        if error in (UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION):
            self.generation = -1
            if error == UNKNOWN_MEMBER_ID:
                self.member = None
        self.rebalancing = False
        self.rejoin_needed = True
        self.later(self.spec.retry_backoff_ms, self.maybe_poll)

    def rebalance_done(self) -> None:
        self.rebalancing = False

    # -- heartbeats and the poll timer -------------------------------------------------------------

    @property
    def heartbeat_interval_ms(self) -> int:
        """Classic: the client's heartbeat.interval.ms."""
        return self.spec.heartbeat_interval_ms

    def _start_heartbeats(self) -> None:
        self._hb_token += 1
        self._hb_started = self.engine.now
        self.later(self.heartbeat_interval_ms, self._heartbeat, self._hb_token)
        self._watch_poll_timer(self._hb_token)

    def _heartbeat(self, token: int) -> None:
        """The heartbeat thread's turn: send a heartbeat, plan the next."""
        if token != self._hb_token or self.member is None or self.state == "stopped":
            return
        if self._poll_timer_expired(token):
            return
        self._beat(token)
        self.later(self.heartbeat_interval_ms, self._heartbeat, token)

    def _watch_poll_timer(self, token: int) -> None:
        """The heartbeat thread also wakes every ``retry.backoff.ms`` between heartbeats
        and checks the poll timer each time ([J] AbstractCoordinator.HeartbeatThread.run:
        ``wait(retryBackoffMs)``, then ``pollTimeoutExpired``), so an expiry is noticed
        within retry.backoff.ms of the deadline, even when max.poll.interval.ms is shorter
        than heartbeat.interval.ms. Only the wake-up that can find it expired is modelled:
        the first one at or after the current deadline."""
        if token != self._hb_token or self.member is None or self.state == "stopped":
            return
        if self._poll_timer_expired(token):
            return
        deadline = self.last_poll + self.spec.max_poll_interval_ms
        if self.state in ("polling", "rebalancing", "joining"):  # inside poll(): no expiry
            deadline = self.engine.now + self.spec.max_poll_interval_ms
        step = max(1, self.spec.retry_backoff_ms)
        wake = (
            self._hb_started
            + -(-(max(deadline, self.engine.now + 1) - self._hb_started) // step) * step
        )
        self.later(wake - self.engine.now, self._watch_poll_timer, token)

    def _beat(self, token: int) -> None:
        """Classic: a Heartbeat request for this member and generation."""
        member, generation, group = self.member, self.generation, self.classic
        assert member is not None  # _heartbeat runs only for a member

        def beat() -> None:
            error = group.heartbeat(member, generation)
            self.later(self.latency, self._on_heartbeat, token, error)

        self.engine.after(self.latency, beat)

    def _poll_timer_expired(self, token: int) -> bool:
        """KIP-62: the heartbeat thread leaves the group once the application has not
        called poll() for max.poll.interval.ms (an app waiting inside poll() is fine)."""
        if token != self._hb_token or self.member is None:
            return False
        busy = self.state not in ("polling", "rebalancing", "joining")
        if not busy or self.engine.now - self.last_poll < self.spec.max_poll_interval_ms:
            return False
        self.timeline.record(
            "poll_timeout",
            self.id,
            max_poll_interval_ms=self.spec.max_poll_interval_ms,
            since_last_poll=self.engine.now - self.last_poll,
        )
        self.leave_group("consumer poll timeout has expired (max.poll.interval.ms)")
        return True

    def _on_heartbeat(self, token: int, error: str | None) -> None:
        if token != self._hb_token or error is None:
            return
        if error in (UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION):
            self.generation = -1
            if error == UNKNOWN_MEMBER_ID:
                self.member = None
        if not self.rejoin_needed:
            self.timeline.record("rebalance_noticed", self.id, error=error)
        self.rejoin_needed = True
        self._hb_token += 1
        if self.state == "polling":  # idle in poll(): the next loop turn rejoins
            self.wake_idle_poll(self.engine.now + 1)

    def leave_group(self, reason: str) -> None:
        """LeaveGroup — except for static members, which just go quiet (KIP-345)."""
        self._hb_token += 1
        member, group = self.member, self.classic
        if member is not None and self.spec.group_instance_id is None:
            self.engine.after(self.latency, group.leave, member, f"{self.id}: {reason}")
        self.member = None if self.spec.group_instance_id is None else self.member
        self.generation = -1
        self.rejoin_needed = True
        for tp in self.assignment:
            group.partition_stopped(tp)


def _names(tps: list[TopicPartition]) -> list[str]:
    return [f"{t}-{p}" for t, p in tps]
