"""Consumer FetchRequests at the broker: one request per (consumer, broker) for all the
partitions the consumer fetches there, answered as one response.

Kafka ([J] core ``KafkaApis.handleFetchRequest``, ``ReplicaManager.fetchMessages``,
``DelayedFetch``; KIP-74, KIP-227, KIP-392):

- Each partition is read at its fetch offset below the HW (``read_committed``: below the
  LSO, ``FetchIsolation.TXN_COMMITTED``); a partition the broker does not lead answers
  NOT_LEADER_OR_FOLLOWER, a fetch offset outside the log OFFSET_OUT_OF_RANGE — errors are
  per partition, the others in the same response carry their records. With
  ``replica.selector.class`` set a leader may instead name a read replica in the client's
  rack, and a follower serves below its own HW (KIP-392).
- The response goes out at once if any partition has an error or a preferred replica, or
  if the bytes readable over all the request's partitions reach ``fetch.min.bytes``;
  otherwise the request is parked as one ``DelayedFetch`` watching every partition of it,
  completed when an HW (or LSO) move makes enough bytes readable, when a partition's
  leadership is lost, or after ``fetch.max.wait.ms`` with whatever there is.
- The response is filled in request order: at most ``max.partition.fetch.bytes`` per
  partition and ``fetch.max.bytes`` in all; the first batch of the first partition with
  data comes whole even if it is larger than either (KIP-74, so the consumer can always
  make progress).

An idle consumer (``fetch.min.bytes`` = 1, nothing to read) long-polls: answered empty at
``fetch.max.wait.ms`` and fetching again, for ever. Those empty rounds change nothing but
the fetch metrics, so such a request parks without a timer and the rounds that passed are
counted when it is answered (``idle_rounds``). When the client wants a different request
to that broker (a partition to add), it asks for the answer the current round would get
(``hurry``): the round's ``fetch.max.wait.ms`` expiry, on the round's own schedule.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from simcore.broker.controller import NETWORK_EXCEPTION
from simcore.broker.log import within_fetch_limit
from simcore.broker.replication import NOT_LEADER_OR_FOLLOWER

if TYPE_CHECKING:
    from simcore.broker.cluster import Cluster, Partition
    from simcore.broker.log import Batch, ReplicaLog
    from simcore.kernel.types import TopicPartition

OFFSET_OUT_OF_RANGE: Final = "OFFSET_OUT_OF_RANGE"
FETCH_MAX_BYTES: Final = 52_428_800  # fetch.max.bytes default (both clients)
MAX_PARTITION_FETCH_BYTES: Final = 1_048_576  # max.partition.fetch.bytes default (librdkafka:
# fetch.message.max.bytes)

# one partition's answer: (partition, fetch offset, batches, error, preferred read replica,
# the end offset of the replica that answered: its HW, or its LSO for read_committed; -1 with
# an error). Java's client keeps the response's ``highWatermark``/``lastStableOffset`` for
# its lag ([J] FetchCollector.updatePartitionState), which is the broker's at the read, one
# hop before the client sees it — not the leader's when the answer arrives.
PartitionAnswer = tuple["TopicPartition", int, list["Batch"], str | None, int | None, int]
# the response at the client: (the request, its answers in request order, the idle
# long-poll rounds it stands for)
FetchResponseCallback = Callable[["ConsumerFetch", list[PartitionAnswer], int], None]

_NONE: Final[list[Batch]] = []  # an answer without batches (never modified)


class ConsumerFetch:
    """One consumer FetchRequest to one broker: its partitions in request order with their
    fetch offsets (two lists, read by index), and the request's settings. The client fills
    the session fields (KIP-227: ``session_id`` 0 and ``epoch`` 0 ask for a new session, a
    full request); the broker sets ``session_id`` when it creates the session."""

    __slots__ = ("committed", "cycle", "done", "epoch", "forgotten", "hurried", "id",
                 "listed", "max_bytes", "max_wait_ms", "min_bytes", "node", "offsets",
                 "parked_at", "part_max_bytes", "parts", "rack", "respond", "sent",
                 "session_id", "timer")  # fmt: skip

    def __init__(
        self,
        request_id: int,
        node: int,
        parts: list[Partition],
        offsets: list[int],
        min_bytes: int,
        max_wait_ms: int,
        max_bytes: int,
        part_max_bytes: int,
        rack: str,
        committed: bool,
        respond: FetchResponseCallback,
        sent: int,
    ) -> None:
        self.id = request_id
        self.node = node
        # the cluster's partitions, in request order, and each one's fetch offset: read by
        # index, not looked up by their (topic, partition) tuple, whose hash is computed
        # afresh at every lookup
        self.parts = parts
        self.offsets = offsets
        self.min_bytes = min_bytes  # fetch.min.bytes
        self.max_wait_ms = max_wait_ms  # fetch.max.wait.ms
        self.max_bytes = max_bytes  # fetch.max.bytes
        self.part_max_bytes = part_max_bytes  # max.partition.fetch.bytes
        self.rack = rack  # client.rack (KIP-392)
        self.committed = committed  # isolation.level=read_committed
        self.respond = respond
        self.sent = sent  # when the client sent it
        self.session_id = 0
        self.epoch = -1  # -1: no session (librdkafka's requests)
        # what the request lists: every partition (a full request), unless the client's
        # fetch session says otherwise (``Fetcher._session`` sets it either way)
        self.listed: list[TopicPartition] = []
        self.forgotten: list[TopicPartition] = []  # removed from the session (KIP-227)
        self.done = False
        self.parked_at = -1  # when it was parked at the broker (-1: not parked)
        self.cycle = 0  # parked without a timer: the length of an idle long-poll round
        self.timer = False  # a fetch.max.wait.ms expiry is scheduled
        self.hurried = False  # the client wants the answer of the current round


class ConsumerFetches:
    """The brokers' side of consumer FetchRequests (the cluster owns one)."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.engine = cluster.engine
        self._sessions = 0  # fetch session ids handed out (Kafka's are random per broker)
        # requests parked on a follower's replica of a partition (KIP-392), by
        # (partition, broker)
        self.at_followers: dict[tuple[TopicPartition, int], list[ConsumerFetch]] = {}
        self._arrival = self._arrive  # bound once (a bound method per request otherwise)

    # -- the request -----------------------------------------------------------------------

    def send(self, request: ConsumerFetch) -> None:
        """Client side: the request goes out now and reaches its broker one hop later."""
        self.engine.after(self.cluster.latency, self._arrival, request)

    def _arrive(self, request: ConsumerFetch) -> None:
        cluster = self.cluster
        node = request.node
        if not cluster.alive[node]:
            self._respond(request, [], whole_error=NETWORK_EXCEPTION)
            return
        if request.epoch == 0:  # a full request creates a session (KIP-227)
            self._sessions += 1
            request.session_id = self._sessions
        ready = False
        readable = 0
        parts, offsets = request.parts, request.offsets
        for k in range(len(parts)):
            offset = offsets[k]
            replica, error, preferred = self._serve(node, parts[k], offset, request.rack)
            if error is not None or preferred is not None:
                ready = True  # errors and preferred replicas are answered at once
                break
            assert replica is not None
            readable += self._readable(replica, offset, request)
            if readable >= request.min_bytes and readable > 0:
                ready = True
                break
        if ready:
            self.complete(request)
            return
        self._park(request)

    def _serve(
        self, node: int, part: Partition, offset: int, rack: str
    ) -> tuple[ReplicaLog | None, str | None, int | None]:
        """The replica of ``part`` at ``node`` that answers this partition, or its error,
        or the read replica the leader names instead (KIP-392)."""
        cluster = self.cluster
        replica = part.replicas.get(node)
        if replica is None or (replica.lead is None and not cluster.rack_aware):
            return None, NOT_LEADER_OR_FOLLOWER, None
        if offset < replica.log_start or offset > replica.leo:
            return None, OFFSET_OUT_OF_RANGE, None
        if replica.lead is not None and cluster.rack_aware and rack:
            preferred = cluster._preferred_read_replica(part, replica, offset, rack)
            if preferred != node:
                return None, None, preferred
        return replica, None, None

    @staticmethod
    def _end(replica: ReplicaLog, committed: bool) -> int:
        return replica.lso if committed else replica.hw

    def _readable(self, replica: ReplicaLog, offset: int, request: ConsumerFetch) -> int:
        """Bytes readable for one partition, up to its per-partition cap (DelayedFetch
        .tryComplete's accumulatedSize)."""
        end = self._end(replica, request.committed)
        if offset >= end:
            return 0
        if request.min_bytes <= 1:
            return 1  # any batch will do: no need to size them
        size = 0
        for batch in replica.batches_from(offset, end):
            size += batch.size
            if size >= request.part_max_bytes:
                return request.part_max_bytes
        return size

    def _park(self, request: ConsumerFetch) -> None:
        """One DelayedFetch, watched by every partition of the request."""
        cluster = self.cluster
        node = request.node
        request.parked_at = self.engine.now
        at_follower = False
        for part in request.parts:
            replica = part.replicas[node]
            if replica.lead is not None:
                replica.lead.fetch_waiters.append(request)
            else:
                at_follower = True
                self.at_followers.setdefault((part.tp, node), []).append(request)
        if request.min_bytes <= 1 and not at_follower and not request.hurried:
            # any data ends the wait: the empty long-poll rounds are counted, not run
            request.cycle = request.max_wait_ms + 2 * cluster.latency
            return
        request.timer = True
        self.engine.after(request.max_wait_ms, self._expire, request)

    def hurry(self, request: ConsumerFetch) -> None:
        """The client wants to send this broker a different request: the long poll's
        current round ends at its fetch.max.wait.ms expiry, and the client sends its next
        request with the answer."""
        if request.done or request.hurried:
            return
        request.hurried = True
        if request.parked_at < 0 or request.timer:
            return  # not there yet (it parks with a timer), or it has one
        cycle = request.cycle
        now = self.engine.now
        expiry = request.parked_at + request.max_wait_ms
        if expiry < now and cycle:
            expiry += -(-(now - expiry) // cycle) * cycle
        request.timer = True
        self.engine.at(max(expiry, now), self._expire, request)

    def _expire(self, request: ConsumerFetch) -> None:
        if not request.done:
            self.complete(request, expired=True)  # fetch.max.wait.ms: whatever there is

    # -- waking parked requests ------------------------------------------------------------

    def wake(
        self, part: Partition, replica: ReplicaLog, waiters: list[ConsumerFetch]
    ) -> list[ConsumerFetch]:
        """``part``'s end (HW or LSO) moved at ``replica``: complete the parked requests that
        can read enough now; returns those still waiting."""
        waiting = []
        for request in waiters:
            if request.done:
                continue
            parts = request.parts  # (one to three partitions: found by identity)
            offset = request.offsets[0 if parts[0] is part else parts.index(part)]
            if request.min_bytes <= 1:
                ready = offset < self._end(replica, request.committed)
            else:
                ready = self._enough(request)
            if ready:
                self.complete(request)
            else:
                waiting.append(request)
        return waiting

    def _enough(self, request: ConsumerFetch) -> bool:
        readable = 0
        node = request.node
        parts, offsets = request.parts, request.offsets
        for k in range(len(parts)):
            offset = offsets[k]
            replica, error, preferred = self._serve(node, parts[k], offset, request.rack)
            if error is not None or preferred is not None:
                return True
            assert replica is not None
            readable += self._readable(replica, offset, request)
        return readable >= request.min_bytes

    def wake_at_follower(self, tp: TopicPartition, replica: ReplicaLog) -> None:
        key = (tp, replica.broker)
        waiters = self.at_followers.get(key)
        if waiters:
            self.at_followers[key] = self.wake(self.cluster.partitions[tp], replica, waiters)

    def leadership_lost(self, tp: TopicPartition, waiters: list[ConsumerFetch], error: str) -> None:
        """A partition's leader steps down (or dies): the requests parked on it are
        completed, that partition answered with ``error`` (DelayedFetch.tryComplete:
        "this broker is no longer the leader")."""
        for request in waiters:
            if not request.done:
                self.complete(request, {tp: error})

    # -- the response ----------------------------------------------------------------------

    def complete(
        self,
        request: ConsumerFetch,
        errors: dict[TopicPartition, str] | None = None,
        expired: bool = False,
    ) -> None:
        """Read every partition in request order within the KIP-74 caps, and respond."""
        request.done = True
        node = request.node
        if not self.cluster.alive[node]:
            self._respond(request, [], whole_error=NETWORK_EXCEPTION)
            return
        room = request.max_bytes
        part_cap = request.part_max_bytes
        first = True  # no batch in the response yet: the first one comes whole
        answers: list[PartitionAnswer] = []
        parts, offsets = request.parts, request.offsets
        for k in range(len(parts)):
            part, offset = parts[k], offsets[k]
            tp = part.tp
            error = errors.get(tp) if errors else None
            if error is not None:
                answers.append((tp, offset, _NONE, error, None, -1))
                continue
            replica, error, preferred = self._serve(node, part, offset, request.rack)
            if replica is None:
                # a leader naming a read replica still reports its own HW (KIP-392)
                end = -1 if preferred is None else self._end(part.replicas[node], request.committed)
                answers.append((tp, offset, _NONE, error, preferred, end))
                continue
            end = self._end(replica, request.committed)
            if offset >= end or (room <= 0 and not first):
                answers.append((tp, offset, _NONE, None, None, end))
                continue
            batches = replica.batches_from(offset, end)
            cap = part_cap if part_cap < room else room
            batches, size = within_fetch_limit(batches, cap, first)
            if batches:
                first = False
                room -= size
            answers.append((tp, offset, batches, None, None, end))
        self._respond(request, answers, expired=expired)

    def _respond(
        self,
        request: ConsumerFetch,
        answers: list[PartitionAnswer],
        whole_error: str | None = None,
        expired: bool = False,
    ) -> None:
        """The response reaches the client one hop later (a broker that dies meanwhile
        drops the connection: NETWORK_EXCEPTION for every partition). A request parked
        without a timer stands for the idle rounds before the one answered now."""
        request.done = True
        idle_rounds = 0
        if request.cycle and request.parked_at >= 0:
            waited = self.engine.now - request.parked_at - (request.max_wait_ms if expired else 0)
            idle_rounds = waited // request.cycle
        if whole_error is not None or not self.cluster.alive[request.node]:
            error = whole_error or NETWORK_EXCEPTION
            answers = [
                (part.tp, offset, _NONE, error, None, -1)
                for part, offset in zip(request.parts, request.offsets, strict=True)
            ]
        self.engine.after(self.cluster.latency, request.respond, request, answers, idle_rounds)
