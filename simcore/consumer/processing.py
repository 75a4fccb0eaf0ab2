"""What the application does with each record it polls, when processing can fail (issue 15).

A consumer with a ``processing:`` block hands every record, one at a time, to its
``RecordProcessor``. An attempt takes the consumer's ``processing_ms``; whether it throws
is the scenario's (``FailureRule``s, or a ``failure_rate`` drawn once per input from the
seed). Attempts are counted per *input* (the record first written by a producer), across
redeliveries and retry topics, so a transient failure ("fails: 2") heals on the third
attempt wherever that happens. Then, as the application's error handling says:

- ``retry``: the listener thread retries the record in place, ``backoff_ms`` apart, up to
  ``max_attempts`` (None: for ever), then logs it and goes on. It does not call
  ``poll()`` meanwhile, so the partition stalls, lag grows, and past
  ``max.poll.interval.ms`` the heartbeat thread leaves the group (Java
  ``KafkaConsumer`` javadoc, "Detecting Consumer Failures"), as a hand-written retry
  loop does. Spring's DefaultErrorHandler (``FixedBackOff``, by default 10 attempts 0 ms
  apart, then the record is logged and skipped) differs in one way: it re-seeks and
  re-polls between attempts, so its poll timer restarts with each attempt and only a
  single back-off longer than ``max.poll.interval.ms`` evicts it (docs/processing.md).
- ``skip``: log and go on: the input is lost for the sink, its offset committed as usual.
- ``dead_letter``: ``retry`` in place, then publish the record to the dead-letter topic,
  same partition, and wait for the ack before going on (Spring's
  DeadLetterPublishingRecoverer: ``<topic>.DLT``, ``KafkaTemplate.send(...).get()``).
- ``retry_topics``: no retry in place: the record is published to the next retry topic
  (``<topic>-retry-<delay>``) with its due time, and the listener goes on with the next
  record — which is why a later record of the same key can reach the sink first. A retry
  topic's listener waits until the record is due, then tries once and forwards a failure
  to the next topic, the last to ``<topic>-dlt`` (Spring's @RetryableTopic). A record
  not due yet is handed back: the listener seeks to it and pauses its partition until it
  is due, polling on meanwhile (``KafkaBackoffAwareMessageListenerAdapter``), so a long
  back-off does not count against ``max.poll.interval.ms``.

The sink is the application's database, shared by the app's listeners: ``naive`` inserts
on every successful attempt (a redelivered input is applied twice), ``idempotent``
upserts keyed by the input's topic-partition-offset (a second write changes nothing).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from simcore.broker.cluster import Metadata
from simcore.broker.log import Batch
from simcore.kernel.types import TopicPartition
from simcore.scenario.processing import dead_letter_topic
from simcore.scenario.spec import ProcessingSpec

if TYPE_CHECKING:
    from simcore.broker.cluster import Cluster
    from simcore.consumer.consumer import Consumer
    from simcore.kernel.engine import Engine
    from simcore.kernel.timeline import Timeline

Position = tuple[str, int, int]  # (topic, partition, offset)
RECORD_BYTES = 80  # a dead-lettered record with its exception headers, roughly
PUBLISH_RETRY_BACKOFF_MS = 100  # the KafkaTemplate's producer: retry.backoff.ms


@dataclass(slots=True)
class Input:
    """A record as a producer first wrote it; its copies in retry topics and DLTs point
    back to it."""

    msg: int
    position: Position  # where it was first read, in its producer's topic
    key: str | None


@dataclass(slots=True)
class Copy:
    """A record an application republished: of which input, and when it is due."""

    origin: Input
    due_ms: int


@dataclass
class Sink:
    """The application's database, as the ledger shows it: each input applied once,
    twice, or never."""

    kind: str  # naive | idempotent
    applied: dict[int, int] = field(default_factory=dict)  # input msg -> times applied
    writes: int = 0
    rows: int = 0
    dedup_hits: int = 0
    order: list[tuple[str | None, Position]] = field(default_factory=list)  # (key, position)
    _seen: set[Position] = field(default_factory=set)

    def write(self, origin: Input) -> bool:
        """One successful processing's write; False if the upsert found the row already."""
        self.writes += 1
        if self.kind == "idempotent" and origin.position in self._seen:
            self.dedup_hits += 1
            return False
        self._seen.add(origin.position)
        self.rows += 1
        self.applied[origin.msg] = self.applied.get(origin.msg, 0) + 1
        self.order.append((origin.key, origin.position))
        return True


