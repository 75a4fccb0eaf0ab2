"""The consumer: join, find positions, the poll loop, processing, and its commits.

Java ([J] KafkaConsumer, ConsumerCoordinator): ``poll()`` first auto-commits the
*positions* if ``auto.commit.interval.ms`` has elapsed (maybeAutoCommitOffsetsAsync),
then returns up to ``max.poll.records`` buffered records; the application processes
them before the next poll, so auto-commit covers only records of earlier polls.
librdkafka ([R] INTRODUCTION.md "At-least-once processing", rdkafka_cgrp.c): poll
hands out one message; with ``enable.auto.offset.store=true`` its offset is stored
at hand-out, and a background timer commits the stored offsets every interval —
even while that message is still being processed.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Final

from simcore.broker.cluster import Metadata
from simcore.consumer.app import ConsumerApp
from simcore.consumer.commits import Committer, Offsets
from simcore.consumer.fetcher import Fetcher
from simcore.consumer.isolation import READ_COMMITTED, end_offset
from simcore.consumer.membership import ClassicMembership, Membership
from simcore.consumer.membership_kip848 import ConsumerProtocolMembership
from simcore.consumer.read_replicas import ReadReplicas
from simcore.consumer.subscription import Chunk, TopicPartitionState
from simcore.kernel.client_metrics import Sensor
from simcore.kernel.ids import IdLog
from simcore.kernel.types import TopicPartition
from simcore.scenario.spec import ConsumerCrash, ConsumerSpec, ConsumerStop, FaultSpec

if TYPE_CHECKING:
    from simcore.broker.cluster import Cluster
    from simcore.consumer.processing import RecordProcessor
    from simcore.groups.coordinator import Coordinator
    from simcore.kernel.engine import Engine, Timer, TimerGroup
    from simcore.kernel.timeline import Timeline

APP_POLL_TIMEOUT_MS: Final = 100  # the application's poll(Duration.ofMillis(100))


class Consumer:
    """A consumer client and its application's poll loop. It owns its ``membership`` of
    the group (the classic protocol or KIP-848's, chosen by ``group.protocol``) and its
    ``committer``; both call it back through the small protocols they declare
    (``MembershipClient``, ``CommitClient``)."""

    def __init__(
        self,
        engine: Engine,
        cluster: Cluster,
        coordinator: Coordinator,
        timeline: Timeline,
        spec: ConsumerSpec,
        faults: list[FaultSpec],
        fine_grained: bool = False,
    ) -> None:
        self.engine = engine
        self.cluster = cluster
        self.coordinator = coordinator
        self.timeline = timeline
        self.spec = spec
        self.committed_only = spec.isolation_level == READ_COMMITTED  # isolation.level
        self.librdkafka = spec.client == "librdkafka"  # (read on every poll: not a property)
        # settings read on every poll, as the consumer's own fields (a spec is not compiled:
        # each read of it is an attribute lookup by name)
        self._java_auto = not self.librdkafka and spec.enable_auto_commit
        self._max_poll_records = spec.max_poll_records
        # librdkafka's offsets are stored as records are handed out (enable.auto.offset.store)
        # or by the application after processing them
        self._store_on_poll = self.librdkafka and spec.enable_auto_offset_store
        self._store_on_process = self.librdkafka and not spec.enable_auto_offset_store
        self.app: ConsumerApp | None = None  # a pipeline's hooks (simcore.run.pipeline)
        self.id = spec.id
        self.group = spec.group
        # small runs step record by record, so each "processed" event has its own time
        self.processing_ms = spec.processing_ms  # changes with processing_changes
        self.fine_grained = fine_grained and (
            spec.processing_ms > 0 or any(c[1] > 0 for c in spec.processing_changes)
        )
        self.metadata = Metadata(cluster)
        self.state = "not_started"
        # what the process schedules dies with it: a fresh group at every (re)start,
        # cancelled when it crashes, closes or fails
        self.life: TimerGroup = engine.group()
        self._restart_timer: Timer | None = None  # a crashed or closed process's restart
        self.last_poll = 0  # when the application last called poll()
        # each partition with a position: the position, its fetched records, the fetch it
        # waits for (subscription.py; the one dict a fetch response's partitions are
        # looked up in)
        self.states: dict[TopicPartition, TopicPartitionState] = {}
        self.stored: dict[TopicPartition, int] = {}  # librdkafka offset store
        self.reset_floor: dict[TopicPartition, int] = {}  # auto.offset.reset=latest passed these
        # partitions with fetched records, in the order the records arrived
        self.arrivals: list[TopicPartitionState] = []  # (a list: see ``_take``)
        # one FetchRequest per broker, KIP-227 sessions (fetcher.py)
        self.fetcher = Fetcher(self)
        self.processed = IdLog()  # the ids of every record processed (a multiset)
        self.processing_total = 0
        self.current: Chunk | None = None
        self.current_started = 0
        self.current_ms = 0
        self.todo: list[Chunk] = []  # polled, not processed yet (a list: a poll's few)
        self.error: str | None = None
        self.exceptions: list[str] = []  # thrown to the application, which carried on
        # client metrics counters (consumer-fetch-manager / consumer-coordinator metrics)
        self.records_consumed = 0
        self.fetch_count = 0
        self.fetch_latency_total = 0
        # ... and the windowed sensors behind them (client_metrics.py)
        self.consumed_sensor = Sensor()  # records-consumed-rate
        self.fetch_latency_sensor = Sensor()  # fetch-latency-avg
        self.lag_sensor = Sensor(max_only=True)  # records-lag-max
        self._wake_at: int | None = None  # when the idle poll loop must act next
        self._wake: Timer | None = None  # the idle loop's one pending wake-up
        self._wake_time = 0  # ... and when it falls due
        self._idle_since = 0
        self._time_faults = [
            f
            for f in faults
            if isinstance(f, (ConsumerCrash, ConsumerStop)) and f.at_ms is not None
        ]
        self._point_faults = [
            f for f in faults if isinstance(f, ConsumerCrash) and f.point is not None
        ]
        self._fired: set[int] = set()
        # follower fetching (KIP-392): only with a client.rack and rack-aware brokers
        self.reads: ReadReplicas | None = None
        if spec.client_rack and cluster.racks:
            self.reads = ReadReplicas(
                engine,
                cluster,
                timeline,
                self.metadata,
                spec.id,
                spec.client_rack,
                spec.metadata_max_age_ms,
                self.fetcher.partition_answer,
                self.fetcher.again,
            )
        self.processor: RecordProcessor | None = None  # failing processing (processing.py)
        self.paused: set[TopicPartition] = set()  # KafkaConsumer.pause(): no fetch, no records
        membership = (
            ConsumerProtocolMembership if spec.group_protocol == "consumer" else ClassicMembership
        )
        self.membership: Membership = membership(engine, cluster, coordinator, timeline, spec, self)
        self.committer = Committer(
            engine, coordinator, timeline, spec, cluster.latency, self.membership, self
        )

    @property
    def latency(self) -> int:
        return self.cluster.latency

    @property
    def positions(self) -> dict[TopicPartition, int]:
        """Each partition's position (a new dict: what a commit of all positions sends)."""
        return {tp: state.position for tp, state in self.states.items()}

    def position(self, tp: TopicPartition) -> int | None:
        state = self.states.get(tp)
        return None if state is None else state.position

    def records_lag(self, tp: TopicPartition) -> int | None:
        """The partition's ``records-lag`` metric: the lag last recorded, or None before
        the first (the client has no such metric yet)."""
        state = self.states.get(tp)
        if state is None:
            return None
        if state.lag >= 0:
            return state.lag
        return 0 if self.fetcher.idle_round_answered(state) else None

    # -- lifecycle --------------------------------------------------------------------------

    def schedule(self) -> None:
        self.engine.at(self.spec.start_ms, self.start, False)
        for at_ms, processing_ms, injected in self.spec.processing_changes:
            self.engine.at(at_ms, self._processing_changed, processing_ms, injected)
        for index, fault in enumerate(self._time_faults):
            assert fault.at_ms is not None
            self.engine.at(fault.at_ms, self._timed_crash, index)

    def start(self, restart: bool) -> None:
        self._end_life()
        self.life = self.engine.group()
        self._wake_at = self._wake = None  # earlier timers died with the process
        self.state = "joining"
        self.membership.started()
        self.timeline.record(
            "restart" if restart else "start",
            self.id,
            group=self.group,
            client=self.spec.client,
            injected=self.spec.injected and not restart,
        )
        self.committer.started()
        self.later(2 * self.latency, self.poll)  # FindCoordinator first

    def refuse(self, error: str, fatal: bool) -> None:
        """The consumer cannot get in (``simcore.run.access``): its connection or a request
        is refused. ``fatal``: the Java client throws from poll() and the application
        stops; otherwise (a connection the broker closes, or librdkafka, which keeps
        retrying and reports errors through poll) it consumes nothing, for ever."""
        self.engine.at(self.spec.start_ms + 2 * self.latency, self._refused, error, fatal)

    def _refused(self, error: str, fatal: bool) -> None:
        if fatal:
            self.fail(error)
            return
        self.state = "joining"
        if error:
            self.exceptions.append(error)

    def _processing_changed(self, processing_ms: int, injected: bool) -> None:
        """From now on each record takes ``processing_ms`` (a record in progress keeps
        the time it started with)."""
        self.processing_ms = processing_ms
        self.timeline.record(
            "processing_change", self.id, processing_ms=processing_ms, injected=injected
        )

    def later(self, delay: int, handler: Callable[..., object], *args: object) -> None:
        """Schedules a handler in this process's life: dropped if the consumer crashes,
        closes or fails first (even if it has restarted since)."""
        self.life.after(delay, handler, *args)

    def _end_life(self) -> None:
        """The process is gone (or starts anew): what it scheduled is dropped, and so is
        a restart still pending for an earlier death."""
        self.life.cancel()
        if self._restart_timer is not None:
            self._restart_timer.cancel()
            self._restart_timer = None

    def init_positions(self, tps: list[TopicPartition]) -> None:
        """OffsetFetch answered: resume at the committed offset, or apply auto.offset.reset.
        A read_committed consumer asks for stable offsets: while a transaction holds
        offsets for one of the partitions the answer is UNSTABLE_OFFSET_COMMIT and it asks
        again (KIP-447; [J] ConsumerCoordinator OffsetFetch with requireStable)."""
        if self.committed_only and self.coordinator.unstable(self.group, tps):
            self.later(self.spec.retry_backoff_ms, self.init_positions, tps)
            return
        membership = self.membership
        for tp in tps:
            if tp not in membership.assignment:
                continue
            committed = self.coordinator.committed_offset(self.group, tp)
            if committed is not None:
                self._set_position(tp, committed, "committed offset")
            else:
                policy = self.spec.auto_offset_reset
                log = self.cluster.partitions[tp].log
                if policy == "none":
                    self.fail(
                        f"NoOffsetForPartitionException: no committed offset for "
                        f"{tp[0]}-{tp[1]} and auto.offset.reset=none"
                    )
                    return
                offset = (
                    log.log_start if policy == "earliest" else end_offset(log, self.committed_only)
                )
                self._set_position(tp, offset, f"auto.offset.reset={policy}")
                self._passed_over(tp, offset, policy)
            membership.group_state.history.partition_started(tp)
        membership.rebalance_done()
        self.maybe_poll()

    def maybe_poll(self) -> None:
        """Run poll() now if the application is waiting inside it (not while it works)."""
        if self.state in ("polling", "rebalancing", "joining"):
            self.poll()

    def forget(self, tps: list[TopicPartition]) -> None:
        """The partitions are no longer this consumer's: positions, fetched records,
        fetches and pauses are dropped (a revoked partition forgets its pause, as in Java)."""
        for tp in tps:
            state = self.states.pop(tp, None)
            if state is not None:
                state.buffer.clear()  # (an arrival still queued for it finds nothing)
                self.fetcher.drop(state)
            self.paused.discard(tp)

    def commit_sync(self, offsets: Offsets, then: Callable[[], None], in_rebalance: bool) -> None:
        self.committer.commit_sync(offsets, then, in_rebalance)

    def restart_auto_commit_timer(self) -> None:
        self.committer.restart_auto_commit_timer()

    def _passed_over(self, tp: TopicPartition, offset: int, policy: str) -> None:
        """``latest`` starts the group at the HW: what lies below it is never read by this
        group (a restart without a committed offset resets to the HW again), and
        kafka-consumer-groups shows no lag for it — skipped, not unread."""
        if policy == "latest":
            self.reset_floor[tp] = max(offset, self.reset_floor.get(tp, 0))

    def seek(self, tp: TopicPartition, offset: int, why: str) -> None:
        """consumer.seek(): the next poll() reads ``tp`` from ``offset``; what was fetched
        for it is dropped (and an answer still out is ignored)."""
        self.fetcher.let_go(self._set_position(tp, offset, why))

    def _set_position(self, tp: TopicPartition, offset: int, why: str) -> TopicPartitionState:
        """The next record of ``tp`` is at ``offset``: what was fetched for it is dropped
        (a fetch it waits for stays its own: the caller lets it go, or not)."""
        state = self.states.get(tp)
        if state is None:
            state = self.states[tp] = TopicPartitionState(self.cluster.partitions[tp], offset)
            self.fetcher.positioned(state)
        else:
            state.position = offset
            state.buffer.clear()
        self.timeline.record("position", self.id, part=f"{tp[0]}-{tp[1]}", offset=offset, why=why)
        return state

    def fail(self, error: str) -> None:
        self.state = "failed"
        self.error = error
        self._end_life()
        self.timeline.record("consumer_failed", self.id, error=error)

    # -- crashes ----------------------------------------------------------------------------

    def _timed_crash(self, index: int) -> None:
        fault = self._time_faults[index]
        if self.state in ("down", "failed", "not_started", "stopped"):
            return
        if isinstance(fault, ConsumerStop):
            self.close(fault)
            return
        self.crash(fault, f"at {fault.at_ms} ms")

    def close(self, fault: ConsumerStop) -> None:
        """A graceful close(): commit (auto-commit, or the app in onPartitionsRevoked), then
        LeaveGroup — static members skip it (KIP-345)."""
        self._finish_partial_processing()
        self.timeline.record("closing", self.id, injected=fault.injected)
        self.todo.clear()
        self.current = None
        membership = self.membership
        membership.rebalancing = True  # no more polling

        def closed() -> None:
            membership.leave_group("the consumer was closed")
            self._drop_state("stopped")
            self.timeline.record("closed", self.id, restart_after_ms=fault.restart_after_ms)
            if fault.restart_after_ms is not None:
                self._restart_timer = self.engine.timer(fault.restart_after_ms, self._restart)

        membership.revoke(
            list(membership.assignment), "the consumer is closing", then=closed, commit_all=True
        )

    def _drop_state(self, state: str) -> None:
        self.membership.drop()
        self._end_life()
        self.state = state
        self.committer.disconnect()
        for partition in self.states.values():  # (positions stay until a restart)
            partition.buffer.clear()
        self.arrivals.clear()
        self.fetcher.reset()
        self.todo.clear()
        self.paused.clear()
        self.current = None

    def crash(self, fault: ConsumerCrash, where: str) -> None:
        self._finish_partial_processing()
        self._drop_state("down")
        self.timeline.record(
            "crash",
            self.id,
            where=where,
            injected=fault.injected,
            restart_after_ms=fault.restart_after_ms,
        )
        if fault.restart_after_ms is not None:
            self._restart_timer = self.engine.timer(fault.restart_after_ms, self._restart)
        if self.app is not None:
            self.app.on_crash()

    def _restart(self) -> None:
        self._restart_timer = None
        if self.state in ("down", "stopped"):
            for state in self.states.values():
                state.live = False
            self.states.clear()
            self.stored.clear()
            if self.app is not None:
                self.app.on_restart()
            self.start(True)

    def _point_fault(
        self, point: str, tp: TopicPartition, first: int, count: int
    ) -> ConsumerCrash | None:
        for index, fault in enumerate(self._point_faults):
            if index in self._fired or fault.point != point or fault.offset is None:
                continue
            if fault.topic is not None and fault.topic != tp[0]:
                continue
            if fault.partition is not None and fault.partition != tp[1]:
                continue
            if first <= fault.offset < first + count:
                self._fired.add(index)
                return fault
        return None

    def crash_at_point(self, point: str, tp: TopicPartition, first: int, count: int) -> bool:
        if not self._point_faults:
            return False
        fault = self._point_fault(point, tp, first, count)
        if fault is None:
            return False
        self.crash(fault, f"{point} offset {fault.offset} of {tp[0]}-{tp[1]}")
        return True

    # -- fetching ----------------------------------------------------------------------------

    def _ensure_fetches(self) -> None:
        """Send the FetchRequests for the fetchable partitions (fetcher.py)."""
        self.fetcher.send()

    def reset_position(self, tp: TopicPartition, offset: int, why: str) -> None:
        """OFFSET_OUT_OF_RANGE: the position resets by ``auto.offset.reset``."""
        self._set_position(tp, offset, why)
        self._passed_over(tp, offset, self.spec.auto_offset_reset)

    def finish_metrics(self) -> None:
        """At the end of the run: the idle rounds of fetches still parked at a broker."""
        self.fetcher.finish_metrics()

    # -- the poll loop -------------------------------------------------------------------------

    def poll(self) -> None:
        self.last_poll = self.engine.now
        self._wake_at = None  # a poll() answers whatever the idle loop was waiting for
        self.state = "polling"  # the application is inside poll() from here on
        java_auto = self._java_auto
        membership = self.membership
        if java_auto and membership.rejoin_needed and not membership.rebalancing:
            # Java sends JoinGroup only in a later poll(), once onJoinPrepare's commit is
            # done: this poll()'s auto-commit still goes out in the stable generation
            self.committer.maybe_auto_commit()
        if not membership.ensure_group():
            return
        self.state = "polling"
        if java_auto:
            self.committer.maybe_auto_commit()
        records = self._take(self._max_poll_records)
        # The positions moved as the records were handed out (``_take``), and only now does
        # poll() send fetches for partitions with nothing buffered ([J] Fetcher.collectFetch
        # moves the position; KafkaConsumer.poll sends the next round before returning
        # records).
        count = 0
        for tp, first, msgs in records:
            count += len(msgs)
            if self._store_on_poll:
                self.stored[tp] = first + len(msgs)
        if records:
            self.records_consumed += count
            self.consumed_sensor.record(self.engine.now, count)
        self._ensure_fetches()
        if not records:
            self._idle_since = self.engine.now
            if java_auto:
                self.wake_idle_poll(self.committer.next_auto_commit)
            return
        if self.timeline.itemises("poll"):
            self.timeline.record("poll", self.id, records=_describe(records))
        for tp, first, msgs in records:
            if self.crash_at_point("after_poll", tp, first, len(msgs)):
                return
        self.todo.extend(self._split_for_faults(records))
        self._process_next()

    def wake_idle_poll(self, not_before: int) -> None:
        """An idle application loops on poll(100 ms): model only the loop turns where
        something happens (an auto-commit falls due, a rebalance must be joined). Data
        arriving wakes poll() at once anyway (see _on_fetch)."""
        start = self._idle_since
        turns = max(1, -(-(not_before - start) // APP_POLL_TIMEOUT_MS))
        wake = start + turns * APP_POLL_TIMEOUT_MS
        if self._wake_at is None or wake < self._wake_at:
            self._wake_at = wake
        self._schedule_wake()

    def _schedule_wake(self) -> None:
        """One pending wake-up at a time (a busy consumer goes idle after every batch: a
        new event per idle poll would be mostly stale): it is replaced only when an
        earlier one is wanted; a later wish is rescheduled when the pending one fires."""
        at = self._wake_at
        if at is None:
            return
        wake = self._wake
        if wake is not None and wake.pending:
            if self._wake_time <= at:
                return
            wake.cancel()
        self._wake_time = at
        self._wake = self.life.timer(at - self.engine.now, self._poll_timeout)

    def _poll_timeout(self) -> None:
        self._wake = None
        if self.state != "polling" or self._wake_at is None:
            return
        if self._wake_at > self.engine.now:
            self._schedule_wake()
            return
        self.poll()

    def _take(self, limit: int) -> list[Chunk]:
        """Up to ``limit`` records, from completed fetches in the order they arrived (the
        Java fetcher's completedFetches queue), so no partition starves the others; each
        partition's position moves past the records handed out, and the partition to the
        end of the fetch order (SubscriptionState.movePartitionToEnd)."""
        out: list[Chunk] = []
        fetcher = self.fetcher
        arrivals, paused = self.arrivals, self.paused
        # records-lag-max: each partition's lag once its records are handed out, from the
        # HW its answer carried ([J] FetchCollector.fetchRecords: after the position
        # moves), recorded once at their max (see Fetcher._response)
        max_lag = -1
        # the arrivals and chunks handed out (or found empty) are cut off the front of
        # their lists once, at the end, not popped one by one
        done, count = 0, len(arrivals)
        while done < count and limit > 0:
            state = arrivals[done]
            buffer = state.buffer  # (empty once its partition is revoked or re-positioned)
            if not buffer or (paused and state.tp in paused):
                done += 1
                continue
            taken, size = 0, len(buffer)
            while taken < size and limit > 0:
                chunk = buffer[taken]
                chunk_tp, first, msgs = chunk
                if len(msgs) <= limit:
                    taken += 1
                    out.append(chunk)
                    limit -= len(msgs)
                    state.position = first + len(msgs)
                else:
                    out.append((chunk_tp, first, msgs[:limit]))
                    buffer[taken] = (chunk_tp, first + limit, msgs[limit:])
                    state.position = first + limit
                    limit = 0
            fetcher.returned(state)
            behind = state.record_lag()
            if behind > max_lag:
                max_lag = behind
            if taken < size:
                del buffer[:taken]
                break  # (the limit is reached: this partition stays first)
            buffer.clear()
            done += 1
        if done == count:
            arrivals.clear()
        elif done:
            del arrivals[:done]
        if max_lag >= 0:
            self.lag_sensor.record(self.engine.now, max_lag)
        return out

    def _split_for_faults(self, chunks: list[Chunk]) -> list[Chunk]:
        """Per-record steps where a record-level action (commit, crash point) needs them."""
        per_record = (
            self.fine_grained
            or self.processor is not None
            or self.committer.strategy == "sync-per-record"
            or self._store_on_process
        )
        if not per_record and not self._point_faults:
            return chunks
        out: list[Chunk] = []
        for tp, first, msgs in chunks:
            cuts = {0, len(msgs)}
            if per_record:
                cuts.update(range(len(msgs)))
            for fault in self._point_faults:
                if fault.offset is not None and first <= fault.offset < first + len(msgs):
                    cuts.update((fault.offset - first, fault.offset - first + 1))
            bounds = sorted(cuts)
            for a, b in itertools.pairwise(bounds):
                out.append((tp, first + a, msgs[a:b]))
        return out

    # -- processing ----------------------------------------------------------------------------

    def _process_next(self) -> None:
        """Process the polled chunks in order; zero processing time runs inline."""
        while self.todo:
            chunk = self.todo.pop(0)
            tp, first, msgs = chunk
            if self.crash_at_point("before_process", tp, first, len(msgs)):
                return
            self.state = "processing"
            self.current = chunk
            self.current_started = self.engine.now
            self.current_ms = self.processing_ms  # a change applies from the next chunk on
            if self.processor is not None:  # one record, tried as processing.py says
                self.processor.attempt()
                return
            if self.processing_ms:
                self.later(self.processing_ms * len(msgs), self._processed)
                return
            if not self._finish_chunk():
                return
        self._after_batch()

    def seek_and_pause(self, tp: TopicPartition, offset: int) -> None:
        """The application's ``seek(tp, offset)`` and ``pause([tp])`` (Java KafkaConsumer):
        the position goes back to ``offset``, what was fetched or polled for ``tp`` and
        not processed yet is dropped (it will be fetched again), and until ``resume`` no
        fetch is sent for ``tp`` and ``poll()`` returns none of its records."""
        state = self._set_position(tp, offset, "seek(): the application hands the record back")
        self.fetcher.let_go(state)  # an answer to the fetch in flight is ignored
        self.todo = [chunk for chunk in self.todo if chunk[0] != tp]
        self.paused.add(tp)

    def resume(self, tp: TopicPartition) -> None:
        """``resume([tp])``: fetching starts again (a waiting ``poll()`` gets the answer)."""
        self.paused.discard(tp)
        self._ensure_fetches()

    def put_back_current(self) -> None:
        """The application hands the current record back unprocessed (after
        ``seek_and_pause``) and goes on with the rest of the poll."""
        self.current = None
        self.later(0, self._process_next)

    def processing_finished(self) -> None:
        """The processor is done with the current record (processed, skipped or handed
        to a retry or dead-letter topic)."""
        self._processed()

    def _processed(self) -> None:
        if self.current is None:
            return  # close() counted what was done and let the chunk in hand go
        if self._finish_chunk():
            self._process_next()

    def _finish_chunk(self) -> bool:
        """The current chunk's side effects happened. False if the consumer stopped here or
        continues later (a blocking commit)."""
        assert self.current is not None
        tp, first, msgs = self.current
        self.current = None
        self._count_processed(msgs)
        if self.timeline.itemises("processed"):  # (quiet in large runs: no fields to build)
            self.timeline.record(
                "processed", self.id, part=f"{tp[0]}-{tp[1]}", first=first, count=len(msgs)
            )
        if self.app is not None:
            self.app.on_processed(tp, first, msgs)
        if self.crash_at_point("after_process", tp, first, len(msgs)):
            return False
        end = first + len(msgs)
        if self._store_on_process:
            self.stored[tp] = end  # rd_kafka_offsets_store() after processing
        if self.committer.strategy == "sync-per-record":
            self.committer.commit_sync({tp: end}, then=self._process_next)
            return False
        return True

    def _count_processed(self, msgs: Sequence[int]) -> None:
        if len(msgs):
            self.processed.add(msgs)
            self.processing_total += len(msgs)

    def _finish_partial_processing(self) -> None:
        """A crash mid-processing: records whose processing time fully elapsed count."""
        if self.current is None or self.state != "processing" or self.processor is not None:
            return  # (a processor's record is done only when its attempt succeeds)
        tp, first, msgs = self.current
        done = len(msgs)
        if self.current_ms > 0:
            done = min(len(msgs), (self.engine.now - self.current_started) // self.current_ms)
        if done:
            self._count_processed(msgs[:done])
            self.timeline.record(
                "processed", self.id, part=f"{tp[0]}-{tp[1]}", first=first, count=done
            )

    def _after_batch(self) -> None:
        if self.app is not None:
            self.app.after_batch()
            return
        committer = self.committer
        if committer.strategy == "sync-per-batch":
            committer.commit_sync(self.positions, then=self.poll)
            return
        if committer.strategy in ("async", "async-with-retry"):
            committer.commit_async(self.positions, auto=False)
        if self.processing_ms or not self.arrivals:
            self.poll()  # with nothing buffered, this poll() only waits: no nesting
        else:  # the next poll as its own event, so back-to-back polls do not nest calls
            self.later(0, self.poll)


def _describe(records: list[Chunk]) -> list[list[str | int]]:
    """The records a poll returns, as data: [partition, first offset, last offset] each
    (narrative.py writes them as "orders-0@5..7")."""
    return [[f"{t}-{p}", first, first + len(msgs) - 1] for (t, p), first, msgs in records]
