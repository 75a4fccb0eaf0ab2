"""A replica's log finds the batches that hold a range of offsets: at the tail (followers
and consumers that keep up), deep in the log (a consumer reading from the start) and across
retention and truncation, always the batches a scan of the whole log would give."""

from simcore.broker.log import Batch, ReplicaLog


def log_of(sizes: list[int]) -> ReplicaLog:
    log = ReplicaLog(0)
    first = 0
    for size in sizes:
        log.append(Batch(-1, range(first, first + size), 70 + 10 * size, 0, "p1"))
        first += size
    return log


def scanned(log: ReplicaLog, offset: int, limit: int) -> list[Batch]:
    """The definition: every batch holding an offset in [offset, limit)."""
    return [b for b in log.batches if b.end > offset and b.base < limit and offset < limit]


def test_it_finds_the_batches_of_any_range_as_a_scan_does():
    log = log_of([1 + (k * 7) % 5 for k in range(120)])  # 120 batches of 1 to 5 records
    assert log.leo == sum(b.count for b in log.batches)
    for offset in range(0, log.leo + 2):
        for limit in (offset + 1, offset + 3, offset + 40, log.leo - 1, log.leo, log.leo + 5):
            assert log.batches_from(offset, limit) == scanned(log, offset, limit), (
                offset,
                limit,
            )
    assert log.batches_from(10, 10) == []


def test_it_finds_them_after_retention_and_truncation():
    log = log_of([3] * 50)
    log.delete_before(31)  # whole batches below 31 go: the log starts at the batch of 30
    assert log.batches[0].base == 30 and log.log_start == 31
    log.truncate_to(100)  # the batch 99..101 keeps its head, 99
    assert log.leo == 100 and log.batches[-1].base == 99 and log.batches[-1].count == 1
    for offset in range(25, 105):
        for limit in (offset + 1, offset + 10, 100, 120):
            assert log.batches_from(offset, limit) == scanned(log, offset, limit)
