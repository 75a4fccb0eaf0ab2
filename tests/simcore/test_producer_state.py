"""A leader's state per idempotent producer ([S] storage ProducerStateEntry): its epoch
and its last five batches, which a retry is deduplicated against."""

import pytest

from simcore.broker.log import Batch
from simcore.broker.replication import KEPT_BATCHES, ProducerEntry
from tests.simcore.helpers import run, scenario


def batch(seq: int) -> Batch:
    return Batch(seq * 10, range(seq, seq + 1), 100, 0, "p1", producer_id=7, base_seq=seq)


def test_it_keeps_the_last_five_batches_and_knows_the_newest():
    entry = ProducerEntry(epoch=3)
    assert entry.last is None and entry.kept() == []
    added = [batch(seq) for seq in range(8)]
    for b in added:
        entry.add(b)
        assert entry.last is b
    assert KEPT_BATCHES == 5
    assert sorted(b.base_seq for b in entry.kept()) == [3, 4, 5, 6, 7]
    assert entry.epoch == 3


def test_fewer_than_five_are_all_kept():
    entry = ProducerEntry(epoch=0)
    for seq in range(3):
        entry.add(batch(seq))
    assert sorted(b.base_seq for b in entry.kept()) == [0, 1, 2]


@pytest.mark.parametrize(
    ("entry_epoch", "seq", "verdict"),
    [
        (None, 17, None),  # no state for the producer: any sequence (Kafka >= 2.5)
        (4, 0, None),  # the epoch a marker began: sequence 0 starts it
        (4, 3, ("OUT_OF_ORDER_SEQUENCE_NUMBER", -1)),  # ... and nothing else does
        (3, 0, None),  # a newer epoch than the broker's: from sequence 0
        (3, 5, ("OUT_OF_ORDER_SEQUENCE_NUMBER", -1)),
        (5, 0, ("INVALID_PRODUCER_EPOCH", -1)),  # an older epoch: fenced
    ],
)
def test_the_leader_checks_a_first_batch_as_kafka_does(entry_epoch, seq, verdict):
    """[S] storage ProducerAppendInfo.checkSequence: in the entry's own epoch with no batch
    remembered (a transaction marker of a newer epoch began it:
    ProducerStateEntry.maybeUpdateProducerEpoch clears the batches), the last sequence is
    NO_SEQUENCE, and ``inSequence(-1, seq)`` holds for sequence 0 only."""
    result = run(scenario(duration_ms=500))
    cluster = result.sim.cluster
    part = next(iter(cluster.partitions.values()))
    replica = part.log
    assert replica.lead is not None
    replica.lead.producers.pop(7, None)
    if entry_epoch is not None:
        replica.lead.producers[7] = ProducerEntry(epoch=entry_epoch)
    first = Batch(-1, range(1000, 1001), 100, 0, "p9", producer_id=7, base_seq=seq,
                  producer_epoch=4)  # fmt: skip
    entry = replica.lead.producers.get(7)
    assert cluster._check_sequence(part, replica, first, entry) == verdict
