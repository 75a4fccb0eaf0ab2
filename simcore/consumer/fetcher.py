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
    from simcore.broker.cluster import Partition
    from simcore.broker.log import Batch
    from simcore.consumer.consumer import Consumer
    from simcore.consumer.subscription import TopicPartitionState
    from simcore.kernel.types import TopicPartition


def _index(states: list[TopicPartitionState], state: TopicPartitionState) -> int:
    """Where ``state`` is in ``states`` (by identity), or -1."""
    for k in range(len(states)):
        if states[k] is state:
            return k
    return -1


class FetchSession:
    """The client's side of a KIP-227 fetch session with one broker
    (``FetchSessionHandler``): the session id the broker gave, the next epoch, and the
    partitions (with their fetch offsets) the broker holds for it: those of the last
    request, as its two lists."""

    __slots__ = ("epoch", "offsets", "session_id", "states")

    def __init__(self) -> None:
        self.session_id = 0  # none yet: the next request is a full one
        self.epoch = 0
        self.states: list[TopicPartitionState] = []
        self.offsets: list[int] = []


class ClientFetch(ConsumerFetch):
    """A fetch request as its client keeps it: also the state of each of its partitions,
    in request order (set by ``Fetcher._send``), which is the order of the response's
    answers, so an answer finds its partition's state without a lookup."""

    __slots__ = ("states",)

    states: list[TopicPartitionState]


