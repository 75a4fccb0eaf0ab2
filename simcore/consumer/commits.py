"""How a consumer commits: commitSync, commitAsync (with or without a retrying
callback), Java's auto-commit inside poll, and librdkafka's auto-commit timer.

Sources: [J] KafkaConsumer javadoc and ConsumerCoordinator (commitOffsetsSync retries
retriable errors with retry.backoff.ms until the timer — default.api.timeout.ms —
expires, then throws TimeoutException; non-retriable errors such as
CommitFailedException throw at once; commitAsync sends once and reports a failure to
its callback as RetriableCommitFailedException). [R] rdkafka_cgrp.c: the auto-commit
timer commits stored offsets that moved forward.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Final, Protocol

from simcore.groups.classic import REBALANCE_IN_PROGRESS
from simcore.groups.coordinator import COORDINATOR_NOT_AVAILABLE
from simcore.groups.kip848 import STALE_MEMBER_EPOCH
from simcore.kernel.client_metrics import Sensor
from simcore.kernel.types import TopicPartition

if TYPE_CHECKING:
    from simcore.consumer.membership import Membership
    from simcore.groups.coordinator import Coordinator
    from simcore.kernel.engine import Engine
    from simcore.kernel.timeline import Timeline
    from simcore.scenario.spec import ConsumerSpec

Offsets = dict[TopicPartition, int]
# STALE_MEMBER_EPOCH (group.protocol=consumer): the commit raced a member epoch bump; the
# client retries it with the epoch its next heartbeat brings (CommitRequestManager)
RETRIABLE: Final = frozenset((COORDINATOR_NOT_AVAILABLE, "REQUEST_TIMED_OUT", STALE_MEMBER_EPOCH))


def _or_minus_one(offset: int | None) -> int:
    return -1 if offset is None else offset


def _fmt(offsets: Offsets) -> list[list[str | int]]:
    """Committed offsets as data: [partition, offset] each, in partition order (narrative.py
    writes them as "orders-0@5")."""
    return [[f"{t}-{p}", o] for (t, p), o in sorted(offsets.items())]


class CommitRequest:
    """An OffsetCommit request in flight on the connection, then its answer."""

    __slots__ = ("answer", "answered", "done", "number")

    def __init__(self, number: int, done: Callable[[str | None], None]) -> None:
        self.number = number
        self.done = done
        self.answered = False
        self.answer: str | None = None


class CommitClient(Protocol):
    """What the committer needs of its consumer (simcore.consumer.consumer.Consumer)."""

    state: str  # "committing" while a commitSync holds the application up
    exceptions: list[str]  # thrown to the application, which carried on
    stored: dict[TopicPartition, int]  # librdkafka's offset store

    @property
    def positions(self) -> dict[TopicPartition, int]:
        """Each partition's position, as a new dict."""

    def later(self, delay: int, handler: Callable[..., object], *args: object) -> None:
        """Schedules work that dies with the consumer's process."""

    def fail(self, error: str) -> None:
        """The application stops with ``error``."""

    def crash_at_point(self, point: str, tp: TopicPartition, first: int, count: int) -> bool:
        """A crash planned at ``point`` for these offsets happens now (True)."""


