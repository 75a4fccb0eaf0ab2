"""A real librdkafka consumer that processes slowly, run as a child process by
test_commits.py (which SIGKILLs it): auto-commit on, one record at a time.

    python slow_consumer.py BOOTSTRAPS GROUP TOPIC STORE PROCESSING_MS INTERVAL_MS

STORE is ``auto`` (enable.auto.offset.store=true: the offset is stored when poll() hands
the record out) or ``manual`` (false: the application stores it after processing). Every
step is printed as ``<event> <offset> <CLOCK_MONOTONIC µs>``, where the events are
``handout``, ``stored`` and ``done``; the mock cluster stamps requests with the same
clock (librdkafka rd_clock()).
"""

from __future__ import annotations

import sys
import time

import confluent_kafka


def now_us() -> int:
    return time.monotonic_ns() // 1000


def main(argv: list[str]) -> None:
    bootstraps, group, topic, store, processing_ms, interval_ms = argv
    consumer = confluent_kafka.Consumer(
        {
            "bootstrap.servers": bootstraps,
            "group.id": group,
            "enable.auto.commit": True,
            "auto.commit.interval.ms": int(interval_ms),
            "enable.auto.offset.store": store == "auto",
            "auto.offset.reset": "earliest",
            "session.timeout.ms": 6000,
            "log_level": 3,
            "log.connection.close": False,
        }
    )
    consumer.subscribe([topic])
    while True:
        msg = consumer.poll(0.1)
        if msg is None or msg.error():
            continue
        print(f"handout {msg.offset()} {now_us()}", flush=True)
        time.sleep(int(processing_ms) / 1000)  # the processing: what the test is about
        if store == "manual":
            consumer.store_offsets(msg)  # stores msg.offset() + 1
            print(f"stored {msg.offset()} {now_us()}", flush=True)
        print(f"done {msg.offset()} {now_us()}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