class Fetcher:
    def __init__(self, consumer: Consumer) -> None:
        self.consumer = consumer
        self.cluster = consumer.cluster
        self.engine = consumer.engine
        # the consumer's partitions with a position (the same dict): each one's state
        # holds the request (or the retry after an error) it waits for
        self.states = consumer.states
        self.in_flight: dict[int, ConsumerFetch] = {}  # node -> its request out
        self.sessions: dict[int, FetchSession] = {}  # node -> KIP-227 session (Java)
        # the fetch order (SubscriptionState): the assigned partitions, each with its
        # place in the assignment. A partition that returned records takes a new place at
        # the end, kept in its state (``TopicPartitionState.place``, valid while its
        # ``order_seen`` is this dict: a new assignment, or a restart, makes a new one)
        self.order: dict[TopicPartition, int] = {}
        self._places = 0  # places handed out
        # the states of the partitions of ``order`` waiting for no request: the only ones
        # ``send`` looks at (after an answer, those of one node; usually none at the
        # second send of a poll, once its records are processed). A list, each once: a
        # state joins it when its request ends (``_unfetch``), when it is made for an
        # assigned partition (``positioned``), or when ``send``, which empties it, puts it
        # back (test mode checks it)
        self.free: list[TopicPartitionState] = []
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
        self._on_response = self._response  # bound once (a bound method per request otherwise)

    # -- state ------------------------------------------------------------------------------

    def reset(self) -> None:
        """The process is gone (crash, close): requests out and sessions are forgotten."""
        for state in self.states.values():
            state.request = 0
        self.in_flight.clear()
        self.sessions.clear()
        self.order = {}  # (a new dict: the states' places are of the old one)
        self.free.clear()
        self._assignment = None
        self.blocked.clear()

    def requested(self, tp: TopicPartition) -> bool:
        """``tp`` waits for the answer to a request (or for the retry after an error)."""
        state = self.states.get(tp)
        return state is not None and state.request != 0

    def let_go(self, state: TopicPartitionState) -> None:
        """An answer still out for the partition is ignored (seek, pause, revocation); if
        it is fetchable again, it goes out with the next request to that node."""
        request_id = self._unfetch(state)
        if not request_id:
            return
        for node, request in self.in_flight.items():
            if request.id == request_id:
                self.blocked[state.tp] = node
                self.cluster.fetches.hurry(request)
                return

    def _unfetch(self, state: TopicPartitionState) -> int:
        """The partition waits for no request any more (the one way its ``request`` goes
        back to 0: it is free again if assigned); returns the id it waited for, or 0."""
        request_id = state.request
        if request_id:
            state.request = 0
            if state.live and state.tp in self.order:
                self.free.append(state)
        return request_id

    def drop(self, state: TopicPartitionState) -> None:
        """The consumer dropped the partition's state (revoked): an answer still out is
        ignored, and it is not fetchable any more."""
        state.live = False
        self.let_go(state)
        if state in self.free:
            self.free.remove(state)

    def positioned(self, state: TopicPartitionState) -> None:
        """The consumer made ``state`` (the partition has a position now): fetchable if
        assigned."""
        if state.tp in self.order:
            self.free.append(state)

    def returned(self, state: TopicPartitionState) -> None:
        """``poll()`` handed out records of the partition: it moves to the end of the
        fetch order (SubscriptionState.movePartitionToEnd)."""
        order = self.order
        if state.order_seen is order or state.tp in order:
            state.order_seen = order
            state.place = self._places
            self._places += 1

    # -- requests ---------------------------------------------------------------------------

    def send(self) -> None:
        """One request per node for its fetchable partitions (prepareFetchRequests)."""
        c = self.consumer
        self._sends += 1
        states, paused = self.states, c.paused
        assignment = c.membership.assignment
        free = self.free
        if assignment is not self._assignment:
            # a new assignment starts a new fetch order, in its own order
            # (SubscriptionState.assignFromSubscribed: PartitionStates.set)
            self._assignment = assignment
            self.order = {tp: place for place, tp in enumerate(assignment)}
            self._places = len(assignment)
            self.free = free = []
            for tp in assignment:
                state = states.get(tp)  # (None: no position yet, its OffsetFetch under way)
                if state is not None and not state.request:
                    free.append(state)
        blocked = self.blocked
        if blocked:
            blocked.clear()
        if not free:
            return  # every partition waits for an answer (the usual second send of a
            # poll, once its records are processed)
        candidates = self._in_fetch_order(free)
        free.clear()  # each is requested below, or free again
        # the partitions of each node, nodes in the order of their first partition: those
        # of the first node in ``group``, and a dict only once a second node comes (after
        # an answer, the free partitions are usually those of its node alone)
        group: list[TopicPartitionState] = []
        group_node = -1
        by_node: dict[int, list[TopicPartitionState]] | None = None
        waiting: list[int] = []
        in_flight = self.in_flight
        leaders, reads = c.metadata.leaders, c.reads
        for state in candidates:
            tp = state.tp
            if state.buffer or (paused and tp in paused):
                free.append(state)
                continue
            if state.leaders_seen is not leaders:  # (a refresh replaced the dict)
                state.leaders_seen = leaders
                state.leader = leaders[tp]
            leader = state.leader
            if leader is None:  # no leader known: look again after retry.backoff.ms
                c.metadata.refresh()
                self._hold(state)
                continue
            node = leader if reads is None else reads.replica(tp, leader)
            if node in in_flight:
                blocked[tp] = node
                free.append(state)
                if node not in waiting:
                    waiting.append(node)
                continue
            if by_node is None:
                if not group or node == group_node:
                    group_node = node
                    group.append(state)
                    continue
                by_node = {group_node: group}
            others = by_node.get(node)
            if others is None:
                others = by_node[node] = []
            others.append(state)
        for node in waiting:  # its next request waits for the answer to the one out
            request = in_flight[node]
            if not request.hurried:
                self.cluster.fetches.hurry(request)
        if by_node is None:
            if group:
                self._send(group_node, group)
        else:
            for node, states_of_node in by_node.items():
                self._send(node, states_of_node)

    def _in_fetch_order(self, free: list[TopicPartitionState]) -> list[TopicPartitionState]:
        """The free partitions in fetch order: sorted by place, by insertion (two or three
        of them, usually; ``sorted`` with a key function is a Python call per item)."""
        order = self.order
        for state in free:
            if state.order_seen is not order:  # its place in the assignment
                state.order_seen = order
                state.place = order[state.tp]
        out = free[:]
        if len(out) == 2:  # the usual case: the two partitions a response brought back
            first, second = out[0], out[1]
            if first.place > second.place:
                out[0], out[1] = second, first
        elif len(out) > 2:
            for i in range(1, len(out)):
                state = out[i]
                place = state.place
                j = i - 1
                while j >= 0 and out[j].place > place:
                    out[j + 1] = out[j]
                    j -= 1
                out[j + 1] = state
        return out

    def _send(self, node: int, group: list[TopicPartitionState]) -> None:
        c = self.consumer
        self._ids += 1
        request_id = self._ids
        parts: list[Partition] = []
        offsets: list[int] = []
        for state in group:
            parts.append(state.part)
            offsets.append(state.position)
            state.request = request_id  # (``send`` took it out of ``free``)
        request = ClientFetch(
            request_id,
            node,
            parts,
            offsets,
            self._min_bytes,
            self._max_wait_ms,
            self._max_bytes,
            self._part_max_bytes,
            self._rack,
            c.committed_only,
            self._on_response,
            self.engine.now,
        )
        request.states = group
        self._session(request)
        self.in_flight[node] = request
        self.cluster.send_fetch(request)

    def _session(self, request: ClientFetch) -> None:
        """The request's place in its KIP-227 session: what it lists and forgets."""
        node, states, offsets = request.node, request.states, request.offsets
        session = self.sessions.get(node)
        if session is None:
            session = self.sessions[node] = FetchSession()
        before_states, before_offsets = session.states, session.offsets
        # (a request's lists are never modified once it is sent)
        session.states, session.offsets = states, offsets
        n = len(states)
        if session.session_id and self._java and len(before_states) == n:
            # the usual case: the same partitions (the same states, most often in the same
            # places), and offsets moved, if any
            moved: list[TopicPartition] = []
            for k in range(n):
                state = states[k]
                j = k if before_states[k] is state else _index(before_states, state)
                if j < 0:
                    break  # another partition (or a new state of one: compared by name below)
                if before_offsets[j] != offsets[k]:
                    moved.append(state.tp)
            else:
                session.epoch += 1
                request.session_id = session.session_id
                request.epoch = session.epoch
                request.listed = moved
                return
        tps = [state.tp for state in states]
        before = {state.tp: before_offsets[k] for k, state in enumerate(before_states)}
        now = dict(zip(tps, offsets, strict=True))
        if before.keys() == now.keys():
            added = removed = []
        else:
            added = [tp for tp in tps if tp not in before]
            removed = [tp for tp in before if tp not in now]
        c = self.consumer
        if not self._java:  # no sessions: every request is full (SessionId 0, Epoch -1)
            request.epoch = -1
            request.listed = tps
        elif session.session_id == 0:
            request.epoch = 0  # a full request, asking for a new session
            request.listed = tps
            session.epoch = 0
            removed = []
        else:
            session.epoch += 1
            request.session_id = session.session_id
            request.epoch = session.epoch
            request.listed = [tp for tp in tps if before.get(tp) != now[tp]]
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
                partitions=[f"{t}-{p}" for t, p in tps],
            )

    def _hold(self, state: TopicPartitionState) -> None:
        """The partition waits ``retry.backoff.ms`` before it is fetchable again."""
        self._ids += 1
        state.request = token = self._ids
        free = self.free
        if state in free:
            free.remove(state)
        self.consumer.later(self.consumer.spec.retry_backoff_ms, self._retry, state, token)

    def _retry(self, state: TopicPartitionState, token: int) -> None:
        if state.request == token:  # (not let go since: a revoked partition's is 0)
            self._unfetch(state)
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
        reads, request_id = c.reads, request.id
        # records-lag-max: the largest lag of the answers with nothing to hand out, recorded
        # once (a sensor's samples split by time only, so the records of one instant share
        # one sample, and their max is all that Max reads of them); an answer with records
        # records its lag when poll() hands them out (``Consumer._take``)
        max_lag = -1
        assert isinstance(request, ClientFetch)  # (the one kind this fetcher sends)
        sent = request.states  # (the answers come in request order)
        k = -1
        for tp, offset, batches, error, preferred, end in answers:
            k += 1
            state = sent[k]
            if state.request != request_id:
                continue  # let go since (seek, pause, revocation): discarded
            if idle_rounds:
                state.lag = 0  # what the empty rounds before this answer recorded
            # Java keeps the response's HW (LSO) only for an answer at the position
            # (FetchCollector.handleInitializeSuccess), and reads lag from it
            fresh = error is None and state.position == offset
            if fresh and end >= 0:
                state.end = end
            if reads is not None:
                reads.answered(tp, node, request.sent, offset, batches, error, preferred)
                if batches and state.buffer:
                    data = True
            elif self._answer(state, offset, batches, error):
                data = True
            if fresh and not state.buffer:
                # nothing to hand out: the empty completed fetch records its lag at once
                # (the application waits in poll(); FetchCollector.fetchRecords)
                behind = state.record_lag()
                if behind > max_lag:
                    max_lag = behind
        if max_lag >= 0:
            c.lag_sensor.record(now, max_lag)
        if not data:
            c.consumed_sensor.record(now, 0)
        if data and c.state == "polling":
            sends = self._sends
            c.poll()  # it sends the next requests, unless it is held up in the group
            if self._sends != sends:
                return
        self.send()  # (also while the application processes: see the module's docstring)

    def idle_round_answered(self, state: TopicPartitionState) -> bool:
        """Whether the first empty answer of the idle long poll out for the partition has
        reached the client by now: those answers are counted, not run (``_record_latency``),
        and each would have recorded its partitions' lag, 0."""
        request_id = state.request
        if request_id:
            for request in self.in_flight.values():
                if request.id == request_id:
                    return request.cycle > 0 and self.engine.now >= request.sent + request.cycle
        return False

    def waits(self, tp: TopicPartition) -> bool:
        """``tp`` is fetchable, and goes out with the next request to its node, once the
        answer to the request out there is in."""
        node = self.blocked.get(tp)
        return node is not None and node in self.in_flight

    def again(self, tp: TopicPartition) -> None:
        """A read replica sent ``tp`` elsewhere: fetchable again (from wherever the read
        replicas say) once this response is handled."""
        state = self.states.get(tp)
        if state is not None:
            self._unfetch(state)

    def partition_answer(
        self, tp: TopicPartition, offset: int, batches: list[Batch], error: str | None
    ) -> None:
        """One partition of a response, delivered by the read replicas (read_replicas.py)."""
        state = self.states.get(tp)
        if state is not None:  # (only answers a partition still waits for are delivered)
            self._answer(state, offset, batches, error)

    def _answer(
        self, state: TopicPartitionState, offset: int, batches: list[Batch], error: str | None
    ) -> bool:
        """One partition of a response: its records are buffered, or its error handled.
        True if it brought batches and records of the partition are buffered now."""
        c = self.consumer
        if error is not None:
            self._error(state, offset, error)
            return bool(batches) and bool(state.buffer)
        self._unfetch(state)
        buffer = state.buffer
        if state.position != offset:  # a stale answer (the position moved since):
            return bool(batches) and bool(buffer)  # fetchable again
        was_empty = not buffer
        tp = state.tp
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
            state.position = skip_to
        if buffer and was_empty:
            c.arrivals.append(state)
        return bool(batches) and bool(buffer)

    def _error(self, state: TopicPartitionState, offset: int, error: str) -> None:
        c = self.consumer
        if error != OFFSET_OUT_OF_RANGE or state.position != offset:
            c.metadata.refresh()  # NOT_LEADER_OR_FOLLOWER, NETWORK_EXCEPTION
            self._hold(state)
            return
        self._unfetch(state)
        tp = state.tp
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