class Committer:
    """A consumer's offset commits: its strategy, the requests on its connection to the
    coordinator, the auto-commit timers, and the commit counters and sensor. Owned by
    the Consumer; commits go out as the member and generation its ``membership`` has."""

    def __init__(
        self,
        engine: Engine,
        coordinator: Coordinator,
        timeline: Timeline,
        spec: ConsumerSpec,
        latency: int,
        membership: Membership,
        client: CommitClient,
    ) -> None:
        self.engine = engine
        self.coordinator = coordinator
        self.timeline = timeline
        self.spec = spec
        self.id = spec.id
        self.group = spec.group
        self.latency = latency
        self.librdkafka = spec.client == "librdkafka"
        self.membership = membership
        self.client = client
        self.strategy = spec.commit
        self._request_ids = 0
        self._connection: list[CommitRequest] = []  # in-flight commit requests, oldest first
        self._sent_as: tuple[str | None, int] = (None, -1)  # membership of the answered one
        self.next_auto_commit = 0  # Java: when poll() auto-commits next
        self.commits_ok = 0
        self.commits_failed = 0
        # client metrics (consumer-coordinator metrics)
        self.commit_count = 0
        self.commit_latency_total = 0
        self.commit_latency_sensor = Sensor()  # commit-latency-avg

    def started(self) -> None:
        """The consumer (re)starts: the auto-commit clocks start with it. Java's first
        auto-commit falls due one interval from now; librdkafka's timer starts with the
        consumer (rd_kafka_cgrp_new), not with an assignment."""
        self.next_auto_commit = self.engine.now + self.spec.auto_commit_interval_ms
        if self.librdkafka and self.spec.enable_auto_commit:
            self.client.later(self.spec.auto_commit_interval_ms, self._librdkafka_auto_commit)

    def restart_auto_commit_timer(self) -> None:
        """Java's onJoinComplete reschedules the auto-commit from now
        ([J] ConsumerCoordinator: ``nextAutoCommitTimer.updateAndReset``)."""
        self.next_auto_commit = self.engine.now + self.spec.auto_commit_interval_ms

    def maybe_auto_commit(self) -> None:
        """Java's auto-commit of the positions inside poll(), once auto.commit.interval.ms
        has passed ([J] ConsumerCoordinator.maybeAutoCommitOffsetsAsync)."""
        if self.engine.now >= self.next_auto_commit:
            self.next_auto_commit = self.engine.now + self.spec.auto_commit_interval_ms
            self.commit_async(self.client.positions, auto=True)

    def disconnect(self) -> None:
        """The process (or its client) is gone, and its connection with it: a commit
        stuck on the old connection does not hold up the next incarnation's."""
        self._connection = []
        self.coordinator.disconnect(self.id)

    def _send_commit(self, offsets: Offsets, done: Callable[[str | None], None]) -> None:
        """One OffsetCommit request on the consumer's connection to the coordinator.

        Like Kafka's NetworkClient, answers are handled in request order, and when a
        request times out (``request.timeout.ms``) the connection is closed and every
        request still in flight on it fails — so a stuck commit cannot be overtaken.
        """
        self._request_ids += 1
        sent = self.engine.now
        membership = self.membership
        sent_as = (membership.member, membership.generation)

        def timed(error: str | None) -> None:
            self.commit_count += 1
            self.commit_latency_total += self.engine.now - sent
            self.commit_latency_sensor.record(self.engine.now, self.engine.now - sent)
            self._sent_as = sent_as  # read by _commit_refused
            done(error)

        request = CommitRequest(self._request_ids, timed)
        self._connection.append(request)

        def respond(error: str | None) -> None:
            self.client.later(self.latency, self._answered, request, error)

        self.engine.after(
            self.latency,
            self.coordinator.commit,
            self.id,
            self.group,
            dict(offsets),
            respond,
            membership.member,
            membership.generation,
        )
        self.client.later(self.spec.request_timeout_ms, self._timed_out, request)

    def _answered(self, request: CommitRequest, error: str | None) -> None:
        if not request.answered and request in self._connection:
            request.answered, request.answer = True, error
        while self._connection and self._connection[0].answered:
            first = self._connection.pop(0)
            first.done(first.answer)

    def _timed_out(self, request: CommitRequest) -> None:
        if request not in self._connection or request.answered:
            return
        failed, self._connection = self._connection, []
        self.coordinator.disconnect(self.id)
        for waiting in failed:
            waiting.done("REQUEST_TIMED_OUT")

    def commit_sync(
        self, offsets: Offsets, then: Callable[[], None], in_rebalance: bool = False
    ) -> None:
        if not offsets:
            then()
            return
        refusal = self.membership.client_commit_refusal(in_rebalance)
        if refusal is not None:  # thrown by the client: nothing is sent
            self._refused_by_client(refusal, "commitSync", offsets)
            self.client.later(0, then)  # as its own event: a per-record loop must not nest calls
            return
        if not in_rebalance:
            self.client.state = "committing"
        deadline = self.engine.now + self.spec.default_api_timeout_ms
        self.timeline.record("commit_sync", self.id, offsets=_fmt(offsets))

        def attempt() -> None:
            self._send_commit(offsets, answer)

        def answer(error: str | None) -> None:
            if error is None:
                self._commit_succeeded(offsets, "commitSync")
                if self.client.state not in ("down", "failed"):
                    then()
            elif error not in RETRIABLE:
                self.commits_failed += 1
                self._commit_refused(error, "commitSync")
                if self.client.state not in ("down", "failed", "stopped"):
                    then()
            elif self.engine.now + self.spec.retry_backoff_ms < deadline:
                self.timeline.record(
                    "commit_retry", self.id, error=error, retry_in=self.spec.retry_backoff_ms
                )
                self.client.later(self.spec.retry_backoff_ms, attempt)
            else:
                self.commits_failed += 1
                self.client.fail(
                    "TimeoutException: commitSync did not succeed within "
                    f"default.api.timeout.ms={self.spec.default_api_timeout_ms}"
                )

        attempt()

    def commit_async(self, offsets: Offsets, auto: bool) -> None:
        if not offsets:
            return
        how = "auto-commit" if auto else "commitAsync"
        refusal = self.membership.client_commit_refusal(False)
        if refusal is not None:
            if not (auto and self.librdkafka):  # librdkafka's timer skips a lost assignment
                self._refused_by_client(refusal, how, offsets)
            return
        self.timeline.record("commit_async", self.id, offsets=_fmt(offsets), how=how)

        def answer(error: str | None) -> None:
            if error is None:
                self._commit_succeeded(offsets, how)
                return
            self.commits_failed += 1
            if error not in RETRIABLE:  # reaches the callback (or the log), never thrown
                self.timeline.record(
                    "commit_failed",
                    self.id,
                    offsets=_fmt(offsets),
                    error=error,
                    how=how,
                    retry=False,
                )
                self.membership.lost(error, self._sent_as)
                return
            retry = not auto and self.strategy == "async-with-retry"
            self.timeline.record(
                "commit_failed", self.id, offsets=_fmt(offsets), error=error, how=how, retry=retry
            )
            if retry:  # the callback re-sends the same (possibly by now older) offsets
                self.commit_async(offsets, auto=False)

        self._send_commit(offsets, answer)

    def _refused_by_client(self, refusal: tuple[str, str], how: str, offsets: Offsets) -> None:
        """The client fails a commit without sending it: commitSync throws, a commitAsync's
        callback (or the auto-commit's log line) gets the exception."""
        exception, why = refusal
        self.commits_failed += 1
        if how == "commitSync":
            self.client.exceptions.append(f"{exception} from {how}: {why}")
            self.timeline.record(
                "commit_exception", self.id, error=why, exception=exception, how=how
            )
        else:
            self.timeline.record(
                "commit_failed",
                self.id,
                offsets=_fmt(offsets),
                error=f"{exception}: {why}",
                how=how,
                retry=False,
            )

    def _commit_refused(self, error: str, how: str) -> None:
        """CommitFailedException / RebalanceInProgressException: the member is no longer
        (or not yet) part of the group's generation. The app catches it and polls again,
        which rejoins the group."""
        exception = (
            "RebalanceInProgressException"
            if error == REBALANCE_IN_PROGRESS
            else "CommitFailedException"
        )
        text = f"{exception} from {how} ({error}): the partitions may have been reassigned"
        self.client.exceptions.append(text)
        self.timeline.record("commit_exception", self.id, error=error, exception=exception, how=how)
        self.membership.lost(error, self._sent_as)

    def _librdkafka_auto_commit(self) -> None:
        """rd_kafka's auto-commit timer: commit stored offsets that moved forward."""
        changed = {
            tp: offset
            for tp, offset in sorted(self.client.stored.items())
            if offset > _or_minus_one(self.coordinator.committed_offset(self.group, tp))
        }
        if changed:
            self.commit_async(changed, auto=True)
        self.client.later(self.spec.auto_commit_interval_ms, self._librdkafka_auto_commit)

    def _commit_succeeded(self, offsets: Offsets, how: str) -> None:
        self.commits_ok += 1
        self.timeline.record("commit_ok", self.id, offsets=_fmt(offsets), how=how)
        for tp, offset in sorted(offsets.items()):
            if self.client.crash_at_point("after_commit", tp, 0, offset):
                return
