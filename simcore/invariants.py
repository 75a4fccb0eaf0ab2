"""Invariants checked after every event in test mode; a violation names seed and step."""

from __future__ import annotations

from typing import TYPE_CHECKING

from simcore.errors import InvariantViolation

if TYPE_CHECKING:
    from simcore.simulation import Simulation


class InvariantChecker:
    def __init__(self, sim: Simulation) -> None:
        self.sim = sim
        self.positions: dict[tuple[str, str, int], int] = {}
        self.hw: dict[str, int] = {}
        self.seen_events = 0

    def check(self) -> None:
        sim = self.sim
        for part in sim.cluster.partitions.values():
            for replica in part.replicas.values():
                self._expect(replica.log_start <= replica.hw <= replica.leo,
                             f"{part.name} replica {replica.broker}: log start "
                             f"{replica.log_start} <= HW {replica.hw} <= LEO {replica.leo}")
            leader_hw = part.log.hw
            self._expect(leader_hw >= self.hw.get(part.name, 0),
                         f"{part.name}: leader HW moved back to {leader_hw}")
            self.hw[part.name] = leader_hw
        for (group, topic, p), offset in sim.coordinator.committed.items():
            leo = sim.cluster.partitions[(topic, p)].log.leo
            self._expect(offset <= leo, f"{group} {topic}-{p}: committed {offset} > LEO {leo}")
        self._check_positions()

    def _check_positions(self) -> None:
        events = self.sim.timeline.events
        resets = {(e[2], e[3]["part"]) for e in events[self.seen_events:] if e[1] == "position"}
        self.seen_events = len(events)
        for consumer in self.sim.consumers:
            for (topic, p), offset in consumer.positions.items():
                key = (consumer.id, topic, p)
                before = self.positions.get(key)
                reset = (consumer.id, f"{topic}-{p}") in resets
                self._expect(before is None or offset >= before or reset,
                             f"{consumer.id} {topic}-{p}: position went back {before} -> {offset}")
                self.positions[key] = offset

    def _expect(self, ok: bool, detail: str) -> None:
        if not ok:
            raise InvariantViolation(self.sim.scenario.seed, self.sim.engine.events_run, detail)
