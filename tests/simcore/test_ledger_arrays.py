"""The array ledger counts what a per-id count would, for ranges, array('q') and tuples.

The reference here visits every id (a Counter per layer); the ledger sweeps run
boundaries or, when keyed ids scatter, counts per id over NumPy arrays. Both paths of
the sweep (dense and sparse) and out_of_order's fast and general paths are drawn.
"""

from __future__ import annotations

from array import array
from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from simcore.report.ledger import group_counts, intervals, topic_counts
from tests.simcore.helpers import out_of_order


def seqs(top: int):
    """One id sequence as the engine holds them: a range, an array('q') of ascending
    ids, or a tuple."""
    span = st.tuples(st.integers(0, top), st.integers(0, 40)).map(
        lambda t: range(t[0], t[0] + t[1])
    )
    ids = st.lists(st.integers(0, top), max_size=30).map(sorted)
    return st.one_of(span, ids.map(lambda x: array("q", x)), ids.map(tuple))


def layer(top: int):
    return st.lists(seqs(top), max_size=8)


def counter(layer_seqs) -> Counter[int]:
    return Counter(i for seq in layer_seqs for i in seq)


LINES = st.sampled_from([60, 5_000, 10**9])  # dense, either, sparse


@given(data=st.data(), top=LINES)
def test_topic_counts_equal_a_count_per_id(data, top):
    names = ["sent", "acked", "failed", "log", "expired"]
    layers = {name: data.draw(layer(top)) for name in names}
    c = {name: counter(x) for name, x in layers.items()}
    ids = set().union(*c.values())
    want = {
        "sent": sum(1 for i in ids if c["sent"][i]),
        "acked": sum(1 for i in ids if c["acked"][i]),
        "failed": sum(1 for i in ids if c["failed"][i] and not c["acked"][i]),
        "in_log": sum(1 for i in ids if c["log"][i]),
        "lost_acked": sum(
            1 for i in ids if c["acked"][i] and not c["log"][i] and not c["expired"][i]
        ),
        "log_duplicates": sum(max(c["log"][i] - 1, 0) for i in ids),
        "expired": sum(1 for i in ids if c["expired"][i] and not c["log"][i]),
    }
    got = topic_counts(*(intervals(layers[name]) for name in names))
    assert got == want


@given(data=st.data(), top=LINES)
def test_group_counts_equal_a_count_per_id(data, top):
    names = ["log", "proc", "expired", "behind"]
    layers = {name: data.draw(layer(top)) for name in names}
    c = {name: counter(x) for name, x in layers.items()}
    ids = set().union(*c.values())
    in_log = [i for i in ids if c["log"][i]]
    want = {
        "processed_once": sum(1 for i in in_log if c["proc"][i] == 1),
        "processed_never": sum(1 for i in in_log if not c["proc"][i]),
        "processed_multiple": sum(1 for i in in_log if c["proc"][i] >= 2),
        "skipped": sum(1 for i in in_log if not c["proc"][i] and c["behind"][i]),
        "unread": sum(1 for i in in_log if not c["proc"][i] and not c["behind"][i]),
        "expired_unread": sum(
            1 for i in ids if not c["log"][i] and c["expired"][i] and not c["proc"][i]
        ),
    }
    got = group_counts(*(intervals(layers[name]) for name in names))
    assert got == want


def out_of_order_per_id(batches) -> int:
    """The definition, record by record: a record's first copy counts when it is below
    the highest first-or-last id of the producer's earlier batches in the log."""
    seen: dict[str, set[int]] = {}
    top: dict[str, int] = {}
    count = 0
    for producer, ids in batches:
        done = seen.setdefault(producer, set())
        high = top.get(producer, -1)
        for i in ids:
            if i not in done:
                count += i < high
                done.add(i)
        if len(ids):
            top[producer] = max(high, ids[0], ids[-1])
    return count


@given(st.lists(st.tuples(st.sampled_from(["p1", "p2"]), seqs(80)), max_size=12))
def test_out_of_order_equals_its_definition(batches):
    assert out_of_order(batches) == out_of_order_per_id(batches)


def test_out_of_order_sees_keyed_batches_written_after_later_ones():
    log = [("p", array("q", [6, 12])), ("p", array("q", [0, 18])), ("p", range(24, 25))]
    assert out_of_order(log) == 1  # id 0 landed behind 12
