"""A group's rebalances as the group view and the CLI report them, for both protocols.

A rebalance runs from its cause (a join, a leave, an expired session; under KIP-848 a
group epoch bump) until the group is Stable again. Each partition a member gave up is
paused until its next owner starts on it, and the pause is charged to the rebalance that
handed it over — the last one that began after the partition stopped, if any (a static
member's quick restart pauses its partitions without any rebalance). Kafka counts only
revoked partitions the same way; partitions nobody owned yet are not "paused".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Protocol

from simcore.kernel.types import TopicPartition

if TYPE_CHECKING:
    from simcore.kernel.engine import Engine
    from simcore.kernel.timeline import Timeline


class Owner(Protocol):
    client_id: str

    @property
    def assignment(self) -> list[TopicPartition]: ...


class RebalanceHistory:
    """One group's rebalances and the partition pauses charged to them. Owned by its
    group (``simcore.groups.classic.Group``, ``simcore.groups.kip848.ConsumerGroup``),
    which says when a rebalance opens and closes; what it reports of the group (its
    members, its generation or group epoch, its state) it reads through the callables
    given to it, so it holds no reference to the group itself."""

    def __init__(
        self,
        engine: Engine,
        timeline: Timeline,
        group: str,
        owners: Callable[[], Iterable[Owner]],
        generation: Callable[[], int],
        state: Callable[[], str],
    ) -> None:
        self.engine = engine
        self.timeline = timeline
        self.group = group
        self._owners = owners
        self._generation = generation
        self._state = state
        self.rebalances: list[dict[str, Any]] = []
        self._paused: dict[TopicPartition, int] = {}

    def open(self, cause: str) -> None:
        """A rebalance begins, unless one is already under way."""
        if not self.rebalances or self.rebalances[-1]["end"] is not None:
            self.rebalances.append(
                {"cause": cause, "start": self.engine.now, "end": None, "generation": None,
                 "paused": {}}
            )  # fmt: skip
            self.timeline.record("rebalance_start", "coordinator", group=self.group, cause=cause)

    def close(self) -> None:
        """The group is Stable (or Empty) again: the rebalance under way ends."""
        if self.rebalances and self.rebalances[-1]["end"] is None:
            record = self.rebalances[-1]
            record["end"] = self.engine.now
            generation = self._generation()
            record["generation"] = generation if self._state() == "Stable" else None
            self.timeline.record(
                "rebalance_end",
                "coordinator",
                group=self.group,
                generation=generation,
                duration_ms=record["end"] - record["start"],
                assignment=self._assignment_text(),
            )

    def _assignment_text(self) -> str:
        return "; ".join(
            f"{m.client_id}: " + (", ".join(f"{t}-{p}" for t, p in m.assignment) or "nothing")
            for m in self._owners()
        )

    def partition_stopped(self, tp: TopicPartition) -> None:
        self._paused.setdefault(tp, self.engine.now)

    def partition_started(self, tp: TopicPartition) -> None:
        since = self._paused.pop(tp, None)
        if since is None or not self.rebalances:
            return
        current = self.rebalances[-1]
        if current["end"] is not None and current["end"] < since:
            return  # no rebalance since it stopped (e.g. a static member's quick restart)
        key = f"{tp[0]}-{tp[1]}"
        current["paused"][key] = current["paused"].get(key, 0) + self.engine.now - since
