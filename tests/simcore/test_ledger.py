from simcore.report.ledger import group_counts, intervals, runs, sweep, topic_counts


def test_it_compresses_runs():
    assert runs(range(3, 7)) == [(3, 7)]
    assert runs((1, 2, 3, 7, 8, 10)) == [(1, 4), (7, 9), (10, 11)]
    assert runs(range(0)) == []


def test_it_sweeps_overlapping_layers():
    segments = sweep({"a": [(0, 10, 1)], "b": [(5, 15, 1), (5, 6, 1)]})
    assert segments == [
        (0, 5, {"a": 1, "b": 0}),
        (5, 6, {"a": 1, "b": 2}),
        (6, 10, {"a": 1, "b": 1}),
        (10, 15, {"a": 0, "b": 1}),
    ]


def test_it_counts_lost_and_duplicated_messages():
    counts = topic_counts(
        sent=[(0, 10, 1)],
        acked=intervals([range(0, 8)]),
        failed=intervals([range(8, 10)]),
        log=intervals([range(0, 5), range(3, 5), (6, 7)]),
    )
    assert counts == {
        "sent": 10,
        "acked": 8,
        "failed": 2,
        "in_log": 7,
        "lost_acked": 1,
        "log_duplicates": 2,
        "expired": 0,
    }
    expired = topic_counts(
        [(0, 10, 1)],
        intervals([range(0, 8)]),
        [],
        intervals([range(3, 8)]),
        expired=intervals([range(0, 3)]),
    )
    assert (expired["lost_acked"], expired["expired"]) == (0, 3)  # deleted on purpose


def test_it_counts_processing_over_messages_in_the_log():
    counts = group_counts(intervals([range(0, 6)]), intervals([range(0, 3), range(2, 4), (9,)]))
    assert counts == {
        "processed_once": 3,
        "processed_never": 2,
        "processed_multiple": 1,
        "skipped": 0,
        "unread": 2,
        "expired_unread": 0,
    }
    split = group_counts(
        intervals([range(0, 6)]), intervals([range(2, 4)]), behind=intervals([range(0, 4)])
    )
    assert (split["skipped"], split["unread"]) == (2, 2)  # 0, 1 passed over; 4, 5 still lag
    aged = group_counts(
        intervals([range(5, 9)]),
        intervals([range(0, 2), range(5, 9)]),
        expired=intervals([range(0, 5)]),
    )
    assert aged["expired_unread"] == 3  # 2, 3, 4 were deleted before anyone read them


def test_it_counts_records_landing_behind_later_sends():
    from tests.simcore.helpers import out_of_order

    # p1 sent 0..9; batch 5..9 landed before 0..4; p2 is in order
    log = [("p1", range(5, 10)), ("p2", range(100, 103)), ("p1", range(0, 5)), ("p1", (10,))]
    assert out_of_order(log) == 5
    assert out_of_order([("p1", (0, 1)), ("p1", (3,)), ("p1", (2,)), ("p1", (4,))]) == 1
    # a retried batch written twice in place is a duplicate, not a reordering
    assert out_of_order([("p1", range(0, 6)), ("p1", range(0, 6)), ("p1", range(6, 9))]) == 0
