"""A group's rebalances as the group view and the CLI report them, for both protocols.

A rebalance runs from its cause (a join, a leave, an expired session; under KIP-848 a
group epoch bump) until the group is Stable again. Each partition a member gave up is
paused until its next owner starts on it, and the pause is charged to the rebalance that
handed it over — the last one that began after the partition stopped, if any (a static
member's quick restart pauses its partitions without any rebalance). Kafka counts only
revoked partitions the same way; partitions nobody owned yet are not "paused".
"""

from __future__ import annotations

from collections.abc import Iterable
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
    """Mixed into both group classes, which set the attributes declared here."""

    name: str
    engine: Engine
    timeline: Timeline
    state: str

    def _init_rebalances(self) -> None:
        self.rebalances: list[dict[str, Any]] = []
        self._paused: dict[TopicPartition, int] = {}

    generation: int  # the generation (classic) or group epoch (KIP-848)

    def _owners(self) -> Iterable[Owner]:
        raise NotImplementedError

    def _open_rebalance(self, cause: str) -> None:
        if not self.rebalances or self.rebalances[-1]["end"] is not None:
            self.rebalances.append(
                {"cause": cause, "start": self.engine.now, "end": None, "generation": None,
                 "paused": {}}
            )  # fmt: skip
            self.timeline.record("rebalance_start", "coordinator", group=self.name, cause=cause)

    def _close_rebalance(self) -> None:
        if self.rebalances and self.rebalances[-1]["end"] is None:
            record = self.rebalances[-1]
            record["end"] = self.engine.now
            record["generation"] = self.generation if self.state == "Stable" else None
            self.timeline.record(
                "rebalance_end",
                "coordinator",
                group=self.name,
                generation=self.generation,
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
