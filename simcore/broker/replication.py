"""Replication: the leader's bookkeeping, follower fetching, the ISR and the HW.

Followers replicate the way real followers do ([D] design.html "Replication";
[J] core ReplicaManager / Partition): a follower fetches at its LEO; the leader
answers with new batches or parks the fetch until it has some, and learns the
follower's LEO from its *next* fetch — so the HW moves one fetch round after the
append. The HW is the smallest LEO in the ISR and, since Kafka 3.7 (KAFKA-15583),
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

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from simcore.broker.log import Batch, ReplicaLog

if TYPE_CHECKING:
    from simcore.broker.cluster import Cluster, FetchWaiter, Partition, ProduceWait

FOLLOWER_FETCH_BACKOFF_MS = 1000  # replica.fetch.backoff.ms
NOT_ENOUGH_REPLICAS_AFTER_APPEND = "NOT_ENOUGH_REPLICAS_AFTER_APPEND"
NOT_LEADER_OR_FOLLOWER = "NOT_LEADER_OR_FOLLOWER"


class LeaderState:
    """What a replica keeps while it believes it is the leader of its partition."""

    def __init__(self, me: int, epoch: int, isr: list[int], followers: list[int], now: int):
        self.me = me
        self.epoch = epoch
        self.isr = list(isr)
        self.follower_leo = {b: 0 for b in followers}
        self.last_caught_up = {b: now for b in followers}
        # each follower's previous fetch: the leader's LEO then, and when
        self.last_fetch = {b: (0, now) for b in followers}
        self.parked: set[int] = set()
        self.ack_waiters: deque[tuple[int, Callable[[str | None, int], None], int]] = deque()
        self.fetch_waiters: list[FetchWaiter] = []
        # idempotent producers: the last 5 batches (base seq, last seq, base offset) of
        # each producer id, and the producer epoch they belong to
        self.producer_seqs: dict[int, deque[tuple[int, int, int]]] = {}
        self.producer_epochs: dict[int, int] = {}
        # acks=all produces waiting for the ISR, in arrival order, for their request
        # timeout (Kafka's DelayedProduce), and when the expiry check runs next
        self.produce_waits: deque[ProduceWait] = deque()
        self.produce_timer: int | None = None
        self.max_hw = 0


class Replication:
    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.engine = cluster.engine
        self.network = cluster.network
        self.timeline = cluster.timeline
        self.broker_spec = cluster.broker_spec
        self._gen: dict[tuple[str, int], int] = {}
        self._parked_gen: dict[tuple[str, int], int] = {}
        # (partition, follower, leader): when the follower last parked there, and whether
        # a timer for it is running
        self._parked_at: dict[tuple[str, int, int], int] = {}
        self._expiry_pending: set[tuple[str, int, int]] = set()

    # -- follower side ---------------------------------------------------------------------

    def follow(self, part: Partition, follower: int) -> None:
        """Start (or restart) a follower's loop: truncate by leader epoch, then fetch."""
        key = (part.name, follower)
        self._gen[key] = gen = self._gen.get(key, 0) + 1
        self._truncate_then_fetch(part, follower, gen)

    def stop_following(self, part: Partition, broker: int) -> None:
        key = (part.name, broker)
        self._gen[key] = self._gen.get(key, 0) + 1

    def _live(self, part: Partition, follower: int, gen: int) -> bool:
        return (
            self._gen.get((part.name, follower)) == gen
            and self.network.alive[follower]
            and part.replicas[follower].lead is None
        )

    def _truncate_then_fetch(self, part: Partition, follower: int, gen: int) -> None:
        if not self._live(part, follower, gen):
            return
        replica = part.replicas[follower]
        leader = replica.leader
        if leader is None:
            return
        if not self.network.brokers_connected(follower, leader):
            self.engine.after(
                FOLLOWER_FETCH_BACKOFF_MS, self._truncate_then_fetch, part, follower, gen
            )
            return
        self.engine.after(2 * self.network.latency, self._truncate, part, follower, gen)

    def _truncate(self, part: Partition, follower: int, gen: int) -> None:
        """OffsetsForLeaderEpoch round trip done: cut the log where the epochs diverge."""
        if not self._live(part, follower, gen):
            return
        replica = part.replicas[follower]
        leader_log = part.replicas[replica.leader]  # type: ignore[index]
        if leader_log.lead is None or leader_log.lead.epoch != replica.epoch:
            self.engine.after(
                FOLLOWER_FETCH_BACKOFF_MS, self._truncate_then_fetch, part, follower, gen
            )
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
        self._send_fetch(part, follower, gen)

    def _send_fetch(self, part: Partition, follower: int, gen: int) -> None:
        if not self._live(part, follower, gen):
            return
        replica = part.replicas[follower]
        leader = replica.leader
        if leader is None or not self.network.brokers_connected(follower, leader):
            self.engine.after(FOLLOWER_FETCH_BACKOFF_MS, self._send_fetch, part, follower, gen)
            return
        self.engine.after(
            self.network.latency,
            self._fetch_at_leader,
            part,
            follower,
            leader,
            replica.epoch,
            replica.leo,
            gen,
        )

    def _fetch_at_leader(
        self, part: Partition, follower: int, leader: int, epoch: int, offset: int, gen: int
    ) -> None:
        leader_log = part.replicas[leader]
        lead = leader_log.lead
        if (
            not self.network.brokers_connected(follower, leader)
            or lead is None
            or lead.epoch != epoch
        ):
            if self._live(part, follower, gen):
                self.engine.after(FOLLOWER_FETCH_BACKOFF_MS, self._send_fetch, part, follower, gen)
            return
        self._note_follower(part, leader_log, follower, offset)
        if leader_log.leo > offset:
            self._answer(part, leader_log, follower, offset, gen)
        else:
            lead.parked.add(follower)
            self._parked_gen[(part.name, follower)] = gen
            key = (part.name, follower, leader_log.broker)
            self._parked_at[key] = self.engine.now
            if key not in self._expiry_pending:  # one timer per follower, not one per park
                self._expiry_pending.add(key)
                wait = self.broker_spec.replica_fetch_wait_max_ms
                self.engine.after(wait, self._expire_parked, part, leader_log, follower)

    def _expire_parked(self, part: Partition, leader_log: ReplicaLog, follower: int) -> None:
        """replica.fetch.wait.max.ms: a parked follower fetch is answered empty, with the
        high watermark, and the follower fetches again ([J] DelayedFetch expiring) — so an
        idle follower learns the HW and stays caught up in the leader's eyes. A busy
        follower parks and is woken many times a second: its timer looks at the latest
        parking and waits for that one."""
        key = (part.name, follower, leader_log.broker)
        lead = leader_log.lead
        if lead is None or follower not in lead.parked:
            self._expiry_pending.discard(key)
            return
        due = self._parked_at[key] + self.broker_spec.replica_fetch_wait_max_ms
        if self.engine.now < due:
            self.engine.after(
                due - self.engine.now, self._expire_parked, part, leader_log, follower
            )
            return
        self._expiry_pending.discard(key)
        lead.parked.discard(follower)
        gen = self._parked_gen[(part.name, follower)]
        self._answer(part, leader_log, follower, lead.follower_leo[follower], gen)

    def wake_followers(self, part: Partition, leader_log: ReplicaLog) -> None:
        lead = leader_log.lead
        if lead is None or not lead.parked:
            return
        for follower in sorted(lead.parked):
            gen = self._parked_gen.get((part.name, follower), 0)
            self._answer(part, leader_log, follower, lead.follower_leo[follower], gen)
        lead.parked.clear()

    def _answer(
        self, part: Partition, leader_log: ReplicaLog, follower: int, offset: int, gen: int
    ) -> None:
        batches = leader_log.batches_from(offset, leader_log.leo)
        # replica.fetch.max.bytes: not an absolute maximum, the first batch always goes
        cap = self.broker_spec.replica_fetch_max_bytes
        size = 0
        for count, batch in enumerate(batches):
            size += batch.size
            if size > cap and count:
                batches = batches[:count]
                break
        delay = self.network.latency + self.network.slow.get(follower, 0)
        self.engine.after(
            delay,
            self._follower_receive,
            part,
            follower,
            leader_log.broker,
            batches,
            leader_log.hw,
            gen,
        )

    def _follower_receive(
        self,
        part: Partition,
        follower: int,
        leader: int,
        batches: list[Batch],
        leader_hw: int,
        gen: int,
    ) -> None:
        if not self._live(part, follower, gen) or not self.network.brokers_connected(
            follower, leader
        ):
            if self._live(part, follower, gen):
                self.engine.after(FOLLOWER_FETCH_BACKOFF_MS, self._send_fetch, part, follower, gen)
            return
        replica = part.replicas[follower]
        for batch in batches:
            if batch.base == replica.leo:
                replica.copy_from(batch)
        replica.hw = min(leader_hw, replica.leo)
        self._send_fetch(part, follower, gen)

    # -- leader side: ISR and HW -----------------------------------------------------------

    def _note_follower(
        self, part: Partition, leader_log: ReplicaLog, follower: int, offset: int
    ) -> None:
        lead = leader_log.lead
        assert lead is not None
        lead.follower_leo[follower] = offset
        # caught up if it fetches at the LEO now, or at the LEO the leader had when it
        # fetched before ([J] Replica.updateFetchStateOrThrow): a follower that keeps up
        # with a steady stream is never exactly at the LEO when its fetch arrives
        now = self.engine.now
        previous_leo, previous_at = lead.last_fetch.get(follower, (0, now))
        if offset >= leader_log.leo:
            lead.last_caught_up[follower] = now
        elif offset >= previous_leo:
            lead.last_caught_up[follower] = max(lead.last_caught_up[follower], previous_at)
        lead.last_fetch[follower] = (leader_log.leo, now)
        epoch_start = leader_log.end_offset_for_epoch(lead.epoch - 1)[1]
        if (
            follower not in lead.isr
            and offset >= leader_log.hw
            and offset >= epoch_start
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
                    and lead.follower_leo[b] != leader_log.leo
                    and self.engine.now - lead.last_caught_up[b] > max_lag
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
            waiters, lead.ack_waiters = lead.ack_waiters, deque()
            for _end, respond, _base in waiters:
                respond(NOT_ENOUGH_REPLICAS_AFTER_APPEND, -1)
        self.update_hw(part, leader_log)

    def update_hw(self, part: Partition, leader_log: ReplicaLog) -> None:
        lead = leader_log.lead
        if lead is None or len(lead.isr) < part.min_isr:
            return
        new_hw = leader_log.leo
        for broker in lead.isr:
            if broker != leader_log.broker:
                new_hw = min(new_hw, lead.follower_leo[broker])
        if new_hw <= leader_log.hw:
            return
        leader_log.hw = new_hw
        lead.max_hw = max(lead.max_hw, new_hw)
        if self.timeline.itemises("hw"):
            self.timeline.record("hw", f"broker-{leader_log.broker}", part=part.name, hw=new_hw)
        while lead.ack_waiters and lead.ack_waiters[0][0] <= new_hw:
            _end, respond, base = lead.ack_waiters.popleft()
            respond(None, base)
        if lead.fetch_waiters:
            self.cluster.wake_fetchers(part, leader_log)
