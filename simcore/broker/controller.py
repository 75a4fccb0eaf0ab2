"""The controller: broker liveness, fencing, leader election and leadership changes.

KRaft's rules ([D] KIP-631; broker.session.timeout.ms 9000): a broker that stops
heart-beating — dead, or cut off from the controller — is fenced after the session
timeout; the controller removes it from every ISR (never emptying one) and elects
new leaders from the ISR, in replica order. With ``unclean.leader.election.enable``
and no live ISR member, an out-of-sync replica may lead (and what it lacks is lost);
without it the partition stays offline until an ISR member returns. Every
leadership change bumps the leader epoch. Brokers learn of changes one network hop
later, and only if the controller reaches them: an isolated leader keeps leading in
its own eyes until the partition heals.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from simcore.broker.replication import NOT_LEADER_OR_FOLLOWER, LeaderState

if TYPE_CHECKING:
    from simcore.broker.cluster import Cluster, Partition

NETWORK_EXCEPTION: Final = "NETWORK_EXCEPTION"


class Controller:
    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.engine = cluster.engine
        self.network = cluster.network
        self.timeline = cluster.timeline
        self.fenced: set[int] = set()
        self._outage: dict[int, int] = {}  # broker -> outage token (kill or isolation)

    def start(self) -> None:
        for part in self.cluster.partition_list:
            for broker in part.replica_order:
                self._apply(part, broker, part.leader, part.leader_epoch, tuple(part.isr))

    # -- faults -------------------------------------------------------------------------------

    def kill(self, broker: int, restart_after_ms: int | None, injected: bool) -> None:
        if not self.network.alive[broker]:
            return
        self.network.alive[broker] = False
        self.timeline.record(
            "broker_down", f"broker-{broker}", injected=injected, restart_after_ms=restart_after_ms
        )
        for part in self.cluster.partition_list:
            replica = part.replicas.get(broker)
            if replica is not None:  # in-memory state is gone; the log stays on disk
                self._drop_leadership(part, broker, NETWORK_EXCEPTION)
                replica.leader, replica.epoch = None, -1
        self._start_outage(broker)
        if restart_after_ms is not None:
            self.engine.after(restart_after_ms, self.restart, broker)

    def restart(self, broker: int) -> None:
        if self.network.alive[broker]:
            return
        self.network.alive[broker] = True
        self.timeline.record("broker_up", f"broker-{broker}")
        self.engine.after(self.network.latency, self._rejoin, broker)

    def isolate(self, broker: int, duration_ms: int | None, injected: bool) -> None:
        self.network.isolated.add(broker)
        self.timeline.record(
            "broker_isolated", f"broker-{broker}", injected=injected, duration_ms=duration_ms
        )
        self._start_outage(broker)
        if duration_ms is not None:
            self.engine.after(duration_ms, self.heal, broker)

    def heal(self, broker: int) -> None:
        self.network.isolated.discard(broker)
        self.timeline.record("broker_reconnected", f"broker-{broker}")
        if self.network.alive[broker]:
            self.engine.after(self.network.latency, self._rejoin, broker)

    def _start_outage(self, broker: int) -> None:
        token = self._outage.get(broker, 0) + 1
        self._outage[broker] = token
        session = self.cluster.broker_spec.broker_session_timeout_ms
        self.engine.after(session, self._fence, broker, token)

    # -- fencing and election -------------------------------------------------------------------

    def _fence(self, broker: int, token: int) -> None:
        if self._outage.get(broker) != token or self.network.controller_reaches(broker):
            return
        self.fenced.add(broker)
        self.timeline.record("broker_fenced", "controller", broker=broker)
        for part in self.cluster.partition_list:
            if broker not in part.replicas:
                continue
            if broker in part.isr and len(part.isr) > 1:
                part.isr = [b for b in part.isr if b != broker]
            if part.leader == broker:
                self.elect(part)
            elif broker not in part.isr:
                self._notify_all(part)

    def _eligible(self, broker: int) -> bool:
        return broker not in self.fenced and self.network.controller_reaches(broker)

    def elect(self, part: Partition) -> None:
        clean = [b for b in part.replica_order if b in part.isr and self._eligible(b)]
        leader: int | None
        if clean:
            leader, unclean = clean[0], False
        elif part.spec.unclean_leader_election:
            candidates = [b for b in part.replica_order if self._eligible(b)]
            leader, unclean = (candidates[0], True) if candidates else (None, False)
        else:
            leader, unclean = None, False
        previous = part.leader
        part.leader = leader
        part.leader_epoch += 1
        if unclean:
            assert leader is not None  # an unclean election always has a candidate
            part.isr = [leader]
            part.unclean_elections += 1
        if leader is None:
            self.timeline.record(
                "partition_offline",
                "controller",
                part=part.name,
                isr=list(part.isr),
                previous=previous,
            )
        else:
            self.timeline.record(
                "leader_elected",
                "controller",
                part=part.name,
                leader=leader,
                epoch=part.leader_epoch,
                unclean=unclean,
                previous=previous,
                isr=list(part.isr),
            )
        self._notify_all(part)

    def _rejoin(self, broker: int) -> None:
        """A broker (back) in touch with the controller: unfence, resync, maybe lead."""
        if not self.network.controller_reaches(broker):
            return
        self._outage[broker] = self._outage.get(broker, 0) + 1
        if broker in self.fenced:
            self.fenced.discard(broker)
            self.timeline.record("broker_unfenced", "controller", broker=broker)
        for part in self.cluster.partition_list:
            if broker not in part.replicas:
                continue
            if part.leader is None:
                self.elect(part)
            else:
                self._notify(part, broker)

    # -- telling brokers ------------------------------------------------------------------------

    def _notify_all(self, part: Partition) -> None:
        for broker in part.replica_order:
            self._notify(part, broker)

    def _notify(self, part: Partition, broker: int) -> None:
        if self.network.controller_reaches(broker):
            self.engine.after(
                self.network.latency,
                self._apply,
                part,
                broker,
                part.leader,
                part.leader_epoch,
                tuple(part.isr),
            )

    def _apply(
        self, part: Partition, broker: int, leader: int | None, epoch: int, isr: tuple[int, ...]
    ) -> None:
        replica = part.replicas[broker]
        if epoch < replica.epoch or not self.network.controller_reaches(broker):
            return
        if epoch == replica.epoch and replica.leader == leader:
            if replica.lead is not None:
                replica.lead.isr = [b for b in replica.lead.isr if b in isr] or [broker]
                self.cluster.replication.update_hw(part, replica)
            return
        if replica.lead is not None:
            self._drop_leadership(part, broker, NOT_LEADER_OR_FOLLOWER)
        replica.leader, replica.epoch = leader, epoch
        if leader == broker:
            self.cluster.replication.stop_following(part, broker)
            followers = [b for b in part.replica_order if b != broker]
            replica.lead = LeaderState(broker, epoch, list(isr), followers, self.engine.now)
            replica.start_epoch(epoch)
            self.cluster.rebuild_producer_state(replica)
            self.cluster.replication.update_hw(part, replica)
        elif leader is not None:
            self.cluster.replication.follow(part, broker)

    def _drop_leadership(self, part: Partition, broker: int, error: str) -> None:
        replica = part.replicas[broker]
        lead = replica.lead
        if lead is None:
            return
        replica.lead = None
        if lead.produce_timer is not None:
            lead.produce_timer.cancel()  # its waiters are all answered below
        for _end, answer, _base in lead.ack_waiters:
            answer.fire(error, -1)
        self.cluster.fetches.leadership_lost(part.tp, lead.fetch_waiters, error)
