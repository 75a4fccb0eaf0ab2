"""The producer: record accumulator, batches per partition, in-flight requests, acks.

Modelled on the Java client's RecordAccumulator and Sender ([J]
producer/internals/): records join the last batch of their partition's queue until
it is full (``batch.size``); a batch is ready when full or when ``linger.ms`` has
passed since its first record; the sender drains ready batches while the leader's
connection has fewer than ``max.in.flight.requests.per.connection`` requests out.
A failed batch goes back to the *front* of its queue after ``retry.backoff.ms``,
which is how retries reorder without idempotence. ``delivery.timeout.ms`` bounds
the whole life of a batch. The idempotent producer's sequence numbers and epoch are
``simcore.producer.idempotence``'s.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from typing import TYPE_CHECKING, Final

from simcore.broker.cluster import Metadata
from simcore.kernel.ids import IdLog
from simcore.producer.batch import PendingBatch, extend
from simcore.producer.partitioner import key_path
from simcore.producer.partitioner_bulk import KeyedPartitions
from simcore.producer.sender import Sender
from simcore.producer.transactions import TransactionManager
from simcore.scenario.spec import FaultSpec, ProducerSpec

if TYPE_CHECKING:
    from simcore.broker.cluster import Cluster
    from simcore.kernel.engine import Engine
    from simcore.kernel.timeline import Timeline

RECORD_OVERHEAD: Final = 8  # varint lengths, attributes, deltas: a typical small record
BATCH_OVERHEAD: Final = 61  # RecordBatch header (v2)
LIBRDKAFKA_STICKY_MS: Final = 10  # sticky.partitioning.linger.ms default
NEVER: Final = 2**62  # a record that is never due (the producer is paused for good)


def render(template: str, i: int) -> str:
    """A key/value template with ``{i}`` (format specs allowed: ``{i:05d}``, ``{{`` for a
    brace), as the scenario validator checks it."""
    return template.format(i=i)


class Producer:
    """The application's side of a producer and its record accumulator (records due by
    the rate schedule join their partitions' batches); its ``sender`` sends the batches
    and handles the answers, calling back ``ready``, ``plan_next_wake``, ``complete`` and
    ``halt``."""

    def __init__(
        self,
        engine: Engine,
        cluster: Cluster,
        timeline: Timeline,
        spec: ProducerSpec,
        msg_base: int,
        producer_index: int,
        faults: list[FaultSpec] | None = None,
    ) -> None:
        self.engine = engine
        self.cluster = cluster
        self.timeline = timeline
        self.spec = spec
        self.msg_base = msg_base
        self.num_partitions = cluster.partition_counts[spec.topic]
        self._sizes: dict[int, int] = {}
        self._stamps: dict[int, int] = {}  # creation times seen at this wake-up (``_fill``)
        self._size_span = (0, 0, 0)  # [low, high) indexes of the last size looked up, and it
        # ``_accumulate_placed``'s records per partition at one wake-up (None: none)
        self._groups: list[list[int] | None] = [None] * self.num_partitions
        self._stretches = self._pace()
        self._starts = [s[0] for s in self._stretches]
        self._counts = [s[2] for s in self._stretches]
        self._steady = len(self._stretches) == 1
        # the spec's start and rate as the producer's own fields: read per record, and a
        # spec (not compiled) is an attribute lookup by name
        self._start_ms = spec.start_ms
        self._rate = spec.rate_per_s
        self.metadata = Metadata(cluster)
        self.next_i = 0
        # each partition's batches, oldest first: only partitions with batches are listed.
        # Lists, not deques: a queue holds one or two batches but in an outage, and
        # mypyc indexes, appends and pops a list natively (a deque by generic calls)
        self.queues: dict[int, list[PendingBatch]] = {}
        self.halted = False  # librdkafka after a fatal error: produce() refuses records
        # the application produces nothing now (a transactional one: outside a transaction)
        self.holding = spec.transactional_id is not None
        self.acked = IdLog()  # the ids of the acknowledged batches
        self.failed = IdLog()  # and of those that failed for good
        self.acked_count = 0
        self.batches_acked = 0
        self.failed_count = 0
        self.sent = 0
        self.wake_at: int | None = None  # the accumulator's next planned wake-up
        self._rng = engine.rng(f"partitioner/{spec.id}")
        self.sender = Sender(
            engine,
            cluster,
            timeline,
            spec,
            self.metadata,
            self,
            1000 + producer_index if spec.enable_idempotence else -1,
            msg_base,
            faults or [],
        )
        self.txn: TransactionManager | None = None  # transactional.id: in place of idem
        if spec.transactional_id is not None and self.sender.idem is not None:
            coordinator = cluster.transactions
            assert coordinator is not None
            self.txn = TransactionManager(self, self.sender.idem, coordinator)
            self.sender.idem = self.txn
        self._sticky: int | None = None
        self._sticky_bytes = 0
        self._sticky_since = 0
        self._spread = (  # NULL keys; librdkafka consistent_random also empty keys
            spec.partition is None and key_path(spec.client, spec.partitioner, spec.key) == "sticky"
        )
        self._placer = (  # where each record goes when not spread
            None
            if self._spread
            else KeyedPartitions(
                spec.client,
                spec.partitioner,
                spec.key,
                spec.partition,
                self.num_partitions,
                self._rng,
                spec.messages,
            )
        )

    # -- the record clock ---------------------------------------------------------------

    def _pace(self) -> list[tuple[int, float, float]]:
        """(from ms, records per second, records sent before) for each stretch of the
        producer's rate schedule (``rate_per_s`` then ``rate_changes``)."""
        stretches = [(self.spec.start_ms, self.spec.rate_per_s, 0.0)]
        for at_ms, rate, _injected in self.spec.rate_changes:
            at_ms = max(at_ms, self.spec.start_ms)
            start, last_rate, before = stretches[-1]
            stretches.append((at_ms, rate, before + (at_ms - start) * last_rate / 1000))
        return stretches

    def due(self, i: int) -> int:
        """When record ``i`` is produced (ms)."""
        if self._steady:  # no rate changes: the common case, without a search
            return self._start_ms + math.floor(i * 1000 / self._rate)
        k = bisect_right(self._counts, i) - 1
        start, rate, before = self._stretches[k]
        if rate == 0:
            return NEVER
        return start + math.floor((i - before) * 1000 / rate)

    def _count_by(self, time_ms: int) -> float:
        """How many records are due before ``time_ms`` (approximately; callers adjust)."""
        k = max(0, bisect_right(self._starts, time_ms) - 1)
        start, rate, before = self._stretches[k]
        return before + max(0, time_ms - start) * rate / 1000

    def _last_due(self, now: int) -> int:
        """The largest index with due(i) <= now (or next_i - 1 if none)."""
        n = self.spec.messages
        if self._steady:  # due(i) <= now  <=>  i < (now - start + 1) * rate / 1000
            count = (now - self._start_ms + 1) * self._rate / 1000
        else:
            count = self._count_by(now + 1)
        guess = min(n - 1, math.ceil(count) - 1)
        while guess + 1 < n and self.due(guess + 1) <= now:
            guess += 1
        while guess >= self.next_i and self.due(guess) > now:
            guess -= 1
        return max(guess, self.next_i - 1)

    def record_size(self, i: int) -> int:
        """Approximate bytes of record ``i``; records whose index has as many digits are
        taken to be the same size (memoised per digit count: this runs for every batch)."""
        low, high, size = self._size_span
        if low <= i < high:
            return size
        digits = len(str(i))
        size = self._sizes.get(digits, -1)
        if size < 0:
            key = len(render(self.spec.key, i)) if self.spec.key is not None else 0
            size = self._sizes[digits] = RECORD_OVERHEAD + key + len(render(self.spec.value, i))
        self._size_span = (10 ** (digits - 1) if digits > 1 else 0, 10**digits, size)
        return size

    def start(self) -> None:
        if self.txn is not None:
            self.engine.at(self.spec.start_ms, self.txn.start)
        if self.spec.messages > 0 and self.due(0) < NEVER:
            self._wake(self.due(0))
        for at_ms, rate, injected in self.spec.rate_changes:
            self.engine.at(at_ms, self._rate_changed, rate, injected)

    def refuse(self, error: str, delay_ms: int, blocking: bool) -> None:
        """The producer never gets a record to a broker (its connection or its requests are
        refused, ``simcore.run.access``): each record's send fails ``delay_ms`` after it is
        due — at once for an exception send() returns (TopicAuthorizationException, an
        AuthenticationException), after ``message.timeout.ms`` for librdkafka, which keeps
        reconnecting. ``blocking``: the Java send() waits ``max.block.ms`` for metadata on
        the application's thread, so record i+1 is sent only when record i has failed.
        The failures are reported once a second (one ``send_refused`` event each)."""
        self.halted = True  # no batch is ever made
        self._refusal = (error, delay_ms, blocking)
        self._refused_until = -1  # when the last failed record failed
        if self.spec.messages > 0:
            self.engine.at(self.spec.start_ms, self._fail_refused)

    def _fail_refused(self) -> None:
        error, delay, blocking = self._refusal
        now, end = self.engine.now, self.spec.messages
        first = i = self.next_i
        while i < end:
            due = self.due(i)
            if due >= NEVER:
                break
            fails = max(due, self._refused_until) + delay if blocking else due + delay
            if fails > now:
                break
            self._refused_until = fails
            i += 1
        if i > first:
            ids = range(self.msg_base + first, self.msg_base + i)
            self.failed.add(ids)
            self.failed_count += len(ids)
            self.next_i = i
            self.sent += len(ids)  # the application called send() for each
            self.timeline.record(
                "send_refused", self.spec.id, first=first, count=len(ids), error=error
            )
        if i < end and self.due(i) < NEVER:
            self.engine.after(1000, self._fail_refused)

    def _rate_changed(self, rate: float, injected: bool) -> None:
        self.timeline.record("rate_change", self.spec.id, rate_per_s=f"{rate:g}", injected=injected)

    # -- accumulate -------------------------------------------------------------------------

    def _wake(self, time_ms: int) -> None:
        time_ms = max(time_ms, self.engine.now)
        if self.wake_at is not None and self.wake_at <= time_ms:
            return
        self.wake_at = time_ms
        self.engine.at(time_ms, self._tick, time_ms)

    def _tick(self, scheduled: int) -> None:
        if scheduled != self.wake_at:
            return  # superseded by an earlier wake-up
        self.wake_at = None
        self._accumulate()
        self.sender.drain()
        self.plan_next_wake()

    def take_due(self) -> None:
        """The records due by now join their batches (the application sent them)."""
        self._accumulate()

    def halt(self) -> None:
        """No record is produced any more; those due so far join their batches first."""
        self._accumulate()
        self.halted = True

    def _accumulate(self) -> None:
        if self.halted or self.holding:
            return
        self._stamps.clear()
        last = self._last_due(self.engine.now)
        if not self._spread:
            if self.next_i <= last:
                self._accumulate_placed(self.next_i, last + 1)
            return
        batch_size = self.spec.batch_size
        while self.next_i <= last:
            i = self.next_i
            size = self.record_size(i)
            part = self._sticky_partition(i)
            batch = self._open_batch(part)
            room = max(1, (batch_size - (batch.size if batch else BATCH_OVERHEAD)) // size)
            end = min(last + 1, i + room)
            if self.spec.client != "java":
                deadline = self._sticky_since + LIBRDKAFKA_STICKY_MS
                while end > i + 1 and self.due(end - 1) >= deadline:
                    end = max(i + 1, min(end - 1, self._first_due_at(deadline)))
            self._append(part, i, end, batch, size)

    def _first_due_at(self, time_ms: int) -> int:
        i = max(self.next_i, math.floor(self._count_by(time_ms)))
        while i > self.next_i and self.due(i - 1) >= time_ms:
            i -= 1
        while self.due(i) < time_ms:
            i += 1
        return i

    def _accumulate_placed(self, start: int, end: int) -> None:
        """Records [start, end) whose partition the producer does not choose by stickiness
        (an explicit partition, a hashed key, librdkafka ``random``) join their partitions'
        batches in record order, as one record at a time would: partitions come in bulk
        (``KeyedPartitions``), and each partition's records fill its batches by arithmetic.

        Keyed traffic on a wide topic puts a record or two in each partition at a wake-up
        (linger.ms 5 at a few hundred records/s per partition), most of them opening a
        batch: that case is done here at once, anything else by ``_fill``."""
        placer = self._placer
        assert placer is not None
        base = self.msg_base
        queues = self.queues
        stamps = self._stamps
        batch_size = self.spec.batch_size
        while start < end:
            stop = min(end, 10 ** len(str(start)))  # as many digits: one record_size
            size = self.record_size(start)
            if placer.constant is not None:
                self._fill(placer.constant, range(base + start, base + stop), size)
            else:
                # each partition's records, partitions in the order of their first record
                # (a list indexed by partition: no dict, no boxed key per record)
                groups = self._groups
                touched: list[int] = []
                parts = placer.of(start, stop)
                for k in range(len(parts)):
                    part = parts[k]
                    group = groups[part]
                    if group is None:
                        groups[part] = [base + start + k]
                        touched.append(part)
                    else:
                        group.append(base + start + k)
                fits = max(1, (batch_size - BATCH_OVERHEAD) // size)  # records a new batch takes
                for part in touched:
                    ids = groups[part]
                    assert ids is not None
                    groups[part] = None
                    queue = queues.get(part)
                    n = len(ids)
                    if n > fits or (queue and not queue[-1].closed):
                        self._fill(part, ids, size)  # joins an open batch, or more than one
                        continue
                    # ``_fill``'s first new batch, taking all of ``ids``
                    gid = ids[0]
                    due = self.due(gid - base)
                    batch = PendingBatch(
                        part,
                        gid - base,
                        ids,  # (sealed when sent)
                        BATCH_OVERHEAD + size * n,
                        stamps.setdefault(due, due),
                    )
                    if batch.size >= batch_size:
                        batch.closed = True
                    if queue is None:
                        queue = queues[part] = []
                    queue.append(batch)
            self._sticky_bytes += size * (stop - start)
            self.sent += stop - start
            start = self.next_i = stop

    def _fill(self, part: int, ids: list[int] | range, size: int) -> None:
        """Messages ``ids`` (ascending global ids, records of ``size`` bytes) join the
        partition's open batch until it is full, then new batches (``_append``'s rules:
        a record that would overflow a batch with records in it starts a new one)."""
        batch_size = self.spec.batch_size
        queue = self.queues.get(part)
        batch = queue[-1] if queue and not queue[-1].closed else None
        # batches opened at one wake-up share their creation times' int objects (the log
        # keeps one per batch: 28 bytes each, for hundreds of thousands of keyed batches)
        stamps = self._stamps
        k, n = 0, len(ids)
        while k < n:
            if batch is None or batch.size + size > batch_size:
                if batch is not None:
                    batch.closed = True
                # a new batch: its records at once (keyed traffic: most batches are new
                # and take every record of the partition due at this wake-up)
                first = ids[k] - self.msg_base
                take = min(n - k, max(1, (batch_size - BATCH_OVERHEAD) // size))
                # a range of a range (an explicit partition), else a list (sealed when sent)
                chunk = ids[k : k + take]
                due = self.due(first)
                batch = PendingBatch(
                    part, first, chunk, BATCH_OVERHEAD + size * take, stamps.setdefault(due, due)
                )
                if queue is None:
                    queue = self.queues[part] = []
                queue.append(batch)
            else:
                take = min(n - k, max(1, (batch_size - batch.size) // size))
                extend(batch, ids[k : k + take])
                batch.size += size * take
            k += take
            if batch.size >= batch_size:
                batch.closed = True
                batch = None

    def _sticky_partition(self, i: int) -> int:
        """KIP-794 for Java (switch after batch.size bytes); librdkafka: switch every 10 ms."""
        now = self.due(i)
        sticky = self._sticky
        if sticky is None:
            switch = True
        elif self.spec.client == "java":
            switch = self._sticky_bytes >= self.spec.batch_size
        else:
            switch = now >= self._sticky_since + LIBRDKAFKA_STICKY_MS
        if switch or sticky is None:  # (None always switches; spelled out for mypy)
            sticky = self._sticky = self._rng.randrange(self.num_partitions)
            self._sticky_bytes = 0
            self._sticky_since = now
        return sticky

    def _open_batch(self, part: int) -> PendingBatch | None:
        queue = self.queues.get(part)
        if queue and not queue[-1].closed:
            return queue[-1]
        return None

    def _append(
        self, part: int, start: int, end: int, batch: PendingBatch | None, record_size: int
    ) -> None:
        """Records [start, end) join ``batch`` (the partition's open batch, or None), or a
        new batch when they would overflow it."""
        size = record_size * (end - start)
        if batch is None or (batch.size + size > self.spec.batch_size and batch.msgs):
            if batch is not None:
                batch.closed = True
            batch = PendingBatch(part, start, range(0), BATCH_OVERHEAD, self.due(start))
            queue = self.queues.get(part)
            if queue is None:
                queue = self.queues[part] = []
            queue.append(batch)
        extend(batch, range(self.msg_base + start, self.msg_base + end))
        batch.size += size
        self._sticky_bytes += size
        if batch.size >= self.spec.batch_size:
            batch.closed = True
        self.next_i = end
        self.sent += end - start

    # -- send -----------------------------------------------------------------------------

    def ready(self, batch: PendingBatch, queue: list[PendingBatch]) -> bool:
        if batch.attempts > 0:
            return self.engine.now >= batch.retry_at
        return (
            batch.closed
            or len(queue) > 1
            or self.engine.now >= batch.created_ms + self.spec.linger_ms
        )

    def plan_next_wake(self) -> None:
        wake = NEVER
        now, linger = self.engine.now, self.spec.linger_ms
        batch_size = self.spec.batch_size
        # the least room left in an open batch (one pass over the queues for both): only a
        # queue's last batch can be open — a batch is closed before another joins its
        # queue, and when it is sent (a retry goes back to the front closed)
        least = batch_size - BATCH_OVERHEAD
        for queue in self.queues.values():
            if not queue:
                continue
            last = queue[-1]
            if not last.closed and batch_size - last.size < least:
                least = batch_size - last.size
            head = queue[0]  # the first batch not ready yet (``ready``)
            if head.attempts:
                at = head.retry_at
            elif head.closed or len(queue) > 1:
                continue
            else:
                at = head.created_ms + linger
            if now < at < wake:
                wake = at
        if self.next_i < self.spec.messages and not self.halted and not self.holding:
            wake = min(wake, self._next_record_wake(least))
        if wake < NEVER:
            self._wake(wake)

    def _next_record_wake(self, least_room: int) -> int:
        """Records not yet appended need no event of their own until one of them could
        make a batch ready: the first one's linger deadline (if it opens a batch; if it
        joins one, that batch's deadline is planned anyway), or the one that could fill a
        batch — the sticky partition's, or (records placed by key or partition) the open
        batch with the ``least_room`` left. They are appended, with their own timestamps,
        at that wake-up."""
        nxt = self.next_i
        first = self.due(nxt)
        if first >= NEVER:
            return NEVER
        size = self.record_size(nxt)
        room = least_room
        if self._spread and self._sticky is not None:
            batch = self._open_batch(self._sticky)
            room = self.spec.batch_size - (batch.size if batch else BATCH_OVERHEAD)
        fill = min(self.spec.messages - 1, nxt + max(1, room // size) - 1)
        return min(first + self.spec.linger_ms, self.due(fill))

    def complete(self, batch: PendingBatch, error: str | None, base: int = -1) -> None:
        if error is None:
            self.acked.add(batch.msgs)
            self.acked_count += len(batch.msgs)
            self.batches_acked += 1
            if self.timeline.itemises("ack"):
                self.timeline.record(
                    "ack",
                    self.spec.id,
                    part=f"{self.spec.topic}-{batch.partition}",
                    first=batch.msgs[0] - self.msg_base,
                    count=len(batch.msgs),
                    acks=self.spec.acks,
                    base=base,
                    batch=batch.number,
                )
        else:
            part = f"{self.spec.topic}-{batch.partition}"
            first = batch.msgs[0] - self.msg_base
            self.failed.add(batch.msgs)
            self.failed_count += len(batch.msgs)
            self.timeline.record(
                "produce_failed",
                self.spec.id,
                part=part,
                first=first,
                count=len(batch.msgs),
                error=error,
                batch=batch.number,
            )
