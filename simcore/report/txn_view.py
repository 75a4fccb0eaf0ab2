"""What a frame shows of transactions: each partition's last stable offset, its commit /
abort markers and aborted ranges, and each transactional id's coordinator and state — at
the frame's step, read off the event log (markers and coordinator states are events) and
the recorder's snapshots (the LSO)."""

from __future__ import annotations

from bisect import bisect_right
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from simcore.run.simulation import Simulation

MAX_MARKERS = 50  # per partition and frame: the latest ones (the strip draws a few)
# above this many offsets a strip cell stands for a range: single markers are not drawn
DRAWN_OFFSETS = 5000


class TxnView:
    def __init__(self, sim: Simulation) -> None:
        timeline = sim.timeline
        # partition -> [(event index, offset, COMMIT|ABORT)]
        self.markers: dict[str, list[tuple[int, int, str]]] = {}
        # transactional id -> [(event index, coordinator broker, state, epoch)]
        self.states: dict[str, list[tuple[int, str, str, int]]] = {}
        for index, (_t, kind, actor, fields) in enumerate(timeline.events):
            if kind == "txn_marker":
                self.markers.setdefault(fields["part"], []).append(
                    (index, fields["offset"], fields["marker"])
                )
            elif kind == "txn_state":
                self.states.setdefault(fields["transactional_id"], []).append(
                    (index, actor, fields["state"], fields["epoch"])
                )
        # partition -> [(event index of the ABORT marker, [[first, end) runs it aborted])]
        self.aborts: dict[str, list[tuple[int, list[list[int]]]]] = {}
        for part in sim.cluster.partitions.values():
            log = part.log
            written = {offset: i for i, offset, kind in self.markers.get(part.name, [])}
            for pid, first, marker in log.aborted:
                runs: list[list[int]] = []
                for batch in log.batches_from(first, marker):
                    if batch.producer_id != pid or batch.control:
                        continue
                    lo, hi = max(first, batch.base), min(marker, batch.end)
                    if runs and runs[-1][1] == lo:
                        runs[-1][1] = hi
                    else:
                        runs.append([lo, hi])
                if marker in written:
                    self.aborts.setdefault(part.name, []).append((written[marker], runs))
        for entries in self.aborts.values():
            entries.sort(key=lambda e: e[0])

    def partition(self, name: str, n_events: int) -> dict[str, Any]:
        """The markers written before event ``n_events``, and the records of the
        transactions they aborted ([first, end) offset runs of the aborting producer's
        batches — other producers' records in between were not aborted); none for a
        partition longer than the strip draws offset by offset."""
        marks = self.markers.get(name, [])
        upto = bisect_right(marks, (n_events, -1, ""))
        if upto and marks[upto - 1][1] > DRAWN_OFFSETS:
            return {"markers": [], "aborted": []}
        aborts = self.aborts.get(name, [])
        done = bisect_right(aborts, n_events, key=lambda e: e[0] + 1)
        aborted = [run for _i, runs in aborts[max(0, done - MAX_MARKERS) : done] for run in runs]
        return {
            "markers": [
                [offset, kind] for _i, offset, kind in marks[max(0, upto - MAX_MARKERS) : upto]
            ],
            "aborted": aborted[-MAX_MARKERS:],
        }

    def coordinators(self, n_events: int) -> list[dict[str, Any]]:
        out = []
        for txn_id in sorted(self.states):
            seen = [s for s in self.states[txn_id] if s[0] < n_events]
            if not seen:
                continue
            _i, actor, state, epoch = seen[-1]
            out.append(
                {"transactional_id": txn_id, "coordinator": actor, "state": state, "epoch": epoch}
            )
        return out
