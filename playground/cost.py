"""A run's cost, estimated from its scenario before it runs: the lane it waits in (`runner`).

Three things make a simulation slow, and all are read off the scenario:

- **records**: every record is produced, appended, replicated and read by each group;
  big runs (over 5,000 records) move them in batches, at about a million records a
  second on this project's reference machine (`bench/firehose.yaml`: 1.2 million records
  in 1.0 s, `bench/churn.yaml`: 3 million in 5 s);
- **record batches**: the engine's work follows Kafka's own granularity — each batch is
  appended, replicated, fetched and processed — at about 15-20 µs of CPU a batch (compiled
  engine, this machine). Keys decide how many there are: a keyed producer spreads its
  records over every partition, so each partition's batch holds what arrives there within
  `linger.ms` (20,000 keyed records/s over 60 partitions at 5 ms: one or two records a
  batch), while null keys fill one sticky partition's batch at a time. 200,000 keyed
  records over 60 partitions make ~87,000 batches and take 1.8 s; the same records with
  null keys, 1,700 batches and 0.05 s (`bench/scaling.py`). Estimated below within about
  1.5x of the batches a run makes;
- **partition-seconds**: for every second of simulated time, each partition a group
  reads is fetched (a long poll every `fetch.max.wait.ms`), each follower replica fetches
  from its leader, and each consumer heartbeats — whether or not records flow. Fifty
  consumers in five groups on 64 partitions for an hour (`bench/load.py`'s cap-hitting
  scenario: 1.8 million partition-seconds) run past the 10 s cap; the built-ins stay
  under 5,000.

A run over any bound is *heavy*: it may take seconds, and waits in the heavy lane,
which never holds every worker (`runner`: `RUN_SMALL_WORKERS` stay for small runs), so a
visitor's small run is not queued behind a room of heavy ones. The bounds keep a small
run under about half a second of CPU. The estimate is an upper bound on records (a rate
that ends early sends fewer) and ignores faults; a run it calls small still stops at the
caps (`RUN_MAX_SECONDS`).
"""

from __future__ import annotations

from dataclasses import dataclass

from simcore import Scenario
from simcore.scenario.spec import ProducerSpec, TopicSpec

SMALL_RECORDS = 200_000
SMALL_BATCHES = 40_000  # ~0.6 s of CPU (the production-topic built-in: ~36,000, 0.6 s)
SMALL_PARTITION_SECONDS = 20_000
RECORD_BYTES = 100  # a record's size, roughly, for the records a full batch holds


@dataclass(frozen=True)
class Cost:
    records: int
    partition_seconds: int
    batches: int = 0

    @property
    def heavy(self) -> bool:
        return (
            self.records > SMALL_RECORDS
            or self.batches > SMALL_BATCHES
            or self.partition_seconds > SMALL_PARTITION_SECONDS
        )


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
        batches=round(sum(_batches(producer, topics) for producer in scenario.producers)),
    )


def _batches(producer: ProducerSpec, topics: dict[str, TopicSpec]) -> float:
    """The record batches a producer makes, roughly: its records over the partitions they
    spread across, each batch holding what one partition gets within ``linger.ms`` (at
    least one record, at most a full ``batch.size``). The slowest rate it runs at counts
    (smaller batches); a producer that never runs makes none."""
    topic = topics.get(producer.topic)
    keyed = producer.key is not None and producer.partition is None
    spread = topic.partitions if keyed and topic is not None else 1
    rates = [r for r in (producer.rate_per_s, *(c[1] for c in producer.rate_changes)) if r > 0]
    if not rates or producer.messages <= 0:
        return 0.0
    full = max(1, producer.batch_size // RECORD_BYTES)
    per_batch = min(max(1.0, min(rates) / spread * max(producer.linger_ms, 1) / 1000), full)
    return producer.messages / per_batch
