"""Invariants checked after every event in test mode; a violation names seed and step."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

from simcore.groups.kip848 import ConsumerGroup
from simcore.kernel.errors import InvariantViolation
from simcore.run.txn_invariants import TransactionInvariants

if TYPE_CHECKING:
    from simcore.run.simulation import Simulation


class InvariantChecker:
    def __init__(self, sim: Simulation) -> None:
        self.sim = sim
        self.positions: dict[tuple[str, str, int], int] = {}
        self.hw: dict[str, int] = {}
        self.hw_ever: dict[str, int] = {}  # per partition: the highest HW any replica had
        self.seen_events = 0
        self.transactions = (
            TransactionInvariants(sim, self._expect) if sim.cluster.transactions else None
        )

    def check(self) -> None:
        sim = self.sim
        for part in sim.cluster.partition_list:
            self._check_partition(part)
        for (group, topic, p), offset in sim.coordinator.committed.items():
            part = sim.cluster.partitions[(topic, p)]
            if part.unclean_elections == 0:  # an unclean leader may have less than was read
                leo = max(r.leo for r in part.replicas.values())
                self._expect(offset <= leo, f"{group} {topic}-{p}: committed {offset} > LEO {leo}")
        self._check_positions()
        self._check_single_owners()
        self._check_fetching()
        self._check_batches()
        self._check_sinks()
        if self.transactions is not None:
            self.transactions.check()

    def _check_batches(self) -> None:
        """A producer's partition queue has at most one open batch, its last (what
        ``Producer.plan_next_wake`` relies on to find the least room left)."""
        for producer in self.sim.producers:
            for part, queue in producer.queues.items():
                if len(queue) < 2:
                    continue
                open_before_last = [i for i, b in enumerate(list(queue)[:-1]) if not b.closed]
                self._expect(
                    not open_before_last,
                    f"{producer.spec.id} partition {part}: open batches at {open_before_last} "
                    f"in a queue of {len(queue)}, before its last",
                )

    def _check_sinks(self) -> None:
        """Processing failures (issue 15): every write to a sink is a row or, for an
        idempotent sink, an upsert that found its row — which then holds one row per
        input, however often redeliveries wrote it."""
        world = self.sim.processing
        for app in world.apps.values() if world is not None else ():
            sink = app.sink
            if sink is None:
                continue
            self._expect(sink.writes == sink.rows + sink.dedup_hits, f"{app.name}: sink count")
            if sink.kind == "idempotent":
                self._expect(sink.rows == len(sink.applied), f"{app.name}: an input applied twice")

    def _check_fetching(self) -> None:
        """Liveness of the fetch path: a consumer waiting inside poll() has, for every
        assigned partition it has a position for, a fetch in flight (or a retry of one
        pending), or fetched records in hand, or its node's request out (the fetcher sends
        the next one with its answer) — else nothing would ever wake it up. Java
        sends fetches for every fetchable partition in each poll(), and a stale answer
        makes the partition fetchable again."""
        for consumer in self.sim.consumers:
            fetcher = consumer.fetcher
            # the fetcher's free partitions (the only ones a send looks at) are exactly
            # those of its fetch order waiting for no request
            free = [state.tp for state in fetcher.free]
            self._expect(
                set(free)
                == {
                    tp
                    for tp in fetcher.order
                    if tp in consumer.states and not fetcher.requested(tp)
                }
                and len(set(free)) == len(free)
                and all(consumer.states.get(state.tp) is state for state in fetcher.free),
                f"{consumer.id}: free partitions {sorted(free)} are not those of the fetch "
                "order with a position and waiting for no request",
            )
            if consumer.state != "polling":
                continue
            for tp in consumer.membership.assignment:
                state = consumer.states.get(tp)
                if state is None or tp in consumer.paused:
                    continue  # its OffsetFetch is under way, or the application paused it
                self._expect(
                    state.request != 0 or bool(state.buffer) or consumer.fetcher.waits(tp),
                    f"{consumer.id} {tp[0]}-{tp[1]}: waiting in poll() with no fetch in "
                    "flight and nothing buffered",
                )

    def _check_single_owners(self) -> None:
        """group.protocol=consumer: a partition is never owned (assigned or pending
        revocation) by two members, at the coordinator nor at the clients that are in the
        group (KIP-848's promise; the classic protocol gets it from its barrier)."""
        for group in self.sim.coordinator.groups.values():
            if not isinstance(group, ConsumerGroup):
                continue
            owned = [tp for m in group.members.values() for tp in m.assignment]
            self._expect(len(owned) == len(set(owned)), f"{group.name}: a partition has two owners")
            clients = [
                tp
                for c in self.sim.consumers
                if c.group == group.name and c.membership.member in group.members
                for tp in c.membership.assignment
            ]
            self._expect(
                len(clients) == len(set(clients)),
                f"{group.name}: two members consume the same partition",
            )

    def _check_partition(self, part) -> None:  # type: ignore[no-untyped-def]
        for replica in part.replicas.values():
            self._expect(
                replica.log_start <= replica.hw <= replica.leo,
                f"{part.name} replica {replica.broker}: log start "
                f"{replica.log_start} <= HW {replica.hw} <= LEO {replica.leo}",
            )
            lead = replica.lead
            if lead is not None:
                self._expect(
                    replica.hw >= lead.max_hw,
                    f"{part.name}: HW of leader {replica.broker} moved back",
                )
                # the HW's cached follower states are those of the ISR they were taken of
                # (Replication.update_hw: an ISR list is replaced, never changed in place)
                self._expect(
                    lead.isr_seen is not lead.isr
                    or lead.isr_followers
                    == [lead.followers[b] for b in lead.isr if b != replica.broker],
                    f"{part.name}: leader {replica.broker} computes its HW from followers "
                    f"other than those of its ISR {lead.isr}",
                )
        self._expect(
            set(part.isr) <= set(part.replica_order) and len(part.isr) >= 1,
            f"{part.name}: ISR {part.isr} not within replicas {part.replica_order}",
        )
        if part.leader is None:
            return
        self._expect(
            part.leader in part.isr, f"{part.name}: leader {part.leader} not in ISR {part.isr}"
        )
        leader = part.replicas[part.leader]
        if leader.batches:  # the newest batch's ids ascend (the ledger relies on it)
            ids = leader.batches[-1].msgs
            self._expect(
                (type(ids) is range and ids.step == 1)
                or all(a < b for a, b in itertools.pairwise(ids)),
                f"{part.name}: batch at {leader.batches[-1].base} holds ids out of order",
            )
        if leader.lead is not None and leader.epoch == part.leader_epoch:
            for broker in leader.lead.isr:
                self._expect(
                    part.replicas[broker].leo >= leader.hw,
                    f"{part.name}: HW {leader.hw} above ISR member {broker}'s LEO "
                    f"{part.replicas[broker].leo}",
                )

    def _check_positions(self) -> None:
        events = self.sim.timeline.events
        resets = {(e[2], e[3]["part"]) for e in events[self.seen_events :] if e[1] == "position"}
        self.seen_events = len(events)
        for part in self.sim.cluster.partition_list:
            top = max(r.hw for r in part.replicas.values())
            if top > self.hw_ever.get(part.name, 0):
                self.hw_ever[part.name] = top
        for consumer in self.sim.consumers:
            for (topic, p), offset in consumer.positions.items():
                key = (consumer.id, topic, p)
                # records are handed out only below a high watermark (a follower's too,
                # KIP-392): never a record no replica had committed
                name = f"{topic}-{p}"
                self._expect(
                    offset
                    <= max(
                        self.hw_ever.get(name, 0),
                        self.sim.cluster.partitions[(topic, p)].log.log_start,
                    ),
                    f"{consumer.id} {name}: position {offset} above every HW "
                    f"{self.hw_ever.get(name, 0)}",
                )
                before = self.positions.get(key)
                reset = (consumer.id, f"{topic}-{p}") in resets
                self._expect(
                    before is None or offset >= before or reset,
                    f"{consumer.id} {topic}-{p}: position went back {before} -> {offset}",
                )
                self.positions[key] = offset

    def _expect(self, ok: bool, detail: str) -> None:
        if not ok:
            raise InvariantViolation(self.sim.scenario.seed, self.sim.engine.events_run, detail)
