"""librdkafka's auto-commit timer and offset store, real client against simulator.

A real consumer in a child process (slow_consumer.py) processes each record for 1.5 s
with ``auto.commit.interval.ms=300``. Once the offset store has changed for record 1 (at
its hand-out with ``enable.auto.offset.store=true``; after record 0's processing with
``false``), the test waits for the next OffsetCommit to reach the mock broker, SIGKILLs
the process while record 1 is still in progress, and reads the group's committed offset
with another client. The simulator runs the same shape; both must commit past the record
in progress (true: 2, the record is lost to the group) or at it (false: 1, it is read
again).
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import confluent_kafka
import pytest

import simcore
from simcore.report.narrative import records_text
from tests.oracle.mock_cluster import API_OFFSET_COMMIT, MockCluster, wait_for

SCRIPT = Path(__file__).with_name("slow_consumer.py")
PROCESSING_MS = 1500
INTERVAL_MS = 300
IN_PROGRESS = 1  # the record being processed when the consumer dies
MESSAGES = 5


class Child:
    """slow_consumer.py in its own process; its stdout lines read by a thread."""

    def __init__(self, args: list[str], stderr_path: Path) -> None:
        self._stderr = stderr_path.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, str(SCRIPT), *args],
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )
        self._lines: queue.Queue[str] = queue.Queue()
        self.events: list[tuple[str, int, int]] = []  # (event, offset, µs)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line)

    def _drain(self) -> None:
        while True:
            try:
                event, offset, micros = self._lines.get_nowait().split()
            except queue.Empty:
                return
            self.events.append((event, int(offset), int(micros)))

    def when(self, event: str, offset: int) -> int | None:
        self._drain()
        return next((us for e, o, us in self.events if (e, o) == (event, offset)), None)

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self._reader.join(10)  # the pipe ends with the process
        assert self.proc.stdout is not None
        self.proc.stdout.close()
        self._drain()
        self._stderr.close()


def _produce(cluster: MockCluster, topic: str) -> None:
    producer = confluent_kafka.Producer(cluster.client_config())
    for i in range(MESSAGES):
        producer.produce(topic, key=f"order-{i}".encode(), value=f"Order #{i}".encode())
    assert producer.flush(10) == 0


def _committed(cluster: MockCluster, group: str, topic: str) -> int:
    reader = confluent_kafka.Consumer(cluster.client_config({"group.id": group}))
    try:
        (tp,) = reader.committed([confluent_kafka.TopicPartition(topic, 0)], timeout=10)
        return int(tp.offset)
    finally:
        reader.close()


def _real(cluster: MockCluster, store: str, tmp_path: Path) -> tuple[int, list[Any]]:
    topic, group = "orders", f"billing-{store}"
    cluster.set_initial_rebalance_delay_ms(100)
    cluster.create_topic(topic, 1)
    _produce(cluster, topic)
    cluster.start_tracking()
    args = [cluster.bootstraps, group, topic, store, str(PROCESSING_MS), str(INTERVAL_MS)]
    child = Child(args, tmp_path / f"consumer-{store}.stderr")
    try:
        handout = wait_for(lambda: child.when("handout", IN_PROGRESS), 30, "record 1 handed out")
        changed = handout if store == "auto" else child.when("stored", IN_PROGRESS - 1)
        assert changed is not None

        def commit_after_change() -> bool:
            return any(k == API_OFFSET_COMMIT and us > changed for k, us in cluster.requests())

        wait_for(commit_after_change, 5, "an auto-commit after the offset store changed")
    finally:
        child.kill()
    assert child.when("done", IN_PROGRESS) is None, "record 1 finished before the kill"
    return _committed(cluster, group, topic), child.events


def _simulated(store: str) -> tuple[int, int, dict[str, str]]:
    """The committed offset of the first auto-commit after the store changed for record 1;
    where the consumer resumes when it crashes right after that commit and restarts; and
    the outcome of every message then."""

    def scenario(faults: list[dict[str, Any]]) -> simcore.Scenario:
        return simcore.parse_scenario(
            {
                "name": f"oracle auto-commit, store {store}",
                "seed": 1,
                "duration_ms": 30000,
                "brokers": 1,
                "broker_config": {"group.initial.rebalance.delay.ms": 100},
                "topics": [{"name": "orders", "partitions": 1, "replication_factor": 1}],
                "producers": [
                    {
                        "id": "p1",
                        "topic": "orders",
                        "messages": MESSAGES,
                        "rate_per_s": 1000,
                        "key": "order-{i}",
                        "value": "Order #{i}",
                    }
                ],
                "consumers": [
                    {
                        "id": "c1",
                        "group": "billing",
                        "topics": ["orders"],
                        "client": "librdkafka",
                        "processing_ms": PROCESSING_MS,
                        "commit": "auto",
                        "config": {
                            "enable.auto.commit": True,
                            "auto.commit.interval.ms": INTERVAL_MS,
                            "enable.auto.offset.store": store == "auto",
                            "auto.offset.reset": "earliest",
                            "session.timeout.ms": 6000,
                        },
                    }
                ],
                "faults": faults,
            }
        )

    calm = simcore.simulate(scenario([]))
    events = calm.events
    handout = next(
        t for t, k, _, f in events if k == "poll" and records_text(f["records"]) == "orders-0@1"
    )
    processed_0 = next(t for t, k, _, f in events if k == "processed" and f["first"] == 0)
    changed = handout if store == "auto" else processed_0
    commit_at, offsets = next(
        (t, f["offsets"]) for t, k, _, f in events if k == "commit_stored" and t > changed
    )
    crashed = simcore.simulate(
        scenario(
            [{"action": "crash", "target": "c1", "at_ms": commit_at + 1, "restart_after_ms": 500}]
        )
    )
    resumed = next(
        f["offset"] for t, k, _, f in crashed.events if k == "position" and t > commit_at
    )
    outcomes = {m["id"]: m["outcome"] for m in crashed.messages() or []}
    return offsets[-1][1], resumed, outcomes


@pytest.mark.parametrize(
    ("store", "expected"),
    [("auto", IN_PROGRESS + 1), ("manual", IN_PROGRESS)],
    ids=["enable.auto.offset.store=true", "enable.auto.offset.store=false"],
)
def test_auto_commit_covers_the_record_in_progress_only_with_the_automatic_store(
    cluster, tmp_path, store, expected
):
    real, child_events = _real(cluster, store, tmp_path)
    simulated, resumed, outcomes = _simulated(store)
    assert real == expected, child_events
    assert simulated == expected
    # what that means for record 1 when the consumer dies there and restarts: it resumes
    # at the committed offset, so record 1 is lost to the group with the automatic store
    # and read again without it
    assert resumed == expected
    if store == "auto":
        assert outcomes["p1#1"] == "never processed"
    else:
        assert outcomes["p1#1"] == "processed once"
