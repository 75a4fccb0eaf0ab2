"""A leader's state per idempotent producer ([S] storage ProducerStateEntry): its epoch
and its last five batches, which a retry is deduplicated against."""

from simcore.broker.log import Batch
from simcore.broker.replication import KEPT_BATCHES, ProducerEntry


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
