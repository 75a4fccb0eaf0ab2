"""Replication: the leader's bookkeeping, follower fetching, the ISR and the HW.

Followers replicate the way real followers do ([D] design.html "Replication";
[J] core ReplicaManager / Partition): a follower fetches at its LEO; the leader
answers with new batches or parks the fetch until it has some, and learns the
follower's LEO from its *next* fetch — so the HW moves one fetch round after the
append. A follower has one replica fetcher per leader ([J] ReplicaFetcherThread,
AbstractFetcherThread; num.replica.fetchers = 1): one request at a time carries every
partition it follows from that leader, and is parked and answered as one. The HW is
the smallest LEO in the ISR and, since Kafka 3.7 (KAFKA-15583),
does not advance while the ISR is smaller than min.insync.replicas.

A follower is out of sync when its LEO differs from the leader's and it has not
been caught up for ``replica.lag.time.max.ms`` — caught up meaning that a fetch
reached the leader's LEO of that moment or of the follower's previous fetch; the
leader checks every half of that (the isr-expiration task) and shrinks the ISR
through the controller (AlterPartition),
so a leader cut off from the controller cannot change its ISR. A follower rejoins
once it has fetched up to the leader's HW within the current leader epoch.

Before fetching from a new leader a follower asks it for the end of its own latest
epoch (OffsetsForLeaderEpoch, KIP-101 / KIP-279) and truncates there, so replicas
never silently diverge.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from simcore.broker.log import Batch, ReplicaLog, within_fetch_limit

if TYPE_CHECKING:
    from simcore.broker.cluster import BatchAnswer, Cluster, Partition
    from simcore.broker.fetch_requests import ConsumerFetch
    from simcore.kernel.engine import Timer, TimerGroup

FetchAnswer = tuple["Member", list[Batch], int]  # partition, batches, the leader's HW

_NONE: Final[list[Batch]] = []  # an answer without batches (never modified)
FOLLOWER_FETCH_BACKOFF_MS: Final = 1000  # replica.fetch.backoff.ms
NOT_ENOUGH_REPLICAS_AFTER_APPEND: Final = "NOT_ENOUGH_REPLICAS_AFTER_APPEND"
NOT_LEADER_OR_FOLLOWER: Final = "NOT_LEADER_OR_FOLLOWER"


class FollowerState:
    """What the leader knows of one follower ([J] core Replica's ReplicaState): its log end
    offset as its last fetch said, when it was last caught up (lastCaughtUpTimeMs), and
    the leader's LEO and the time at that fetch (lastFetchLeaderLogEndOffset,
    lastFetchTimeMs). An object per follower, not three dicts keyed by broker: each fetch
    updates these fields in place, where dicts boxed every int and made a tuple."""

    __slots__ = ("caught_up", "fetch_at", "fetch_leo", "leo")

    def __init__(self, now: int) -> None:
        self.leo = 0
        self.caught_up = now
        self.fetch_leo = 0
        self.fetch_at = now


KEPT_BATCHES: Final = 5  # ProducerStateEntry.NUM_BATCHES_TO_RETAIN


class ProducerEntry:
    """An idempotent producer id's state at a leader ([S] storage ProducerStateEntry): its
    producer epoch and its last ``KEPT_BATCHES`` batches in the log (their sequences and base
    offsets: a retry of one of them is a duplicate, answered with its offset), the newest
    also as ``last``."""

    __slots__ = ("count", "epoch", "last", "ring")

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch
        self.last: Batch | None = None
        self.ring: list[Batch | None] = [None] * KEPT_BATCHES
        self.count = 0  # batches added

    def add(self, batch: Batch) -> None:
        self.ring[self.count % KEPT_BATCHES] = batch
        self.count += 1
        self.last = batch

    def kept(self) -> list[Batch]:
        return [batch for batch in self.ring if batch is not None]


class LeaderState:
    """What a replica keeps while it believes it is the leader of its partition."""

    def __init__(self, me: int, epoch: int, isr: list[int], followers: list[int], now: int):
        self.me = me
        self.epoch = epoch
        self.isr = list(isr)
        self.followers = {b: FollowerState(now) for b in followers}
        # follower -> its fetch parked here (DelayedFetch), answered after the next
        # append (of a whole request)
        self.parked: dict[int, FollowerFetch] = {}
        # (end offset, its answer, base offset) of each acks=all batch (or marker) waiting
        # for the HW, in offset order (this and ``produce_waits`` are lists: they hold a
        # few at a time, and mypyc indexes and pops a list natively, a deque by name)
        self.ack_waiters: list[tuple[int, BatchAnswer, int]] = []
        self.fetch_waiters: list[ConsumerFetch] = []  # consumer fetches parked here
        self.producers: dict[int, ProducerEntry] = {}  # idempotent producers, by id
        # acks=all produces waiting for the ISR, in arrival order, for their request
        # timeout (Kafka's DelayedProduce), and the one expiry check pending, aimed at
        # the earliest deadline
        self.produce_waits: list[BatchAnswer] = []
        self.produce_timer: Timer | None = None
        self.produce_due = 0
        self.max_hw = 0
        # the followers' states of ``isr`` (the leader left out), as of the ISR list they
        # were taken from: ``isr`` is replaced, never changed in place, so a new list means
        # a new ISR (the HW is computed at every follower fetch; a list beats dict lookups)
        self.isr_followers: list[FollowerState] = []
        self.isr_seen: list[int] | None = None


class Member:
    """A partition in a replica fetcher: the follower's and the leader's replica of it,
    and the leader epoch the follower knows. ``active`` turns False when the partition
    leaves the fetcher (a new leader, a stop), which drops it from answers on the way."""

    __slots__ = ("active", "epoch", "isr_seen", "isr_state", "leader_log", "log", "part")

    def __init__(self, part: Partition, log: ReplicaLog, leader_log: ReplicaLog) -> None:
        self.part = part
        self.log = log
        self.leader_log = leader_log
        self.epoch = log.epoch
        self.active = True
        # the leader's state of this follower while it is in the ISR (None: it is not),
        # as of the leader's ISR list ``isr_seen`` (a list is replaced, never changed)
        self.isr_seen: list[int] | None = None
        self.isr_state: FollowerState | None = None


class FollowerFetch:
    """One FetchRequest of a replica fetcher, for every partition of its session, each
    at the follower's LEO. Parked at the leader as one DelayedFetch when none of them has
    new data."""

    __slots__ = ("done", "members", "session")

    def __init__(self, session: FetchSession, members: list[Member]) -> None:
        self.session = session
        self.members = members
        self.done = False


class FetchSession:
    """A follower's replica fetcher for one leader ([J] core ReplicaFetcherThread,
    AbstractFetcherThread; ``num.replica.fetchers`` = 1): one FetchRequest at a time for
    all the partitions the follower fetches from that leader (an incremental KIP-227
    session, whose partition set the event log shows as ``fetch_session``). The answer
    comes back as one response, so a slow follower link delays every partition of it."""

    __slots__ = ("changed", "expiry_pending", "follower", "in_flight", "leader", "members",
                 "parked", "parked_at", "shown")  # fmt: skip

    def __init__(self, follower: int, leader: int) -> None:
        self.follower = follower
        self.leader = leader
        self.members: dict[str, Member] = {}  # by partition name, in the order they joined
        self.in_flight = False
        self.parked: FollowerFetch | None = None  # the request parked at the leader
        self.parked_at = 0
        self.expiry_pending = False  # a replica.fetch.wait.max.ms timer is running
        self.shown: list[str] = []  # the partitions the event log last showed
        self.changed = False  # partitions joined or left since the last request


class Replication:
    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.engine = cluster.engine
        self.network = cluster.network
        self.timeline = cluster.timeline
        self.broker_spec = cluster.broker_spec
        # (partition, follower) -> its follower loop's scheduled steps, cancelled together
        # when the loop restarts or stops
        self._steps: dict[tuple[str, int], TimerGroup] = {}
        # (follower, leader) -> its replica fetcher; (partition, follower) -> the session
        # the partition is in, and its membership there
        self.sessions: dict[tuple[int, int], FetchSession] = {}
        self._session_of: dict[tuple[str, int], tuple[FetchSession, Member]] = {}
        # the handlers of each fetch's two hops, bound once (a method named at each call
        # is a new bound-method object: two per follower fetch)
        self._at_leader = self._fetch_at_leader
        self._at_follower = self._follower_receive

    # -- follower side ---------------------------------------------------------------------

    def follow(self, part: Partition, follower: int) -> None:
        """Start (or restart) a follower's loop: truncate by leader epoch, then fetch."""
        self._cancel_steps(part, follower)
        self._leave_session(part, follower)
        self._truncate_then_fetch(part, follower)

    def stop_following(self, part: Partition, broker: int) -> None:
        self._cancel_steps(part, broker)
        self._leave_session(part, broker)

    def _cancel_steps(self, part: Partition, follower: int) -> None:
        steps = self._steps.pop((part.name, follower), None)
        if steps is not None:
            steps.cancel()

    def _later(
        self,
        delay_ms: int,
        step: Callable[[Partition, int], None],
        part: Partition,
        follower: int,
    ) -> None:
        """A step of the follower loop, dropped if the loop restarts or stops before it."""
        key = (part.name, follower)
        steps = self._steps.get(key)
        if steps is None:
            steps = self._steps[key] = self.engine.group()
        steps.after(delay_ms, step, part, follower)

    def _leave_session(self, part: Partition, follower: int) -> None:
        found = self._session_of.pop((part.name, follower), None)
        if found is not None:
            session, member = found
            member.active = False
            del session.members[part.name]
            session.changed = True

    def _live(self, part: Partition, follower: int) -> bool:
        return self.network.alive[follower] and part.replicas[follower].lead is None

    def _truncate_then_fetch(self, part: Partition, follower: int) -> None:
        if not self._live(part, follower):
            return
        replica = part.replicas[follower]
        leader = replica.leader
        if leader is None:
            return
        if not self.network.brokers_connected(follower, leader):
            self._later(FOLLOWER_FETCH_BACKOFF_MS, self._truncate_then_fetch, part, follower)
            return
        self._later(2 * self.network.latency, self._truncate, part, follower)

    def _truncate(self, part: Partition, follower: int) -> None:
        """OffsetsForLeaderEpoch round trip done: cut the log where the epochs diverge."""
        if not self._live(part, follower):
            return
        replica = part.replicas[follower]
        leader_log = part.replicas[replica.leader]  # type: ignore[index]
        if leader_log.lead is None or leader_log.lead.epoch != replica.epoch:
            self._later(FOLLOWER_FETCH_BACKOFF_MS, self._truncate_then_fetch, part, follower)
            return
        epoch, end = leader_log.end_offset_for_epoch(replica.latest_epoch())
        if epoch < replica.latest_epoch():  # KIP-279: also cut at our own end of that epoch
            end = min(end, replica.end_offset_for_epoch(epoch)[1])
        if end < replica.leo:
            removed = replica.truncate_to(end)
            self.timeline.record(
                "truncate",
                f"broker-{follower}",
                part=part.name,
                offset=end,
                removed=sum(b.count for b in removed),
            )
        self._join(part, follower)

    def _join(self, part: Partition, follower: int) -> None:
        """The partition joins the follower's fetcher for its leader (AbstractFetcherThread
        .addPartitions). A request already on its way does not carry it: the next one does
        — the fetcher sends it once the current answer is in (or, if none is out, once
        the other partitions joining at this moment have joined: a new leader's followers
        add all of its partitions at once, [J] ReplicaManager.makeFollowers)."""
        if not self._live(part, follower):
            return
        leader = part.replicas[follower].leader
        if leader is None:
            return
        if not self.network.brokers_connected(follower, leader):
            self._later(FOLLOWER_FETCH_BACKOFF_MS, self._join, part, follower)
            return
        session = self.sessions.get((follower, leader))
        if session is None:
            session = self.sessions[(follower, leader)] = FetchSession(follower, leader)
        self._leave_session(part, follower)
        replica = part.replicas[follower]
        member = Member(part, replica, part.replicas[leader])
        session.members[part.name] = member
        session.changed = True
        self._session_of[(part.name, follower)] = (session, member)
        if not session.in_flight:
            session.in_flight = True  # reserved: the request goes out at the end of this ms
            self.engine.after(0, self._send_session, session)

    def _send_session(self, session: FetchSession) -> None:
        """One FetchRequest for every partition of the session (each at the follower's
        LEO, which only this fetcher moves, so the leader reads it off the follower's
        log when the request arrives)."""
        follower, leader = session.follower, session.leader
        if not session.members or not self.network.alive[follower]:
            session.in_flight = False
            return  # a dead broker's partitions rejoin through follow() when it is back
        if not self.network.brokers_connected(follower, leader):
            session.in_flight = True
            self.engine.after(FOLLOWER_FETCH_BACKOFF_MS, self._send_session, session)
            return
        if session.changed:
            session.changed = False
            shown = list(session.members)
            if shown != session.shown:
                session.shown = shown
                self.timeline.record(
                    "fetch_session", f"broker-{follower}", leader=leader, partitions=shown
                )
        session.in_flight = True
        request = FollowerFetch(session, list(session.members.values()))
        self.engine.after(self.network.latency, self._at_leader, request)

    def _fetch_at_leader(self, request: FollowerFetch) -> None:
        """At the leader ([J] ReplicaManager.fetchMessages): each partition's fetch offset
        tells the leader the follower's LEO (ISR, HW). A partition it no longer leads in
        that epoch gets an error and backs off (replica.fetch.backoff.ms); if any other
        has data the request is answered now, else it is parked (DelayedFetch, one per
        request) until an append to one of its partitions or replica.fetch.wait.max.ms."""
        session = request.session
        follower = session.follower
        if not self.network.brokers_connected(follower, session.leader):
            self.engine.after(FOLLOWER_FETCH_BACKOFF_MS, self._send_session, session)
            return
        kept: list[Member] = []
        data = False
        now = self.engine.now
        for member in request.members:
            if not member.active:
                continue
            leader_log = member.leader_log
            lead = leader_log.lead
            if lead is None or lead.epoch != member.epoch:
                part = member.part
                self._leave_session(part, follower)
                self._later(FOLLOWER_FETCH_BACKOFF_MS, self._join, part, follower)
                continue
            offset = member.log.leo
            leo = leader_log.leo
            isr = lead.isr
            if member.isr_seen is isr:
                state = member.isr_state
            else:
                state = lead.followers[follower] if follower in isr else None
                member.isr_seen, member.isr_state = isr, state
            if state is None:  # not in the ISR
                self._note_follower(member.part, leader_log, follower, offset)
            else:  # an in-sync follower (_note_follower without the ISR expansion)
                if offset >= leo:
                    state.caught_up = now
                elif offset >= state.fetch_leo and state.caught_up < state.fetch_at:
                    state.caught_up = state.fetch_at
                state.fetch_leo = leo
                state.fetch_at = now
                if offset != state.leo:
                    state.leo = offset
                    if offset > leader_log.hw:  # (at or below it, the HW cannot move)
                        self.update_hw(member.part, leader_log)
            kept.append(member)
            if leo > offset:
                data = True
        request.members = kept
        if data or not kept:
            self._answer(request)
            return
        for member in kept:
            lead = member.leader_log.lead
            assert lead is not None  # (kept: led in the member's epoch; a typed access
            lead.parked[follower] = request  # is a native one, an ignored one generic)
        session.parked = request
        session.parked_at = self.engine.now
        if not session.expiry_pending:  # one timer per session, not one per park
            session.expiry_pending = True
            wait = self.broker_spec.replica_fetch_wait_max_ms
            self.engine.after(wait, self._expire_parked, session)

    def _expire_parked(self, session: FetchSession) -> None:
        """replica.fetch.wait.max.ms: a parked follower fetch is answered empty, with the
        high watermarks, and the follower fetches again ([J] DelayedFetch expiring) — so
        an idle follower learns the HW and stays caught up in the leader's eyes. A busy
        fetcher parks and is woken many times a second: its timer looks at the latest
        parking and waits for that one."""
        request = session.parked
        if request is None or request.done:
            session.expiry_pending = False
            return
        due = session.parked_at + self.broker_spec.replica_fetch_wait_max_ms
        if self.engine.now < due:
            self.engine.after(due - self.engine.now, self._expire_parked, session)
            return
        session.expiry_pending = False
        self._answer(request)

    def wake_followers(self, part: Partition, leader_log: ReplicaLog) -> None:
        """An append (of a whole ProduceRequest, or a marker): every fetch parked on this
        partition is answered (for all of its partitions)."""
        lead = leader_log.lead
        if lead is None or not lead.parked:
            return
        parked = lead.parked
        lead.parked = {}
        # followers in ascending order; a session's fetch parks on each of its partitions,
        # so most were answered already by an earlier partition of the same request
        waiting = [follower for follower, request in parked.items() if not request.done]
        if len(waiting) > 1:
            waiting.sort()
        for follower in waiting:
            request = parked[follower]
            if not request.done:
                self._answer(request)

    def _answer(self, request: FollowerFetch) -> None:
        """The response: per partition, its batches from the fetch offset (at most
        ``replica.fetch.max.bytes``) and the leader's HW, within
        ``replica.fetch.response.max.bytes`` for the whole response; the first batch of
        the first partition with data comes whole whatever its size (KIP-74)."""
        request.done = True
        session = request.session
        if session.parked is request:
            session.parked = None
        part_cap = self.broker_spec.replica_fetch_max_bytes
        room = self.broker_spec.replica_fetch_response_max_bytes
        answers: list[FetchAnswer] = []
        first = True  # no batch in the response yet
        for member in request.members:
            leader_log = member.leader_log
            offset = member.log.leo
            if leader_log.leo <= offset:
                answers.append((member, _NONE, leader_log.hw))
                continue
            batches = leader_log.batches_from(offset, leader_log.leo)
            cap = part_cap if part_cap < room else room
            batches, size = within_fetch_limit(batches, cap, first)
            if batches:
                first = False
                room -= size
            answers.append((member, batches, leader_log.hw))
        delay = self.network.latency + self.network.slow.get(session.follower, 0)
        self.engine.after(delay, self._at_follower, session, answers)

    def _follower_receive(self, session: FetchSession, answers: list[FetchAnswer]) -> None:
        follower = session.follower
        session.in_flight = False
        if not self.network.brokers_connected(follower, session.leader):
            session.in_flight = True
            self.engine.after(FOLLOWER_FETCH_BACKOFF_MS, self._send_session, session)
            return
        for member, batches, leader_hw in answers:
            if not member.active:
                continue
            replica = member.log
            if batches:
                leo = replica.leo
                if batches[0].base != leo:  # (its LEO inside the first batch: from the next)
                    batches = [b for b in batches if b.base >= leo]
                if batches and batches[0].base == leo:
                    replica.copy_run(batches)  # the leader's batches are contiguous
            leo = replica.leo
            hw = leader_hw if leader_hw < leo else leo
            if hw != replica.hw:
                replica.hw = hw
                if self.cluster.fetches.at_followers:
                    self.cluster.wake_replica_fetchers(member.part.tp, replica)
        self._send_session(session)

    # -- leader side: ISR and HW -----------------------------------------------------------

    def _note_follower(
        self, part: Partition, leader_log: ReplicaLog, follower: int, offset: int
    ) -> None:
        lead = leader_log.lead
        assert lead is not None
        now = self.engine.now
        state = lead.followers.get(follower)
        if state is None:
            state = lead.followers[follower] = FollowerState(now)
        state.leo = offset
        # caught up if it fetches at the LEO now, or at the LEO the leader had when it
        # fetched before ([J] Replica.updateFetchStateOrThrow): a follower that keeps up
        # with a steady stream is never exactly at the LEO when its fetch arrives
        if offset >= leader_log.leo:
            state.caught_up = now
        elif offset >= state.fetch_leo:
            state.caught_up = max(state.caught_up, state.fetch_at)
        state.fetch_leo = leader_log.leo
        state.fetch_at = now
        if (
            follower not in lead.isr
            and offset >= leader_log.hw
            and offset >= leader_log.end_offset_for_epoch(lead.epoch - 1)[1]
            and self._may_alter(part, leader_log)
        ):
            lead.isr = [b for b in part.replica_order if b in lead.isr or b == follower]
            part.isr = list(lead.isr)
            self.timeline.record(
                "isr_expand",
                f"broker-{leader_log.broker}",
                part=part.name,
                follower=follower,
                isr=list(lead.isr),
            )
        self.update_hw(part, leader_log)

    def check_isr(self) -> None:
        """The isr-expiration task (every replica.lag.time.max.ms / 2)."""
        max_lag = self.broker_spec.replica_lag_time_max_ms
        for part in self.cluster.partition_list:
            for leader_log in part.leading_replicas():
                lead = leader_log.lead
                assert lead is not None  # leading_replicas() keeps only those with a lead
                out = [
                    b
                    for b in lead.isr
                    if b != leader_log.broker
                    and lead.followers[b].leo != leader_log.leo
                    and self.engine.now - lead.followers[b].caught_up > max_lag
                ]
                if out and self._may_alter(part, leader_log):
                    self.shrink_isr(part, leader_log, out, "fell behind replica.lag.time.max.ms")
        self.engine.after(max(1, max_lag // 2), self.check_isr)

    def _may_alter(self, part: Partition, leader_log: ReplicaLog) -> bool:
        """AlterPartition succeeds only if the controller hears it and the sender is the
        leader of the current epoch (a stale leader gets FENCED_LEADER_EPOCH)."""
        lead = leader_log.lead
        return (
            lead is not None
            and self.network.controller_reaches(leader_log.broker)
            and part.leader == leader_log.broker
            and lead.epoch == part.leader_epoch
        )

    def shrink_isr(self, part: Partition, leader_log: ReplicaLog, out: list[int], why: str) -> None:
        lead = leader_log.lead
        assert lead is not None
        lead.isr = [b for b in lead.isr if b not in out]
        part.isr = list(lead.isr)
        self.timeline.record(
            "isr_shrink",
            f"broker-{leader_log.broker}",
            part=part.name,
            removed=out,
            isr=list(lead.isr),
            why=why,
        )
        if len(lead.isr) < part.min_isr:
            waiters, lead.ack_waiters = lead.ack_waiters, []
            for _end, answer, _base in waiters:
                answer.fire(NOT_ENOUGH_REPLICAS_AFTER_APPEND, -1)
        self.update_hw(part, leader_log)

    def update_hw(self, part: Partition, leader_log: ReplicaLog) -> None:
        lead = leader_log.lead
        if lead is None:
            return
        isr = lead.isr
        if len(isr) < part.min_isr:
            return
        new_hw = leader_log.leo
        if lead.isr_seen is not isr:
            me, followers = leader_log.broker, lead.followers
            lead.isr_followers = [followers[b] for b in isr if b != me]
            lead.isr_seen = isr
        for follower in lead.isr_followers:
            leo = follower.leo
            if leo < new_hw:
                new_hw = leo
        if new_hw <= leader_log.hw:
            return
        leader_log.hw = new_hw
        if new_hw > lead.max_hw:
            lead.max_hw = new_hw
        if self.cluster.rack_aware:
            part.hw_times.append((self.engine.now, new_hw))
        if self.timeline.itemises("hw"):
            self.timeline.record("hw", f"broker-{leader_log.broker}", part=part.name, hw=new_hw)
        waiters = lead.ack_waiters
        while waiters and waiters[0][0] <= new_hw:
            _end, answer, base = waiters.pop(0)
            answer.fire(None, base)
        if lead.fetch_waiters:
            self.cluster.wake_fetchers(part, leader_log)
