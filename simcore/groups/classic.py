"""The classic group protocol, coordinator side: members, generations, rebalances.

Modelled on the broker's GroupCoordinator ([J] core group/GroupCoordinator.scala,
GroupMetadata; KIP-62, KIP-345, KIP-429). A group is Empty, PreparingRebalance,
CompletingRebalance or Stable. A join, a leave, or a member that stops heart-beating
for ``session.timeout.ms`` starts a rebalance; the coordinator then waits for every
known member to rejoin — up to the rebalance timeout (the members' largest
``max.poll.interval.ms``) — drops those that did not, bumps the generation and
answers the joins; the leader (a client) computes the assignment and hands it back
in SyncGroup. The first rebalance of an empty group waits
``group.initial.rebalance.delay.ms`` (3000 by default) for more members. A static
member (``group.instance.id``) that rejoins a stable group with the same
subscription gets its old assignment back with no rebalance.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from simcore.groups.rebalances import RebalanceHistory
from simcore.kernel.types import TopicPartition

if TYPE_CHECKING:
    from simcore.kernel.engine import Engine, Timer
    from simcore.kernel.timeline import Timeline

UNKNOWN_MEMBER_ID: Final = "UNKNOWN_MEMBER_ID"
ILLEGAL_GENERATION: Final = "ILLEGAL_GENERATION"
REBALANCE_IN_PROGRESS: Final = "REBALANCE_IN_PROGRESS"
FENCED_INSTANCE_ID: Final = "FENCED_INSTANCE_ID"


class Member:
    def __init__(
        self, member_id: str, client_id: str, instance_id: str | None, info: dict[str, Any]
    ) -> None:
        self.id = member_id
        self.client_id = client_id
        self.instance_id = instance_id
        self.info = info  # protocols, subscription, owned, session/rebalance timeouts
        self.join_respond: Callable[..., None] | None = None
        self.sync_respond: Callable[..., None] | None = None
        self.assignment: list[TopicPartition] = []
        self.session_timer: Timer | None = None  # the coordinator's session timeout


class Group:
    def __init__(
        self, name: str, engine: Engine, timeline: Timeline, initial_delay_ms: int
    ) -> None:
        self.name = name
        self.engine = engine
        self.timeline = timeline
        self.initial_delay_ms = initial_delay_ms
        self.state = "Empty"
        self.generation = 0
        self.members: dict[str, Member] = {}
        self.static: dict[str, str] = {}  # group.instance.id -> member id
        self.leader: str | None = None
        self.protocol: str | None = None
        self.history = RebalanceHistory(
            engine,
            timeline,
            name,
            owners=lambda: self.members.values(),
            generation=lambda: self.generation,
            state=lambda: self.state,
        )
        self._join_timer: Timer | None = None  # the initial delay or the join timeout
        self._next_member = 0
        self._initial_deadline = 0  # cap of the initial delay (0: not in the initial delay)
        self._joined_during_delay = False
        self.on_empty: Callable[[], None] = lambda: None

    # -- membership changes ------------------------------------------------------------------

    def join(
        self,
        member_id: str | None,
        client_id: str,
        instance_id: str | None,
        info: dict[str, Any],
        respond: Callable[..., None],
    ) -> None:
        """A JoinGroup request (now). ``respond(error, generation, member_id, leader,
        protocol, subscriptions_or_None)``."""
        if instance_id is not None and instance_id in self.static:
            member_id = self._static_rejoin(instance_id, member_id, info, respond)
            if member_id is None:
                return
        elif member_id is None or member_id not in self.members:
            self._joined_during_delay = True
            member_id = self._new_member_id(client_id)
            self.members[member_id] = Member(member_id, client_id, instance_id, info)
            if instance_id is not None:
                self.static[instance_id] = member_id
        member = self.members[member_id]
        member.info = info
        member.join_respond = respond
        self.touch(member)
        if self.state in ("Empty", "Stable", "CompletingRebalance"):
            self._prepare(f"{client_id} joins")
        self._maybe_complete_join()

    def _static_rejoin(
        self,
        instance_id: str,
        member_id: str | None,
        info: dict[str, Any],
        respond: Callable[..., None],
    ) -> str | None:
        """KIP-345: the known instance replaces its old member id; no rebalance if stable."""
        old_id = self.static[instance_id]
        old = self.members.pop(old_id)
        new_id = member_id if member_id == old_id else self._new_member_id(old.client_id)
        member = Member(new_id, old.client_id, instance_id, info)
        member.assignment = old.assignment
        self.members[new_id] = member
        self.static[instance_id] = new_id
        if self.leader == old_id:
            self.leader = new_id
        if self.state == "Stable" and info["subscription"] == old.info["subscription"]:
            self.touch(member)
            self.timeline.record(
                "static_rejoin",
                "coordinator",
                group=self.name,
                member=old.client_id,
                generation=self.generation,
            )
            respond(None, self.generation, new_id, self.leader, self.protocol, None)
            return None
        return new_id

    def leave(self, member_id: str, reason: str) -> None:
        member = self.members.pop(member_id, None)
        if member is None:
            return
        if member.instance_id is not None:
            self.static.pop(member.instance_id, None)
        self.timeline.record(
            "member_left", "coordinator", group=self.name, member=member.client_id, reason=reason
        )
        self._member_gone(member, reason)

    def _member_gone(self, member: Member, reason: str) -> None:
        if self.leader == member.id:
            self.leader = None
        if not self.members:
            self.state = "Empty"
            self.history.close()
            self.on_empty()
            return
        if self.state in ("Stable", "CompletingRebalance"):
            self._prepare(reason)
        else:
            self._maybe_complete_join()

    def _new_member_id(self, client_id: str) -> str:
        self._next_member += 1
        return f"{client_id}-{self.name}-{self._next_member:04d}"

    # -- sessions --------------------------------------------------------------------------------

    def touch(self, member: Member) -> None:
        """A sign of life: the session timer starts again."""
        if member.session_timer is not None:
            member.session_timer.cancel()
        member.session_timer = self.engine.timer(
            member.info["session_timeout_ms"], self._expire, member
        )

    def _expire(self, member: Member) -> None:
        if self.members.get(member.id) is not member:
            return  # it left or was removed meanwhile
        if member.join_respond is not None and self.state == "PreparingRebalance":
            return  # a pending join keeps the member alive until the join completes
        self._expel(member, session_timeout_ms=member.info["session_timeout_ms"])
        self._member_gone(member, f"{member.client_id}'s session timed out")

    # -- the rebalance ---------------------------------------------------------------------------

    def _prepare(self, cause: str) -> None:
        was_empty = self.state == "Empty"
        if self.state == "CompletingRebalance":  # members waiting in SyncGroup must rejoin
            for member in self.members.values():
                if member.sync_respond is not None:
                    answer, member.sync_respond = member.sync_respond, None
                    answer(REBALANCE_IN_PROGRESS, [])
        self.state = "PreparingRebalance"
        self.history.open(cause)
        if self._join_timer is not None:
            self._join_timer.cancel()  # a new round: the last round's delay or timeout is void
        timeout = max(m.info["rebalance_timeout_ms"] for m in self.members.values())
        if was_empty and self.initial_delay_ms > 0:
            self._initial_deadline = self.engine.now + timeout
            self._joined_during_delay = False
            self._join_timer = self.engine.timer(self.initial_delay_ms, self._initial_delay_over)
        else:
            self._initial_deadline = 0
            self._join_timer = self.engine.timer(timeout, self._join_timeout)

    def _initial_delay_over(self) -> None:
        """InitialDelayedJoin: while members keep arriving, wait another delay (capped by
        the rebalance timeout)."""
        if self.state != "PreparingRebalance":
            return
        remaining = self._initial_deadline - self.engine.now
        if self._joined_during_delay and remaining > 0:
            self._joined_during_delay = False
            self._join_timer = self.engine.timer(
                min(self.initial_delay_ms, remaining), self._initial_delay_over
            )
            return
        self._initial_deadline = 0
        self._maybe_complete_join()

    def _join_timeout(self) -> None:
        if self.state != "PreparingRebalance":
            return
        for member in [m for m in self.members.values() if m.join_respond is None]:
            self._expel(member, reason="did not rejoin in time")
        self._complete_join()

    def _expel(self, member: Member, **why: object) -> None:
        """The coordinator removes a member it gave up on (its session, or the join)."""
        del self.members[member.id]
        if member.instance_id is not None:
            self.static.pop(member.instance_id, None)
        self.timeline.record(
            "member_expired", "coordinator", group=self.name, member=member.client_id, **why
        )

    def _maybe_complete_join(self) -> None:
        if self.state != "PreparingRebalance" or self._initial_deadline:
            return
        if self.members and all(m.join_respond is not None for m in self.members.values()):
            self._complete_join()

    def _complete_join(self) -> None:
        if not self.members:
            self.state = "Empty"
            self.history.close()
            self.on_empty()
            return
        self.generation += 1
        self.state = "CompletingRebalance"
        self.protocol = self._select_protocol()
        if self.leader not in self.members:
            self.leader = next(iter(self.members))
        subscriptions = {m.id: m.info for m in self.members.values()}
        for member in self.members.values():  # session clocks restart with the generation
            self.touch(member)
        self.timeline.record(
            "generation",
            "coordinator",
            group=self.name,
            generation=self.generation,
            protocol=self.protocol,
            members=[m.client_id for m in self.members.values()],
            leader=self.members[self.leader].client_id,
        )
        for member in list(self.members.values()):
            respond, member.join_respond = member.join_respond, None
            assert respond is not None
            respond(
                None,
                self.generation,
                member.id,
                self.leader,
                self.protocol,
                subscriptions if member.id == self.leader else None,
            )

    def _select_protocol(self) -> str:
        """Each member votes for its first assignor that every member supports."""
        lists: list[list[str]] = [m.info["protocols"] for m in self.members.values()]
        common = [p for p in lists[0] if all(p in other for other in lists[1:])]
        if not common:
            return lists[0][0]
        votes = {
            p: sum(1 for prefs in lists if next(q for q in prefs if q in common) == p)
            for p in common
        }
        return max(common, key=lambda p: (votes[p], -common.index(p)))

    def sync(
        self,
        member_id: str,
        generation: int,
        assignments: dict[str, list[TopicPartition]] | None,
        respond: Callable[[str | None, list[TopicPartition]], None],
    ) -> None:
        member = self.members.get(member_id)
        if member is None:
            respond(UNKNOWN_MEMBER_ID, [])
            return
        if generation != self.generation:
            respond(ILLEGAL_GENERATION, [])
            return
        self.touch(member)
        if self.state == "Stable":
            respond(None, member.assignment)
            return
        if self.state != "CompletingRebalance":
            respond(REBALANCE_IN_PROGRESS, [])
            return
        member.sync_respond = respond
        if assignments is not None and member_id == self.leader:
            for mid, tps in assignments.items():
                if mid in self.members:
                    self.members[mid].assignment = list(tps)
            self.state = "Stable"
            self.history.close()
            for other in self.members.values():
                if other.sync_respond is not None:
                    answer, other.sync_respond = other.sync_respond, None
                    answer(None, other.assignment)

    def heartbeat(self, member_id: str, generation: int) -> str | None:
        member = self.members.get(member_id)
        if member is None:
            return UNKNOWN_MEMBER_ID
        self.touch(member)
        if self.state in ("PreparingRebalance", "CompletingRebalance"):
            return REBALANCE_IN_PROGRESS
        if generation != self.generation:
            return ILLEGAL_GENERATION
        return None

    def owners(self) -> dict[TopicPartition, Member]:
        """The member the coordinator believes owns each partition (dead ones included until
        their session expires): what kafka-consumer-groups.sh --describe shows."""
        table: dict[TopicPartition, Member] = {}
        for member in self.members.values():
            for tp in member.assignment:
                table.setdefault(tp, member)
        return table

    def commit_error(self, member_id: str | None, generation: int) -> str | None:
        """Why an OffsetCommit from this member would be refused, if it would be."""
        if member_id is None or generation < 0:
            return None if self.state == "Empty" else UNKNOWN_MEMBER_ID
        if member_id not in self.members:
            return UNKNOWN_MEMBER_ID
        if generation != self.generation:
            return ILLEGAL_GENERATION
        if self.state == "CompletingRebalance":
            return REBALANCE_IN_PROGRESS
        return None
