"""An IdLog holds exactly the ids of the sequences given to it, repeats included, and the
ledger's arrays built from it hold the same multiset."""

from array import array
from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from simcore.kernel.ids import IdLog
from simcore.report import ledger

# a batch's ids as the engine records them: a consecutive run (a range) or scattered ids
# (an array of 8-byte ids, keyed records); runs often continue each other (null keys)
runs = st.builds(lambda a, n: range(a, a + n), st.integers(0, 200), st.integers(0, 6))
scattered = st.lists(st.integers(0, 200), max_size=6).map(lambda ids: array("q", ids))
# ... and, as any Sequence[int] may be given, ranges of other steps (one id or none often)
stepped = st.builds(range, st.integers(0, 200), st.integers(-10, 210), st.sampled_from([2, 3, -1]))
sequences = st.lists(st.one_of(runs, scattered, stepped, st.lists(st.integers(0, 200), max_size=4)))


def recorded(seqs):
    log = IdLog()
    for seq in seqs:
        log.add(seq)
    return log


@given(sequences)
def test_it_holds_every_id_as_often_as_it_was_given(seqs):
    log = recorded(seqs)
    expected = Counter(i for seq in seqs for i in seq)
    assert Counter(log) == expected
    assert len(log) == sum(expected.values())


@given(sequences)
def test_the_ledger_reads_every_id_as_often_as_it_was_given(seqs):
    # (the ledger's arrays: runs' bounds and scattered ids, counted here one by one)
    ids = ledger.ids_of([recorded(seqs)])
    assert _expand(ids) == Counter(i for seq in seqs for i in seq)


@given(sequences, sequences)
def test_since_a_mark_gives_at_least_every_id_recorded_after_it(before, after):
    log = recorded(before)
    mark = log.mark()
    for seq in after:
        log.add(seq)
    since = Counter(log.since(mark))
    later = Counter(i for seq in after for i in seq)
    assert not later - since  # every later id, as often as recorded
    assert not since - later - Counter(i for seq in before for i in seq)  # nothing else


def test_a_run_that_continues_the_last_one_extends_it():
    log = recorded([range(0, 5), range(5, 9), range(20, 22)])
    assert (log.starts, log.stops) == ([0, 20], [9, 22])
    assert log.chunks == []


def _expand(ids: ledger.Ids) -> Counter[int]:
    counts: Counter[int] = Counter()
    for start, stop in zip(ids.starts.tolist(), ids.stops.tolist(), strict=True):
        counts.update(range(start, stop))
    counts.update(ids.singles.tolist())
    return counts
