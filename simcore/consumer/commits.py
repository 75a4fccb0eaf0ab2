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
from typing import TYPE_CHECKING

from simcore.groups.classic import ILLEGAL_GENERATION, REBALANCE_IN_PROGRESS, UNKNOWN_MEMBER_ID
from simcore.groups.coordinator import COORDINATOR_NOT_AVAILABLE
from simcore.groups.kip848 import STALE_MEMBER_EPOCH
from simcore.kernel.client_metrics import Sensor
from simcore.kernel.types import TopicPartition

if TYPE_CHECKING:
    from simcore.groups.coordinator import Coordinator
    from simcore.kernel.engine import Engine
    from simcore.kernel.timeline import Timeline
    from simcore.scenario.spec import ConsumerSpec

Offsets = dict[TopicPartition, int]
# STALE_MEMBER_EPOCH (group.protocol=consumer): the commit raced a member epoch bump; the
# client retries it with the epoch its next heartbeat brings (CommitRequestManager)
RETRIABLE = (COORDINATOR_NOT_AVAILABLE, "REQUEST_TIMED_OUT", STALE_MEMBER_EPOCH)


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


class Committer:
    """Mixed into Consumer; uses its engine, coordinator, timeline and guards.

    Consumer sets the attributes declared here (member, generation and rejoin_needed
    are Membership's) and implements the methods stubbed here (the stubs only declare
    them; Consumer's methods override them)."""

    engine: Engine
    coordinator: Coordinator
    timeline: Timeline
    spec: ConsumerSpec
    id: str
    group: str
    state: str
    stored: dict[TopicPartition, int]
    exceptions: list[str]
    commit_count: int
    commit_latency_total: int
    commit_latency_sensor: Sensor
    member: str | None
    generation: int
    rejoin_needed: bool
    # Membership's (declared only: a stub here would shadow it)
    client_commit_refusal: Callable[[bool], tuple[str, str] | None]

    @property
    def latency(self) -> int:
        raise NotImplementedError

    @property
    def librdkafka(self) -> bool:
        raise NotImplementedError

    def later(self, delay: int, handler: Callable[..., object], *args: object) -> None:
        raise NotImplementedError

    def fail(self, error: str) -> None:
        raise NotImplementedError

    def _crash_at_point(self, point: str, tp: TopicPartition, first: int, count: int) -> bool:
        raise NotImplementedError

    def _init_commits(self) -> None:
        self.commit = self.spec.commit
        self._request_ids = 0
        self._connection: list[CommitRequest] = []  # in-flight commit requests, oldest first
        self._sent_as: tuple[str | None, int] = (None, -1)  # membership of the answered one
        self.commits_ok = 0
        self.commits_failed = 0

    def _send_commit(self, offsets: Offsets, done: Callable[[str | None], None]) -> None:
        """One OffsetCommit request on the consumer's connection to the coordinator.

        Like Kafka's NetworkClient, answers are handled in request order, and when a
        request times out (``request.timeout.ms``) the connection is closed and every
        request still in flight on it fails — so a stuck commit cannot be overtaken.
        """
        self._request_ids += 1
        sent = self.engine.now
        sent_as = (self.member, self.generation)

        def timed(error: str | None) -> None:
            self.commit_count += 1
            self.commit_latency_total += self.engine.now - sent
            self.commit_latency_sensor.record(self.engine.now, self.engine.now - sent)
            self._sent_as = sent_as  # read by _commit_refused
            done(error)

        request = CommitRequest(self._request_ids, timed)
        self._connection.append(request)

        def respond(error: str | None) -> None:
            self.later(self.latency, self._answered, request, error)

        self.engine.after(
            self.latency,
            self.coordinator.commit,
            self.id,
            self.group,
            dict(offsets),
            respond,
            self.member,
            self.generation,
        )
        self.later(self.spec.request_timeout_ms, self._timed_out, request)

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
        refusal = self.client_commit_refusal(in_rebalance)
        if refusal is not None:  # thrown by the client: nothing is sent
            self._refused_by_client(refusal, "commitSync", offsets)
            self.later(0, then)  # as its own event: a per-record loop must not nest calls
            return
        if not in_rebalance:
            self.state = "committing"
        deadline = self.engine.now + self.spec.default_api_timeout_ms
        self.timeline.record("commit_sync", self.id, offsets=_fmt(offsets))

        def attempt() -> None:
            self._send_commit(offsets, answer)

        def answer(error: str | None) -> None:
            if error is None:
                self._commit_succeeded(offsets, "commitSync")
                if self.state not in ("down", "failed"):
                    then()
            elif error not in RETRIABLE:
                self.commits_failed += 1
                self._commit_refused(error, "commitSync")
                if self.state not in ("down", "failed", "stopped"):
                    then()
            elif self.engine.now + self.spec.retry_backoff_ms < deadline:
                self.timeline.record(
                    "commit_retry", self.id, error=error, retry_in=self.spec.retry_backoff_ms
                )
                self.later(self.spec.retry_backoff_ms, attempt)
            else:
                self.commits_failed += 1
                self.fail(
                    "TimeoutException: commitSync did not succeed within "
                    f"default.api.timeout.ms={self.spec.default_api_timeout_ms}"
                )

        attempt()

    def commit_async(self, offsets: Offsets, auto: bool) -> None:
        if not offsets:
            return
        how = "auto-commit" if auto else "commitAsync"
        refusal = self.client_commit_refusal(False)
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
                self._membership_lost(error)
                return
            retry = not auto and self.commit == "async-with-retry"
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
            self.exceptions.append(f"{exception} from {how}: {why}")
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
        self.exceptions.append(text)
        self.timeline.record("commit_exception", self.id, error=error, exception=exception, how=how)
        self._membership_lost(error)

    def _membership_lost(self, error: str) -> None:
        """The coordinator says this member or generation is gone: rejoin (unless the
        refusal was for a membership already left behind by a newer join)."""
        if self._sent_as != (self.member, self.generation):
            return  # refused for a membership we have already left behind (a newer join)
        if error in (UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION):
            self.generation = -1
            if error == UNKNOWN_MEMBER_ID:
                self.member = None
        self.rejoin_needed = True

    def _librdkafka_auto_commit(self) -> None:
        """rd_kafka's auto-commit timer: commit stored offsets that moved forward."""
        changed = {
            tp: offset
            for tp, offset in sorted(self.stored.items())
            if offset > _or_minus_one(self.coordinator.committed_offset(self.group, tp))
        }
        if changed:
            self.commit_async(changed, auto=True)
        self.later(self.spec.auto_commit_interval_ms, self._librdkafka_auto_commit)

    def _commit_succeeded(self, offsets: Offsets, how: str) -> None:
        self.commits_ok += 1
        self.timeline.record("commit_ok", self.id, offsets=_fmt(offsets), how=how)
        for tp, offset in sorted(offsets.items()):
            if self._crash_at_point("after_commit", tp, 0, offset):
                return
