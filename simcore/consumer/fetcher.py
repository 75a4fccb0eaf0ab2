"""The consumer's fetcher: one FetchRequest per broker for all the partitions it fetches
there, with KIP-227 fetch sessions (the consumer owns one ``Fetcher``).

Java ([J] consumer/internals/AbstractFetch.java ``prepareFetchRequests``,
``FetchSessionHandler``, FetchCollector, SubscriptionState):

- A partition is *fetchable* when it is assigned, not paused, has a position, has no
  fetched data buffered (a completed fetch not yet handed out), and no request is in
  flight to its node (``nodesWithPendingFetchRequests``). The fetchable partitions are
  grouped by node — the leader, or the read replica it named (KIP-392,
  ``selectReadReplica``) — into one request each, in the fetch order of the assignment,
  where a partition that returned records moves to the end (``movePartitionToEnd``, so no
  partition starves the others within ``fetch.max.bytes``).
- Requests are sent from ``poll()``: before it waits, and pipelined just before it returns
  records (``KafkaConsumer.poll``: "send any new fetches ... before returning"). The
  simulator also sends the next request to a broker when its answer comes in while the
  application processes (Java waits for the next ``poll()``): a poll held up in the group
  (a rebalance's commit) would otherwise leave partitions unfetched in this model.
- KIP-227 (``FetchSessionHandler.Builder.build``): the first request to a node is a full
  one (session id 0, epoch 0); the broker answers with a session id, and each next request
  increments the epoch and lists only the partitions added or whose fetch offset changed,
  and the partitions removed ("forgotten": no longer fetchable, e.g. data buffered, paused,
  revoked). A failed request (the node disconnected) ends the session: the next request is
  full again. The event log shows a session's partition set when it changes
  (``consumer_fetch_session``).
- An answer for a partition whose position moved since (seek, reset, revocation), or that
  is no longer fetched, is discarded for that partition only (``FetchCollector``:
  "discarding stale fetch response"); the others of the same response are kept.

librdkafka ([R] src/rdkafka_fetcher.c ``rd_kafka_broker_fetch_toppars``, rdkafka_broker.c)
has one fetcher per broker too, with one FetchRequest in flight for its toppars, but no
fetch session (SessionId 0, Epoch -1: every request is full), and its broker thread fetches
continuously, not from ``poll()``. The simulator sends librdkafka's requests on every
answer (whatever the application does) but, as for Java, only for partitions with nothing
buffered, where librdkafka pre-fetches up to ``queued.min.messages`` (docs/architecture.md,
"Known differences").

Errors per partition: NOT_LEADER_OR_FOLLOWER (and a lost connection) → metadata refresh and
the partition waits ``retry.backoff.ms``; OFFSET_OUT_OF_RANGE → ``auto.offset.reset``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from simcore.broker.controller import NETWORK_EXCEPTION
from simcore.broker.fetch_requests import OFFSET_OUT_OF_RANGE, ConsumerFetch, PartitionAnswer
from simcore.consumer.isolation import end_offset, hidden

if TYPE_CHECKING:
    from simcore.broker.log import Batch
    from simcore.consumer.consumer import Consumer
    from simcore.kernel.types import TopicPartition


class FetchSession:
    """The client's side of a KIP-227 fetch session with one broker
    (``FetchSessionHandler``): the session id the broker gave, the next epoch, and the
    partitions (with their fetch offsets) the broker holds for it."""

    __slots__ = ("epoch", "partitions", "session_id")

    def __init__(self) -> None:
        self.session_id = 0  # none yet: the next request is a full one
        self.epoch = 0
        self.partitions: dict[TopicPartition, int] = {}


class Fetcher:
    def __init__(self, consumer: Consumer) -> None:
        self.consumer = consumer
        self.cluster = consumer.cluster
        self.engine = consumer.engine
        # the request (or the retry after an error) each partition waits for, by id: an
        # answer for it from any other request is ignored
        self.fetching: dict[TopicPartition, int] = {}
        self.in_flight: dict[int, ConsumerFetch] = {}  # node -> its request out
        self.sessions: dict[int, FetchSession] = {}  # node -> KIP-227 session (Java)
        # the fetch order (SubscriptionState): each assigned partition's place in it, a
        # partition that returned records taking a new place at the end
        self.order: dict[TopicPartition, int] = {}
        self._places = 0  # places handed out
        # the partitions of ``order`` waiting for no request (not in ``fetching``): the
        # only ones ``send`` looks at (after an answer, those of one node; usually none
        # at the second send of a poll, once its records are processed)
        self.free: dict[TopicPartition, None] = {}
        # fetchable partitions waiting for the answer to the request out to their node
        self.blocked: dict[TopicPartition, int] = {}
        self._ids = 0
        self._sends = 0  # send() calls (a poll() that sent needs no second send)
        self._java = not consumer.librdkafka  # KIP-227 sessions (librdkafka has none)
        self._assignment: list[TopicPartition] | None = None  # the one ``order`` is of
        # the request's settings, as the fetcher's own fields (each read of a spec, which
        # is not compiled, is an attribute lookup by name)
        spec = consumer.spec
        self._min_bytes = spec.fetch_min_bytes
        self._max_wait_ms = spec.fetch_max_wait_ms
        self._max_bytes = spec.fetch_max_bytes
        self._part_max_bytes = spec.max_partition_fetch_bytes
        self._rack = spec.client_rack

    # -- state ------------------------------------------------------------------------------

    def reset(self) -> None:
        """The process is gone (crash, close): requests out and sessions are forgotten."""
        self.fetching.clear()
        self.in_flight.clear()
        self.sessions.clear()
        self.order.clear()
        self.free.clear()
        self._assignment = None
        self.blocked.clear()

    def let_go(self, tp: TopicPartition) -> None:
        """An answer still out for ``tp`` is ignored (seek, pause, revocation); if it is
        fetchable again, it goes out with the next request to that node."""
        request_id = self._unfetch(tp)
        for node, request in self.in_flight.items():
            if request.id == request_id:
                self.blocked[tp] = node
                self.cluster.fetches.hurry(request)
                return

    def _unfetch(self, tp: TopicPartition) -> int | None:
        """``tp`` waits for no request any more (the one way a partition leaves
        ``fetching``: it is free again if assigned); returns the id it waited for."""
        request_id = self.fetching.pop(tp, None)
        if request_id is not None and tp in self.order:
            self.free[tp] = None
        return request_id

    def returned(self, tp: TopicPartition) -> None:
        """``poll()`` handed out records of ``tp``: it moves to the end of the fetch order
        (SubscriptionState.movePartitionToEnd)."""
        order = self.order
        if tp in order:
            order[tp] = self._places
            self._places += 1

    # -- requests ---------------------------------------------------------------------------

    def send(self) -> None:
        """One request per node for its fetchable partitions (prepareFetchRequests)."""
        c = self.consumer
        self._sends += 1
        buffers, positions, paused = c.buffers, c.positions, c.paused
        assignment = c.membership.assignment
        fetching, free = self.fetching, self.free
        if assignment is not self._assignment:
            # a new assignment starts a new fetch order, in its own order
            # (SubscriptionState.assignFromSubscribed: PartitionStates.set)
            self._assignment = assignment
            self.order = {tp: place for place, tp in enumerate(assignment)}
            self._places = len(assignment)
            self.free = free = {tp: None for tp in assignment if tp not in fetching}
        blocked = self.blocked
        if blocked:
            blocked.clear()
        if not free:
            return  # every partition waits for an answer (the usual second send of a
            # poll, once its records are processed)
        candidates = self._in_fetch_order(free)
        free.clear()  # each goes into ``fetching`` below, or is free again
        by_node: dict[int, dict[TopicPartition, int]] = {}
        waiting: list[int] = []
        in_flight = self.in_flight
        leaders, reads = c.metadata.leaders, c.reads
        for tp in candidates:
            position = positions.get(tp)
            if position is None or buffers.get(tp) or (paused and tp in paused):
                free[tp] = None
                continue
            leader = leaders[tp]
            if leader is None:  # no leader known: look again after retry.backoff.ms
                c.metadata.refresh()
                self._hold(tp)
                continue
            node = leader if reads is None else reads.replica(tp, leader)
            if node in in_flight:
                blocked[tp] = node
                free[tp] = None
                if node not in waiting:
                    waiting.append(node)
                continue
            offsets = by_node.get(node)
            if offsets is None:
                offsets = by_node[node] = {}
            offsets[tp] = position
        for node in waiting:  # its next request waits for the answer to the one out
            request = in_flight[node]
            if not request.hurried:
                self.cluster.fetches.hurry(request)
        for node, offsets in by_node.items():
            self._send(node, offsets)

    def _in_fetch_order(self, free: dict[TopicPartition, None]) -> list[TopicPartition]:
        """The free partitions in fetch order: sorted by place, by insertion (two or three
        of them, usually; ``sorted`` with a key function is a Python call per item)."""
        tps = [tp for tp in free]  # (list() of a dict is a generic call)
        if len(tps) == 2:  # the usual case: the two partitions a response brought back
            order = self.order
            first, second = tps[0], tps[1]
            if order[first] > order[second]:
                tps[0], tps[1] = second, first
        elif len(tps) > 2:
            order = self.order
            places = [order[tp] for tp in tps]
            for i in range(1, len(tps)):
                place, tp = places[i], tps[i]
                j = i - 1
                while j >= 0 and places[j] > place:
                    places[j + 1] = places[j]
                    tps[j + 1] = tps[j]
                    j -= 1
                places[j + 1] = place
                tps[j + 1] = tp
        return tps

    def _send(self, node: int, offsets: dict[TopicPartition, int]) -> None:
        c = self.consumer
        self._ids += 1
        request = ConsumerFetch(
            self._ids,
            node,
            offsets,
            self._min_bytes,
            self._max_wait_ms,
            self._max_bytes,
            self._part_max_bytes,
            self._rack,
            c.committed_only,
            self._response,
            self.engine.now,
        )
        self._session(request)
        for tp in offsets:
            self.fetching[tp] = request.id  # (``send`` took it out of ``free``)
        self.in_flight[node] = request
        self.cluster.send_fetch(request)

    def _session(self, request: ConsumerFetch) -> None:
        """The request's place in its KIP-227 session: what it lists and forgets."""
        node, offsets = request.node, request.offsets
        session = self.sessions.get(node)
        if session is None:
            session = self.sessions[node] = FetchSession()
        before = session.partitions
        session.partitions = offsets  # (a request's offsets are never modified)
        if session.session_id and self._java and len(before) == len(offsets):
            # the usual case: the same partitions, and offsets moved, if any
            moved: list[TopicPartition] = []
            for tp, offset in offsets.items():
                was = before.get(tp)
                if was is None:
                    break  # another partition
                if was != offset:
                    moved.append(tp)
            else:
                session.epoch += 1
                request.session_id = session.session_id
                request.epoch = session.epoch
                request.listed = moved
                return
        if before.keys() == offsets.keys():
            added = removed = []
        else:
            added = [tp for tp in offsets if tp not in before]
            removed = [tp for tp in before if tp not in offsets]
        c = self.consumer
        if not self._java:  # no sessions: every request is full (SessionId 0, Epoch -1)
            request.epoch = -1
        elif session.session_id == 0:
            request.epoch = 0  # a full request, asking for a new session
            session.epoch = 0
            removed = []
        else:
            session.epoch += 1
            request.session_id = session.session_id
            request.epoch = session.epoch
            request.listed = [tp for tp in offsets if before.get(tp) != offsets[tp]]
            request.forgotten = removed
        if (added or removed) and c.timeline.itemises("consumer_fetch_session"):
            c.timeline.record(
                "consumer_fetch_session",
                c.id,
                broker=node,
                session=request.session_id,
                epoch=request.epoch,
                added=[f"{t}-{p}" for t, p in added],
                removed=[f"{t}-{p}" for t, p in removed],
                partitions=[f"{t}-{p}" for t, p in offsets],
            )

    def _hold(self, tp: TopicPartition) -> None:
        """``tp`` waits ``retry.backoff.ms`` before it is fetchable again."""
        self._ids += 1
        self.fetching[tp] = token = self._ids
        self.free.pop(tp, None)
        self.consumer.later(self.consumer.spec.retry_backoff_ms, self._retry, tp, token)

    def _retry(self, tp: TopicPartition, token: int) -> None:
        if self.fetching.get(tp) == token:
            self._unfetch(tp)
            self.send()

    # -- the response -----------------------------------------------------------------------

    def _response(
        self, request: ConsumerFetch, answers: list[PartitionAnswer], idle_rounds: int
    ) -> None:
        c = self.consumer
        node = request.node
        if self.in_flight.get(node) is not request or c.state in ("down", "failed", "stopped"):
            return  # sent before a crash or a close: nobody waits for it
        del self.in_flight[node]
        now = self.engine.now
        c.fetch_count += 1 + idle_rounds
        c.fetch_latency_total += now - request.sent
        self._record_latency(request.sent, idle_rounds)
        if answers[0][3] == NETWORK_EXCEPTION:  # the connection dropped: the session ends
            self.sessions.pop(node, None)
        elif request.epoch == 0 and request.session_id:
            session = self.sessions.get(node)
            if session is not None and session.session_id == 0:
                session.session_id = request.session_id
        data = False
        reads = c.reads
        lag = c.lag_sensor  # (called as its method: a bound method in a local is a Python call)
        for tp, offset, batches, error, preferred in answers:
            if self.fetching.get(tp) != request.id:
                continue  # let go since (seek, pause, revocation): discarded
            position = c.positions.get(tp)
            if position is not None:
                hw = end_offset(self.cluster.partitions[tp].log, c.committed_only)
                lag.record(now, hw - position if hw > position else 0)
            if reads is not None:
                reads.answered(tp, node, request.sent, offset, batches, error, preferred)
                if batches and c.buffers.get(tp):
                    data = True
            elif self.partition_answer(tp, offset, batches, error):
                data = True
        if not data:
            c.consumed_sensor.record(now, 0)
        if data and c.state == "polling":
            sends = self._sends
            c.poll()  # it sends the next requests, unless it is held up in the group
            if self._sends != sends:
                return
        self.send()  # (also while the application processes: see the module's docstring)

    def waits(self, tp: TopicPartition) -> bool:
        """``tp`` is fetchable, and goes out with the next request to its node, once the
        answer to the request out there is in."""
        node = self.blocked.get(tp)
        return node is not None and node in self.in_flight

    def again(self, tp: TopicPartition) -> None:
        """A read replica sent ``tp`` elsewhere: fetchable again (from wherever the read
        replicas say) once this response is handled."""
        self._unfetch(tp)

    def partition_answer(
        self, tp: TopicPartition, offset: int, batches: list[Batch], error: str | None
    ) -> bool:
        """One partition of a response: its records are buffered, or its error handled.
        True if it brought batches and records of ``tp`` are buffered now."""
        c = self.consumer
        if error is not None:
            self._error(tp, offset, error)
            return bool(batches) and bool(c.buffers.get(tp))
        self._unfetch(tp)
        if c.positions.get(tp) != offset:  # a stale answer (the position moved since):
            return bool(batches) and bool(c.buffers.get(tp))  # fetchable again
        buffer = c.buffers[tp]
        was_empty = not buffer
        aborted = self.cluster.partitions[tp].log.aborted if c.committed_only else None
        skip_to = -1
        for batch in batches:
            if batch.transactional and hidden(batch, aborted):
                skip_to = batch.end  # markers and aborted records: offsets, no records
                continue
            start = max(offset, batch.base) - batch.base
            if start < len(batch.msgs):  # the records are never modified: no copy from 0
                msgs = batch.msgs[start:] if start else batch.msgs
                buffer.append((tp, batch.base + start, msgs))
        if skip_to > offset and not buffer:  # only hidden records: the position moves on
            c.positions[tp] = skip_to
        if buffer and was_empty:
            c.arrivals.append(tp)
        return bool(batches) and bool(buffer)

    def _error(self, tp: TopicPartition, offset: int, error: str) -> None:
        c = self.consumer
        if error != OFFSET_OUT_OF_RANGE or c.positions.get(tp) != offset:
            c.metadata.refresh()  # NOT_LEADER_OR_FOLLOWER, NETWORK_EXCEPTION
            self._hold(tp)
            return
        self._unfetch(tp)
        log = self.cluster.partitions[tp].log
        policy = c.spec.auto_offset_reset
        if policy == "none":
            c.fail(
                f"OffsetOutOfRangeException: offset {offset} is out of range for "
                f"{tp[0]}-{tp[1]} and auto.offset.reset=none"
            )
            return
        reset = log.log_start if policy == "earliest" else end_offset(log, c.committed_only)
        c.reset_position(tp, reset, f"OFFSET_OUT_OF_RANGE at {offset}, auto.offset.reset={policy}")

    # -- metrics ----------------------------------------------------------------------------

    def _record_latency(self, sent: int, idle_rounds: int) -> None:
        """fetch-latency once per FetchResponse. The empty long-poll rounds a parked
        request stood for are recorded at the times their answers would have come, with
        their full wait as latency, no lag (a parked fetch waits at the high watermark)
        and no records."""
        c = self.consumer
        now = self.engine.now
        latency = c.fetch_latency_sensor
        if idle_rounds:
            cycle = c.spec.fetch_max_wait_ms + 2 * self.cluster.latency
            for round_ in range(1, idle_rounds + 1):
                at = sent + round_ * cycle
                latency.record(at, cycle)
                c.lag_sensor.record(at, 0)
                c.consumed_sensor.record(at, 0)
            sent += idle_rounds * cycle
        latency.record(now, now - sent)

    def finish_metrics(self) -> None:
        """At the end of the run: the idle rounds of requests still parked at a broker."""
        c = self.consumer
        if c.state in ("down", "failed"):
            return
        cycle = c.spec.fetch_max_wait_ms + 2 * self.cluster.latency
        for node in sorted(self.in_flight):
            request = self.in_flight[node]
            if not request.cycle:
                continue
            for round_ in range(1, (self.engine.now - request.sent) // cycle + 1):
                at = request.sent + round_ * cycle
                c.fetch_latency_sensor.record(at, cycle)
                c.lag_sensor.record(at, 0)
                c.consumed_sensor.record(at, 0)
