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

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, Final, Protocol

from simcore.consumer.assignors import assign
from simcore.groups.classic import ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID
from simcore.kernel.types import TopicPartition

if TYPE_CHECKING:
    from simcore.broker.cluster import Cluster
    from simcore.groups.classic import Group
    from simcore.groups.coordinator import Coordinator
    from simcore.groups.kip848 import ConsumerGroup
    from simcore.kernel.engine import Engine, TimerGroup
    from simcore.kernel.timeline import Timeline
    from simcore.scenario.spec import ConsumerSpec

COOPERATIVE: Final = ("cooperative-sticky",)
Offsets = dict[TopicPartition, int]


class MembershipClient(Protocol):
    """What a membership needs of its consumer (simcore.consumer.consumer.Consumer)."""

    state: str  # the application's: polling, processing, rebalancing, ...
    life: TimerGroup  # what the process schedules; cancelled when it dies
    last_poll: int  # when the application last called poll()
    stored: Offsets  # librdkafka's offset store

    @property
    def positions(self) -> Offsets:
        """Each partition's position, as a new dict."""

    def later(self, delay: int, handler: Callable[..., object], *args: object) -> None:
        """Schedules work that dies with the consumer's process."""

    def maybe_poll(self) -> None:
        """Runs poll() now if the application is waiting inside it."""

    def wake_idle_poll(self, not_before: int) -> None:
        """An application idle in poll() loops again at or after ``not_before``."""

    def init_positions(self, tps: list[TopicPartition]) -> None:
        """The OffsetFetch for newly assigned partitions is answered."""

    def forget(self, tps: list[TopicPartition]) -> None:
        """Stops consuming ``tps``: positions, fetched records and fetches dropped."""

    def commit_sync(self, offsets: Offsets, then: Callable[[], None], in_rebalance: bool) -> None:
        """commitSync in a rebalance callback (onJoinPrepare, onPartitionsRevoked)."""

    def restart_auto_commit_timer(self) -> None:
        """Java's auto-commit falls due one interval from now."""

    def fail(self, error: str) -> None:
        """The application stops with ``error``."""