@dataclass
class App:
    """One application (its main group) and everything its listeners share."""

    name: str
    spec: ProcessingSpec
    draw: Callable[[], float]
    sink: Sink | None
    attempts: dict[int, int] = field(default_factory=dict)  # input msg -> attempts so far
    succeeded: dict[int, int] = field(default_factory=dict)  # input msg -> successful attempts
    drawn: dict[int, bool] = field(default_factory=dict)  # failure_rate's draw per input
    failed_attempts: int = 0
    retried: int = 0  # attempts in place after a failure
    skipped: list[int] = field(default_factory=list)  # inputs logged and dropped
    dead_lettered: list[int] = field(default_factory=list)
    forwarded: dict[str, int] = field(default_factory=dict)  # retry topic -> records

    def fails(self, origin: Input, attempt: int) -> bool:
        """Does this attempt (1-based, over the input's whole life) throw?"""
        for rule in self.spec.failures:
            if _matches(rule.key, rule.topic, rule.partition, rule.offset, origin):
                return rule.fails is None or attempt <= rule.fails
        if self.spec.failure_rate <= 0:
            return False
        hit = self.drawn.get(origin.msg)
        if hit is None:  # drawn once per input, in the order inputs are first tried
            hit = self.drawn[origin.msg] = self.draw() < self.spec.failure_rate
        fails = self.spec.rate_fails
        return hit and (fails is None or attempt <= fails)


def _matches(
    key: str | None, topic: str | None, partition: int | None, offset: int | None, o: Input
) -> bool:
    if key is not None:
        return o.key == key
    t, p, off = o.position
    return (topic is None or topic == t) and (partition is None or partition == p) and off == offset


class World:
    """The run's applications, republished records and their message ids (a block after
    the producers'), shared by every consumer's processor."""

    def __init__(
        self,
        engine: Engine,
        cluster: Cluster,
        timeline: Timeline,
        first_id: int,
        key_of: Callable[[int], str | None],
    ) -> None:
        self.engine = engine
        self.cluster = cluster
        self.timeline = timeline
        self.next_id = first_id
        self.key_of = key_of
        self.apps: dict[str, App] = {}
        self.copies: dict[int, Copy] = {}
        self.inputs: dict[int, Input] = {}
        self.publishers: list[Publisher] = []

    def app(self, spec: ProcessingSpec) -> App:
        app = self.apps.get(spec.app)
        if app is None:
            rng = self.engine.rng(f"processing/{spec.app}")
            sink = Sink(spec.sink) if spec.sink != "none" else None
            app = self.apps[spec.app] = App(spec.app, spec, rng.random, sink)
        return app

    def origin(self, msg: int, position: Position) -> tuple[Input, int]:
        """The input a record stands for, and when it is due (0: at once)."""
        copy = self.copies.get(msg)
        if copy is not None:
            return copy.origin, copy.due_ms
        found = self.inputs.get(msg)
        if found is None:
            found = self.inputs[msg] = Input(msg, position, self.key_of(msg))
        return found, 0


class Publisher:
    """The application's own producer (Spring's KafkaTemplate, acks=all): one record per
    request, the listener waiting for the ack; errors are retried after
    ``retry.backoff.ms`` with fresh metadata."""

    def __init__(self, world: World, name: str) -> None:
        self.world = world
        self.name = name
        self.metadata = Metadata(world.cluster)
        self.sent_batches: list[tuple[int, range]] = []  # (partition, ids), as a producer's
        self.topics: list[str] = []  # the topic of each sent batch
        self.acked: list[range] = []

    def publish(
        self,
        origin: Input,
        topic: str,
        partition: int,
        due_ms: int,
        done: Callable[[int], None],
        running: Callable[[], bool],
    ) -> None:
        """Send one record; ``done(offset)`` once acknowledged. A process that died
        meanwhile (``running()`` false) neither hears the answer nor retries: the record may
        still be in the log, unacknowledged."""
        world = self.world
        msg = world.next_id
        world.next_id += 1
        world.copies[msg] = Copy(origin, due_ms)
        number = len(self.sent_batches)
        ids = range(msg, msg + 1)
        self.sent_batches.append((partition, ids))
        self.topics.append(topic)
        self._send(TopicPartition(topic, partition), number, ids, done, running)

    def _send(
        self,
        tp: TopicPartition,
        number: int,
        ids: range,
        done: Callable[[int], None],
        running: Callable[[], bool],
    ) -> None:
        engine = self.world.engine
        if not running():
            return
        leader = self.metadata.leader(tp)
        if leader is None:
            self.metadata.refresh()
            engine.after(PUBLISH_RETRY_BACKOFF_MS, self._send, tp, number, ids, done, running)
            return
        batch = Batch(0, ids, RECORD_BYTES, engine.now, self.name, number=number)

        def answered(answers: list[tuple[str | None, int]]) -> None:
            error, base = answers[0]
            if not running():
                return
            if error is not None:
                self.metadata.refresh()
                engine.after(PUBLISH_RETRY_BACKOFF_MS, self._send, tp, number, ids, done, running)
                return
            self.acked.append(ids)
            self.world.timeline.record(
                "ack",
                self.name,
                acks=-1,
                part=f"{tp[0]}-{tp[1]}",
                first=number,
                count=1,
                base=base,
                batch=number,
            )
            done(base)

        cluster = self.world.cluster
        cluster.send_produce(leader, [(cluster.partitions[tp], batch)], -1, answered)


