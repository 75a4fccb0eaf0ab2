"""``isolation.level`` on the consumer: which fetched records the application sees.

- Control batches (transaction markers) occupy offsets but are never handed out, in
  either level; the position moves past them ([J] clients/consumer/internals
  CompletedFetch.nextFetchedRecord skips control batches; FetchCollector moves the
  position to the fetch's next offset even when no record is returned).
- read_uncommitted (Java's default): everything below the high watermark, aborted
  transactions' records included.
- read_committed (librdkafka's default): the broker answers only below the last stable
  offset (``Cluster._read``), with the aborted transactions of the fetched range; the
  client drops the batches of those producers from each one's first offset up to its
  ABORT marker ([J] CompletedFetch.abortedProducerIds / isBatchAborted; [R]
  src/rdkafka_msgset_reader.c ``rd_kafka_aborted_txns``).

The records-lag metric and ``auto.offset.reset=latest`` use the LSO under
read_committed ([J] FetchCollector / SubscriptionState, ListOffsets with
IsolationLevel.READ_COMMITTED).
"""

from __future__ import annotations

from simcore.broker.log import Batch, ReplicaLog

READ_COMMITTED = "read_committed"


def hidden(batch: Batch, aborted: list[tuple[int, int, int]] | None) -> bool:
    """Is this transactional batch kept from the application? (``aborted``: the
    partition's aborted transactions under read_committed, else None.)"""
    if batch.control:
        return True
    if aborted:
        pid, base = batch.producer_id, batch.base
        for producer_id, first, marker in aborted:
            if producer_id == pid and first <= base < marker:
                return True
    return False


def end_offset(log: ReplicaLog, read_committed: bool) -> int:
    """Where a consumer's view of the partition ends: the HW, or the LSO."""
    return log.lso if read_committed else log.hw
