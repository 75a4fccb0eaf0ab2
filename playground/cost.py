"""A run's cost, estimated from its scenario before it runs: the lane it waits in (`runner`).

Two things make a simulation slow, and both are read off the scenario:

- **records**: every record is produced, appended, replicated and read by each group;
  big runs (over 5,000 records) move them in batches, at about a million records a
  second on this project's reference machine (`bench/firehose.yaml`: 1.2 million records
  in 1.0 s, `bench/churn.yaml`: 3 million in 5 s);
- **partition-seconds**: for every second of simulated time, each partition a group
  reads is fetched (a long poll every `fetch.max.wait.ms`), each follower replica fetches
  from its leader, and each consumer heartbeats — whether or not records flow. Fifty
  consumers in five groups on 64 partitions for an hour (`bench/load.py`'s cap-hitting
  scenario: 1.8 million partition-seconds) run past the 10 s cap; the built-ins stay
  under 500.

A run over either bound is *heavy*: it may take seconds, and waits in the heavy lane,
which never holds every worker (`runner`: `RUN_SMALL_WORKERS` stay for small runs), so a
visitor's small run is not queued behind a room of heavy ones. The bounds keep a small
run under about half a second of CPU. The estimate is an upper bound on records (a rate
that ends early sends fewer) and ignores faults; a run it calls small still stops at the
caps (`RUN_MAX_SECONDS`).
"""

from __future__ import annotations

from dataclasses import dataclass

from simcore import Scenario

SMALL_RECORDS = 200_000
SMALL_PARTITION_SECONDS = 20_000


@dataclass(frozen=True)
class Cost:
    records: int
    partition_seconds: int

    @property
    def heavy(self) -> bool:
        return self.records > SMALL_RECORDS or self.partition_seconds > SMALL_PARTITION_SECONDS


def estimate(scenario: Scenario) -> Cost:
    topics = {topic.name: topic for topic in scenario.topics}
    read: dict[str, set[str]] = {}  # group → the topics its members subscribe to
    for consumer in scenario.consumers:
        read.setdefault(consumer.group, set()).update(consumer.topics)
    fetched = sum(topics[name].partitions for names in read.values() for name in names)
    followers = sum(t.partitions * (t.replication_factor - 1) for t in scenario.topics)
    moving = fetched + followers + len(scenario.consumers)
    seconds = scenario.duration_ms / 1000
    return Cost(
        records=sum(producer.messages for producer in scenario.producers),
        partition_seconds=round(moving * seconds),
    )