class RecordProcessor:
    """One consumer's processing of its current record (``Consumer.current``)."""

    def __init__(self, consumer: Consumer, world: World, spec: ProcessingSpec) -> None:
        self.consumer = consumer
        self.world = world
        self.spec = spec
        self.app = world.app(spec)
        self.publisher = Publisher(world, f"{consumer.id}-pub")
        world.publishers.append(self.publisher)
        self.tries = 0  # attempts at the current record by this delivery
        self._token = 0
        self._paused_until: dict[tuple[str, int], int] = {}  # this listener's back-off pauses

    def attempt(self) -> None:
        """Start an attempt at the current record (it takes processing_ms) — unless it
        is a retry topic's record not due yet: then, as Spring's back-off-aware listener
        does, the container seeks back to it, pauses the partition until it is due and
        polls on (KafkaBackoffAwareMessageListenerAdapter, KafkaBackoffException)."""
        consumer = self.consumer
        assert consumer.current is not None
        tp, offset, msgs = consumer.current
        origin, due = self.world.origin(msgs[0], (tp[0], tp[1], offset))
        now = consumer.engine.now
        if due > now and self.tries == 0:
            consumer.seek_and_pause(tp, offset)
            consumer.timeline.record(
                "backoff_pause", consumer.id, part=f"{tp[0]}-{tp[1]}", offset=offset, until=due
            )
            self._paused_until[tp] = due
            consumer.later(due - now, self._resume, tp, due)
            consumer.put_back_current()
            return
        self._token += 1
        consumer.later(consumer.processing_ms, self._attempted, self._token, origin)

    def _resume(self, tp: tuple[str, int], due: int) -> None:
        """The back-off is over: resume the partition — unless a rebalance took it away
        (it forgot the pause) or a later pause of it is the one that counts."""
        consumer = self.consumer
        if self._paused_until.get(tp) == due and tp in consumer.paused:
            del self._paused_until[tp]
            consumer.timeline.record("backoff_resume", consumer.id, part=f"{tp[0]}-{tp[1]}")
            consumer.resume(tp)

    def _attempted(self, token: int, origin: Input) -> None:
        consumer = self.consumer
        if token != self._token or consumer.current is None:
            return  # the record was let go (close, rebalance) while it was being tried
        app = self.app
        attempt = app.attempts[origin.msg] = app.attempts.get(origin.msg, 0) + 1
        self.tries += 1
        if not app.fails(origin, attempt):
            app.succeeded[origin.msg] = app.succeeded.get(origin.msg, 0) + 1
            self._write(origin)
            self._done()
            return
        app.failed_attempts += 1
        tp, offset, _msgs = consumer.current
        then = self._next_step()
        consumer.timeline.record(
            "process_failed",
            consumer.id,
            part=f"{tp[0]}-{tp[1]}",
            offset=offset,
            attempt=attempt,
            then=then,
            backoff_ms=self.spec.backoff_ms,
        )
        if then == "retry":
            app.retried += 1
            self._token += 1
            consumer.later(
                self.spec.backoff_ms + consumer.processing_ms, self._attempted, self._token, origin
            )
        elif then == "skip":
            app.skipped.append(origin.msg)
            self._done()
        else:
            self._republish(origin, then)

    def _next_step(self) -> str:
        spec = self.spec
        if spec.on_failure == "retry_topics":  # the last listener forwards to the DLT
            return "dead_letter" if spec.stage == len(spec.retry_delays) else "retry_topic"
        if spec.max_attempts is None or self.tries < spec.max_attempts:
            return "retry"
        return "dead_letter" if spec.on_failure == "dead_letter" else "skip"

    def _republish(self, origin: Input, then: str) -> None:
        consumer = self.consumer
        assert consumer.current is not None
        tp, offset, _msgs = consumer.current
        spec = self.spec
        if spec.on_failure == "retry_topics":
            assert spec.next_topic is not None
            topic = spec.next_topic
            due = consumer.engine.now + (
                spec.retry_delays[spec.stage] if then == "retry_topic" else 0
            )
        else:
            topic = dead_letter_topic(self.spec, tp[0])
            due = 0
        app = self.app
        if then == "dead_letter":
            app.dead_lettered.append(origin.msg)
        else:
            app.forwarded[topic] = app.forwarded.get(topic, 0) + 1
        life = consumer.life

        def acked(base: int) -> None:
            consumer.timeline.record(
                "republished",
                consumer.id,
                part=f"{tp[0]}-{tp[1]}",
                offset=offset,
                to=f"{topic}-{tp[1]}",
                at=base,
                dead_letter=then == "dead_letter",
            )
            if consumer.current is not None:
                self._done()

        def running() -> bool:
            return life.open

        self.publisher.publish(origin, topic, tp[1], due, acked, running)

    def _write(self, origin: Input) -> None:
        sink = self.app.sink
        if sink is None:
            return
        first = origin.msg not in sink.applied
        applied = sink.write(origin)
        if not first:  # a redelivery reached the sink: the lesson of the naive sink
            t, p, off = origin.position
            self.consumer.timeline.record(
                "sink_write", self.consumer.id, input=f"{t}-{p}@{off}", applied=applied
            )

    def _done(self) -> None:
        self.tries = 0
        self.consumer.processing_finished()