class Membership(ABC):
    """A consumer's membership of its group, as its ``group.protocol`` runs it: the
    classic protocol (``ClassicMembership``, below) or KIP-848's
    (``simcore.consumer.membership_kip848.ConsumerProtocolMembership``). Owned by the
    Consumer, which calls ``ensure_group`` first thing in poll(). What both share is
    here: the assignment and its revocation, the heartbeat thread and the poll timer."""

    REVOKE_REASON: ClassVar[str]  # the timeline's reason for a revocation after a join

    def __init__(
        self,
        engine: Engine,
        cluster: Cluster,
        coordinator: Coordinator,
        timeline: Timeline,
        spec: ConsumerSpec,
        client: MembershipClient,
    ) -> None:
        self.engine = engine
        self.cluster = cluster
        self.coordinator = coordinator
        self.timeline = timeline
        self.spec = spec
        self.id = spec.id
        self.group = spec.group
        self.latency = cluster.latency
        self.librdkafka = spec.client == "librdkafka"
        self.client = client
        self.assignment: list[TopicPartition] = []
        self.member: str | None = None  # member id given by the coordinator
        self.generation = -1
        self.rejoin_needed = True
        self.rebalancing = False
        self.protocol: str | None = None
        # the heartbeat thread's current run: its timers and the answers to its requests
        # are dropped when it restarts or pauses (a join, a leave, an error answer)
        self.beats: TimerGroup = client.life.group()
        self._hb_started = 0  # when the heartbeat thread last (re)started: its wake-up phase
        self._pending_assignment: list[TopicPartition] | None = None
        self._blocked = False  # poll() waits for a commit in a rebalance callback
        self.joining = False  # JoinGroup or SyncGroup in flight (Java: not STABLE)

    @property
    def group_state(self) -> Group | ConsumerGroup:
        return self.coordinator.group(self.group)

    # -- what each protocol does its own way -----------------------------------------------------

    @abstractmethod
    def ensure_group(self) -> bool:
        """Called first thing in poll(): True when the consumer may fetch and process."""

    @abstractmethod
    def client_commit_refusal(self, in_rebalance: bool) -> tuple[str, str] | None:
        """(exception, why) when the client fails a commit without sending it."""

    @abstractmethod
    def leave_group(self, reason: str) -> None:
        """The member leaves its group (close, or the poll timer expired)."""

    @property
    @abstractmethod
    def heartbeat_interval_ms(self) -> int:
        """How often the heartbeat thread sends a heartbeat."""

    @abstractmethod
    def _beat(self) -> None:
        """The heartbeat thread's request."""

    @abstractmethod
    def _cooperative(self) -> bool:
        """Whether members keep consuming what they keep through a rebalance."""

    @abstractmethod
    def _auto_commits_revoked(self) -> bool:
        """Whether the auto-commit covers partitions revoked after a join."""

    @abstractmethod
    def _assignment_taken(self, revoked: list[TopicPartition], added: list[TopicPartition]) -> None:
        """The protocol's next step once a new assignment is applied."""

    # -- the process's life ------------------------------------------------------------------------

    def started(self) -> None:
        """The consumer (re)starts: its first poll() joins the group."""
        self.rejoin_needed = True
        self.rebalancing = False

    def drop(self) -> None:
        """The process (or its client) is gone: nothing owned, no member, no heartbeats."""
        for tp in self.assignment:
            self.group_state.history.partition_stopped(tp)
        self.assignment = []
        self.member = None
        self.generation = -1
        self.rebalancing = False
        self._pending_assignment = None
        self._blocked = False
        self.joining = False
        self._new_beats()

    def lost(self, error: str, sent_as: tuple[str | None, int]) -> None:
        """A commit sent as ``sent_as`` (member, generation) was refused: the coordinator
        says this member or generation is gone, so rejoin — unless the refusal was for a
        membership already left behind by a newer join."""
        if sent_as != (self.member, self.generation):
            return
        if error in (UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION):
            self.generation = -1
            if error == UNKNOWN_MEMBER_ID:
                self.member = None
        self.rejoin_needed = True

    # -- revocation and assignment -----------------------------------------------------------------

    def revoke(
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
        positions = self.client.positions
        if self.member is None:
            offsets = {}
        elif self.librdkafka and auto:
            offsets = {tp: o for tp, o in self.client.stored.items() if tp in set(tps)}
        elif commit_all and auto:
            offsets = positions
        elif self.spec.commit_on_revoke or (auto and (commit_all or self._auto_commits_revoked())):
            offsets = {tp: positions[tp] for tp in tps if tp in positions}
        else:
            offsets = {}

        def release() -> None:
            if tps:
                self.timeline.record("revoked", self.id, partitions=_names(tps), why=why)
            self._let_go(tps)
            then()

        if offsets:
            self.client.commit_sync(offsets, then=release, in_rebalance=True)
        else:
            release()

    def _let_go(self, tps: list[TopicPartition]) -> None:
        """Stop consuming ``tps``: positions, fetched records and fetches are dropped."""
        self.client.forget(tps)
        for tp in tps:
            self.group_state.history.partition_stopped(tp)
        self.assignment = [tp for tp in self.assignment if tp not in set(tps)]

    def _apply_assignment(self) -> bool:
        """onPartitionsRevoked for what moves away, then the protocol's next step for the
        new assignment (``_assignment_taken``). False while a blocking commit holds poll()
        up."""
        new, self._pending_assignment = self._pending_assignment or [], None
        # the cluster's own key of each partition (``Partition.tp``): the consumer's dicts
        # are keyed by the objects the fetches and the metadata use, so a lookup finds its
        # key by identity, without comparing the tuples' items
        partitions = self.cluster.partitions
        new = [partitions[tp].tp if tp in partitions else tp for tp in new]
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
                self.client.maybe_poll()

        if revoked:
            self._blocked = True
            self.revoke(revoked, self.REVOKE_REASON, assigned)
        else:
            assigned()
        inline[0] = False
        return done[0]

    def rebalance_done(self) -> None:
        self.rebalancing = False

    # -- heartbeats and the poll timer -------------------------------------------------------------

    def _new_beats(self) -> TimerGroup:
        """The heartbeat thread's work so far is void: what it scheduled, and what answers
        its requests, is dropped; from here on it schedules in a fresh group."""
        self.beats.cancel()
        self.beats = self.client.life.group()
        return self.beats

    def _start_heartbeats(self) -> None:
        self._new_beats()
        self._hb_started = self.engine.now
        self.beats.after(self.heartbeat_interval_ms, self._heartbeat)
        self._watch_poll_timer()

    def _heartbeat(self) -> None:
        """The heartbeat thread's turn: send a heartbeat, plan the next."""
        if self.member is None or self.client.state == "stopped":
            return
        beats = self.beats
        if self._poll_timer_expired():
            return
        self._beat()
        beats.after(self.heartbeat_interval_ms, self._heartbeat)

    def _watch_poll_timer(self) -> None:
        """The heartbeat thread also wakes every ``retry.backoff.ms`` between heartbeats
        and checks the poll timer each time ([J] AbstractCoordinator.HeartbeatThread.run:
        ``wait(retryBackoffMs)``, then ``pollTimeoutExpired``), so an expiry is noticed
        within retry.backoff.ms of the deadline, even when max.poll.interval.ms is shorter
        than heartbeat.interval.ms. Only the wake-up that can find it expired is modelled:
        the first one at or after the current deadline."""
        if self.member is None or self.client.state == "stopped":
            return
        if self._poll_timer_expired():
            return
        deadline = self.client.last_poll + self.spec.max_poll_interval_ms
        if self.client.state in ("polling", "rebalancing", "joining"):  # inside poll()
            deadline = self.engine.now + self.spec.max_poll_interval_ms
        step = max(1, self.spec.retry_backoff_ms)
        wake = (
            self._hb_started
            + -(-(max(deadline, self.engine.now + 1) - self._hb_started) // step) * step
        )
        self.beats.after(wake - self.engine.now, self._watch_poll_timer)

    def _poll_timer_expired(self) -> bool:
        """KIP-62: the heartbeat thread leaves the group once the application has not
        called poll() for max.poll.interval.ms (an app waiting inside poll() is fine)."""
        if self.member is None:
            return False
        busy = self.client.state not in ("polling", "rebalancing", "joining")
        since = self.engine.now - self.client.last_poll
        if not busy or since < self.spec.max_poll_interval_ms:
            return False
        self.timeline.record(
            "poll_timeout",
            self.id,
            max_poll_interval_ms=self.spec.max_poll_interval_ms,
            since_last_poll=since,
        )
        self.leave_group("consumer poll timeout has expired (max.poll.interval.ms)")
        return True


class ClassicMembership(Membership):
    """The classic group protocol on the client (module docstring)."""

    REVOKE_REASON = "moved to another member (cooperative protocol)"

    @property
    def classic(self) -> Group:
        """The group, under the classic protocol (JoinGroup, SyncGroup, Heartbeat)."""
        return self.coordinator.classic_group(self.group)

    def _cooperative(self) -> bool:
        return (self.protocol or self.spec.assignors[0]) in COOPERATIVE

    def _auto_commits_revoked(self) -> bool:
        """Whether the auto-commit covers partitions revoked after a join. Not in Java's
        classic cooperative protocol: onJoinComplete only calls onPartitionsRevoked and
        rejoins ([J] ConsumerCoordinator.onJoinComplete), so what the member consumed since
        onJoinPrepare's commit is re-read by the new owner. librdkafka commits the
        removed partitions' stored offsets when auto-commit is on."""
        return self.librdkafka

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
        return not self.rebalancing or self._cooperative()  # (the protocol only asked mid-way)

    def _begin_rebalance(self) -> None:
        self.rebalancing = True
        self.rejoin_needed = False
        self.client.state = "rebalancing"
        self._new_beats()  # the heartbeat thread pauses while the join is in flight
        revoke = [] if self._cooperative() else list(self.assignment)
        self._blocked = True
        inline = [True]

        def join() -> None:
            self._blocked = False
            self._send_join()
            if not inline[0] and self._cooperative():  # poll() waited for the commit:
                self.client.maybe_poll()  # a cooperative member consumes on during the join

        self.revoke(revoke, "before rejoining (eager protocol)", then=join, commit_all=True)
        inline[0] = False

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
        self.client.state = "rebalancing"
        info: dict[str, Any] = {
            "protocols": list(self.spec.assignors),
            "subscription": tuple(self.spec.topics),
            "owned": list(self.assignment),
            "session_timeout_ms": self.spec.session_timeout_ms,
            "rebalance_timeout_ms": self.spec.max_poll_interval_ms,
        }
        self.timeline.record("join_group", self.id, group=self.group, owned=_names(self.assignment))

        life = self.client.life  # an answer to a process that has died since is dropped

        def respond(*answer: Any) -> None:
            life.after(self.latency, self._on_join, *answer)

        self.engine.after(
            self.latency,
            self.classic.join,
            self.member,
            self.id,
            self.spec.group_instance_id,
            info,
            life.guard(respond),
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

        life = self.client.life

        def respond(error: str | None, assignment: list[TopicPartition]) -> None:
            life.after(self.latency, self._on_sync, error, assignment)

        sync = self.classic.sync
        self.engine.after(self.latency, sync, member, generation, assignments, life.guard(respond))

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
        self.client.maybe_poll()  # applied now if the app sits in poll(), else at its next poll()

    def _assignment_taken(self, revoked: list[TopicPartition], added: list[TopicPartition]) -> None:
        """Classic: the OffsetFetch for what is new; a cooperative member that gave
        something up joins a second round, which hands it over. Java's onJoinComplete
        also reschedules the auto-commit from now ([J] ConsumerCoordinator:
        ``nextAutoCommitTimer.updateAndReset``), so the first poll() after a rebalance
        does not auto-commit."""
        if revoked:
            self.rejoin_needed = True
        if not self.librdkafka and self.spec.enable_auto_commit:
            self.client.restart_auto_commit_timer()
        self.client.later(2 * self.latency, self.client.init_positions, added)  # OffsetFetch

    def _rejoin_later(self, error: str) -> None:
        self.joining = False
        if error in (UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION):
            self.generation = -1
            if error == UNKNOWN_MEMBER_ID:
                self.member = None
        self.rebalancing = False
        self.rejoin_needed = True
        self.client.later(self.spec.retry_backoff_ms, self.client.maybe_poll)

    # -- heartbeats -----------------------------------------------------------------------------

    @property
    def heartbeat_interval_ms(self) -> int:
        """Classic: the client's heartbeat.interval.ms."""
        return self.spec.heartbeat_interval_ms

    def _beat(self) -> None:
        """Classic: a Heartbeat request for this member and generation."""
        member, generation, group = self.member, self.generation, self.classic
        assert member is not None  # _heartbeat runs only for a member
        beats = self.beats  # its answer is dropped once the heartbeat thread moved on

        def beat() -> None:
            error = group.heartbeat(member, generation)
            beats.after(self.latency, self._on_heartbeat, error)

        self.engine.after(self.latency, beat)

    def _on_heartbeat(self, error: str | None) -> None:
        if error is None:
            return
        if error in (UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION):
            self.generation = -1
            if error == UNKNOWN_MEMBER_ID:
                self.member = None
        if not self.rejoin_needed:
            self.timeline.record("rebalance_noticed", self.id, error=error)
        self.rejoin_needed = True
        self._new_beats()
        if self.client.state == "polling":  # idle in poll(): the next loop turn rejoins
            self.client.wake_idle_poll(self.engine.now + 1)

    def leave_group(self, reason: str) -> None:
        """LeaveGroup — except for static members, which just go quiet (KIP-345)."""
        self._new_beats()
        member, group = self.member, self.classic
        if member is not None and self.spec.group_instance_id is None:
            self.engine.after(self.latency, group.leave, member, f"{self.id}: {reason}")
        self.member = None if self.spec.group_instance_id is None else self.member
        self.generation = -1
        self.rejoin_needed = True
        for tp in self.assignment:
            group.history.partition_stopped(tp)


def _names(tps: list[TopicPartition]) -> list[str]:
    return [f"{t}-{p}" for t, p in tps]
