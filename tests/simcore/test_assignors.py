"""The partition assignors against Kafka's documented examples, its own unit tests, and
properties over random groups.

Notation in the examples: ``t0p1`` is ``("t0", 1)``. The "oracle" vectors were computed by
running Kafka's own classes (RangeAssignor, RoundRobinAssignor, AbstractStickyAssignor at
apache/kafka 1eb7644, Oct 2024) on the same input, with the leader's subscription map
filled in member-id order.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simcore.consumer.assignors import STRATEGIES, assign, range_assign, revoked_and_added

STICKY = ("sticky", "cooperative-sticky")


def tps(*names: str) -> list[tuple[str, int]]:
    """``tps("t0p0", "t1p2")`` → ``[("t0", 0), ("t1", 2)]``, sorted like `assign` output."""
    return sorted((n.split("p")[0], int(n.split("p")[1])) for n in names)


TWO_BY_THREE = {"t0": 3, "t1": 3}
UNEQUAL = {"C0": ["t0"], "C1": ["t0", "t1"], "C2": ["t0", "t1", "t2"]}
UNEQUAL_COUNTS = {"t0": 1, "t1": 2, "t2": 3}
FOUR_TOPICS = {"t0": 2, "t1": 2, "t2": 2, "t3": 2}
ALL_FOUR = ["t0", "t1", "t2", "t3"]


# --- the javadoc examples (kafka-facts.md, "Assignors' documented examples") ----------


def test_it_assigns_ranges_as_the_range_assignor_javadoc_says():
    result = assign("range", {"C0": ["t0", "t1"], "C1": ["t0", "t1"]}, TWO_BY_THREE)
    assert result == {"C0": tps("t0p0", "t0p1", "t1p0", "t1p1"), "C1": tps("t0p2", "t1p2")}


def test_it_reshuffles_ranges_when_member_ids_change_order():
    # RangeAssignor javadoc: after a rolling bounce C0 -> C3, C1 -> C2 the ranges swap.
    result = assign("range", {"C3": ["t0", "t1"], "C2": ["t0", "t1"]}, TWO_BY_THREE)
    assert result == {"C2": tps("t0p0", "t0p1", "t1p0", "t1p1"), "C3": tps("t0p2", "t1p2")}


def test_it_deals_round_robin_as_the_javadoc_says():
    result = assign("roundrobin", {"C0": ["t0", "t1"], "C1": ["t0", "t1"]}, TWO_BY_THREE)
    assert result == {"C0": tps("t0p0", "t0p2", "t1p1"), "C1": tps("t0p1", "t1p0", "t1p2")}


def test_it_skips_unsubscribed_members_in_round_robin_as_the_javadoc_says():
    result = assign("roundrobin", UNEQUAL, UNEQUAL_COUNTS)
    assert result == {
        "C0": tps("t0p0"),
        "C1": tps("t1p0"),
        "C2": tps("t1p1", "t2p0", "t2p1", "t2p2"),
    }


def test_it_deals_round_robin_by_member_id_order_as_the_static_membership_javadoc_says():
    members = {m: ["t0", "t1"] for m in ("C0", "C1", "C2")}
    assert assign("roundrobin", members, TWO_BY_THREE) == {
        "C0": tps("t0p0", "t1p0"),
        "C1": tps("t0p1", "t1p1"),
        "C2": tps("t0p2", "t1p2"),
    }
    bounced = {m: ["t0", "t1"] for m in ("C5", "C3", "C4")}  # C0 -> C5, C1 -> C3, C2 -> C4
    assert assign("roundrobin", bounced, TWO_BY_THREE) == {
        "C3": tps("t0p0", "t1p0"),
        "C4": tps("t0p1", "t1p1"),
        "C5": tps("t0p2", "t1p2"),
    }


def test_it_starts_sticky_like_round_robin_in_the_sticky_javadoc_example_1():
    members = {m: ALL_FOUR for m in ("C0", "C1", "C2")}
    expected = {
        "C0": tps("t0p0", "t1p1", "t3p0"),
        "C1": tps("t0p1", "t2p0", "t3p1"),
        "C2": tps("t1p0", "t2p1"),
    }
    assert assign("sticky", members, FOUR_TOPICS) == expected
    assert assign("roundrobin", members, FOUR_TOPICS) == expected


def test_it_keeps_every_previous_partition_when_c1_leaves_in_the_sticky_javadoc_example_1():
    before = assign("sticky", {m: ALL_FOUR for m in ("C0", "C1", "C2")}, FOUR_TOPICS)
    after = assign("sticky", {"C0": ALL_FOUR, "C2": ALL_FOUR}, FOUR_TOPICS, before)
    # What the javadoc promises: both keep everything they had, and share C1's three.
    assert set(before["C0"]) <= set(after["C0"])
    assert set(before["C2"]) <= set(after["C2"])
    # The exact split is Kafka's since 2.7 (KAFKA-9987's constrained path, oracle-checked):
    # C1's partitions in topic order go to the members below quota in id order.
    assert after == {
        "C0": tps("t0p0", "t0p1", "t1p1", "t3p0"),
        "C2": tps("t1p0", "t2p0", "t2p1", "t3p1"),
    }
    rr = assign("roundrobin", {"C0": ALL_FOUR, "C2": ALL_FOUR}, FOUR_TOPICS)
    assert rr == {
        "C0": tps("t0p0", "t1p0", "t2p0", "t3p0"),
        "C2": tps("t0p1", "t1p1", "t2p1", "t3p1"),
    }


def test_it_gives_the_javadocs_exact_split_on_the_general_path():
    # The javadoc's "C0 [t0p0, t1p1, t3p0, t2p0], C2 [t1p0, t2p1, t0p1, t3p1]" predates the
    # constrained path: the general algorithm gives exactly it. A subscription to a topic
    # that does not exist makes the subscriptions unequal and forces that path.
    before = assign("sticky", {m: ALL_FOUR for m in ("C0", "C1", "C2")}, FOUR_TOPICS)
    after = assign("sticky", {"C0": [*ALL_FOUR, "absent"], "C2": ALL_FOUR}, FOUR_TOPICS, before)
    assert after == {
        "C0": tps("t0p0", "t1p1", "t3p0", "t2p0"),
        "C2": tps("t1p0", "t2p1", "t0p1", "t3p1"),
    }


def test_it_balances_unequal_subscriptions_in_the_sticky_javadoc_example_2():
    before = assign("sticky", UNEQUAL, UNEQUAL_COUNTS)
    assert before == {
        "C0": tps("t0p0"),
        "C1": tps("t1p0", "t1p1"),
        "C2": tps("t2p0", "t2p1", "t2p2"),
    }
    remaining = {"C1": UNEQUAL["C1"], "C2": UNEQUAL["C2"]}
    assert assign("sticky", remaining, UNEQUAL_COUNTS, before) == {
        "C1": tps("t1p0", "t1p1", "t0p0"),
        "C2": tps("t2p0", "t2p1", "t2p2"),
    }
    rr_before = assign("roundrobin", UNEQUAL, UNEQUAL_COUNTS)
    assert assign("roundrobin", remaining, UNEQUAL_COUNTS) == {  # "preserves 3"
        "C1": tps("t0p0", "t1p1"),
        "C2": tps("t1p0", "t2p0", "t2p1", "t2p2"),
    }
    assert rr_before["C2"] == tps("t1p1", "t2p0", "t2p1", "t2p2")


# --- Kafka's own unit tests (AbstractStickyAssignorTest) -------------------------------


def test_it_matches_kafkas_mixed_topic_subscriptions_test():
    subs = {"consumer1": ["topic1"], "consumer2": ["topic1", "topic2"], "consumer3": ["topic1"]}
    assert assign("sticky", subs, {"topic1": 3, "topic2": 2}) == {
        "consumer1": [("topic1", 0), ("topic1", 2)],
        "consumer2": [("topic2", 0), ("topic2", 1)],
        "consumer3": [("topic1", 1)],
    }


def test_it_matches_kafkas_two_consumers_two_topics_six_partitions_test():
    subs = {"consumer1": ["topic1", "topic2"], "consumer2": ["topic1", "topic2"]}
    assert assign("sticky", subs, {"topic1": 3, "topic2": 3}) == {
        "consumer1": [("topic1", 0), ("topic1", 2), ("topic2", 1)],
        "consumer2": [("topic1", 1), ("topic2", 0), ("topic2", 2)],
    }


@pytest.mark.parametrize(
    ("counts", "owned", "expected"),
    [
        pytest.param(  # testConsumerOwningMinQuotaExpectedMaxQuota
            {"topic1": 2, "topic2": 3},
            {
                "consumer1": [("topic1", 0), ("topic2", 1)],
                "consumer2": [("topic1", 1), ("topic2", 2)],
            },
            {
                "consumer1": [("topic1", 0), ("topic2", 0), ("topic2", 1)],
                "consumer2": [("topic1", 1), ("topic2", 2)],
            },
            id="owning-min-quota-expected-max-quota",
        ),
        pytest.param(  # testMaxQuotaConsumerMoreThanNumExpectedMaxCapacityMembers
            {"topic1": 2, "topic2": 2},
            {
                "consumer1": [("topic1", 0), ("topic2", 0)],
                "consumer2": [("topic1", 1), ("topic2", 1)],
                "consumer3": [],
            },
            {
                "consumer1": [("topic1", 0)],
                "consumer2": [("topic1", 1), ("topic2", 1)],
                "consumer3": [("topic2", 0)],
            },
            id="more-max-quota-owners-than-slots",
        ),
        pytest.param(  # testAllConsumersAreUnderMinQuota
            {"topic1": 2, "topic2": 3},
            {"consumer1": [("topic1", 0)], "consumer2": [("topic1", 1)], "consumer3": []},
            {
                "consumer1": [("topic1", 0), ("topic2", 1)],
                "consumer2": [("topic1", 1), ("topic2", 2)],
                "consumer3": [("topic2", 0)],
            },
            id="all-under-min-quota",
        ),
    ],
)
def test_it_matches_kafkas_quota_tests(counts, owned, expected):
    subs = {m: ["topic1", "topic2"] for m in owned}
    for strategy in STICKY:
        assert assign(strategy, subs, counts, owned) == expected


def test_it_matches_kafkas_add_remove_consumer_test():
    alone = assign("sticky", {"consumer1": ["topic"]}, {"topic": 3})
    assert alone == {"consumer1": [("topic", 0), ("topic", 1), ("topic", 2)]}
    pair = assign("sticky", {"consumer1": ["topic"], "consumer2": ["topic"]}, {"topic": 3}, alone)
    assert pair == {"consumer1": [("topic", 0), ("topic", 1)], "consumer2": [("topic", 2)]}
    back = assign("sticky", {"consumer2": ["topic"]}, {"topic": 3}, pair)
    assert back == {"consumer2": [("topic", 0), ("topic", 1), ("topic", 2)]}


# --- ties Kafka breaks by Java's hash-table order (oracle vectors) ---------------------


def test_it_lets_javas_hashmap_order_pick_who_gives_up_a_partition_on_scale_out():
    # m31 joins m22 and m27 (2 + 2 of 4 partitions): one of them must drop to 1. Kafka walks
    # the members in HashMap order (m27, m31, m22), so m27 keeps 2, not m22, the first by id.
    subs = {m: ["t0", "t1"] for m in ("m22", "m27", "m31")}
    owned = {"m22": [("t1", 0), ("t0", 1)], "m27": [("t0", 0), ("t1", 1)]}
    assert assign("cooperative-sticky", subs, {"t0": 2, "t1": 2}, owned) == {
        "m22": tps("t1p0"),
        "m27": tps("t0p0", "t1p1"),
        "m31": tps("t0p1"),
    }


def test_it_lets_javas_hashmap_order_pick_who_keeps_the_extra_partition():
    subs = {m: ["t0"] for m in ("C16", "C20", "C28")}
    owned = {"C16": tps("t0p2", "t0p6", "t0p4", "t0p0"), "C28": tps("t0p3", "t0p1", "t0p5")}
    assert assign("sticky", subs, {"t0": 7}, owned) == {
        "C16": tps("t0p0", "t0p2"),
        "C20": tps("t0p4", "t0p6"),
        "C28": tps("t0p1", "t0p3", "t0p5"),
    }


@pytest.mark.parametrize(
    ("subs", "counts", "owned", "expected"),
    [
        pytest.param(
            {
                "c68": ["t0", "t1", "t2", "t3", "t4"],
                "c8": ["t0", "t2", "t3", "t4"],
                "h52": ["t1", "t2"],
            },
            {"t0": 0, "t1": 9, "t2": 2, "t3": 2, "t4": 1},
            {
                "c68": tps("t1p4", "t1p3", "t3p0", "t1p1", "t4p0", "t1p2", "t2p0", "t1p6"),
                "f48": tps("t1p0", "t1p8", "t2p1", "t1p5", "t3p1", "t1p7"),
            },
            {
                "c68": tps("t1p2", "t1p3", "t1p4", "t1p6", "t2p0"),
                "c8": tps("t2p1", "t3p0", "t3p1", "t4p0"),
                "h52": tps("t1p0", "t1p1", "t1p5", "t1p7", "t1p8"),
            },
            id="f48-left",
        ),
        pytest.param(
            {"m37": ["t0", "t1", "t4"], "m38": ["t4"], "m6": ["t0", "t1", "t2"]},
            {"t0": 4, "t1": 4, "t2": 1, "t3": 2, "t4": 3},
            {
                "m37": tps("t4p0", "t4p1", "t0p2", "t1p1", "t1p3", "t0p1", "t4p2", "t1p2"),
                "m6": tps("t0p0"),
            },
            {
                "m37": tps("t0p2", "t1p1", "t1p2", "t1p3"),
                "m38": tps("t4p0", "t4p1", "t4p2"),
                "m6": tps("t0p0", "t0p1", "t0p3", "t1p0", "t2p0"),
            },
            id="m38-joins",
        ),
    ],
)
def test_it_moves_back_the_partition_javas_hashset_yields_first(subs, counts, owned, expected):
    # The general path moves a partition back along a pair of members; which one is
    # HashSet<TopicPartition>.iterator().next().
    assert assign("sticky", subs, counts, owned) == expected


# --- API --------------------------------------------------------------------------------


def test_it_accepts_kafkas_class_names():
    subs = {"C0": ["t0", "t1"], "C1": ["t0", "t1"]}
    for short in STRATEGIES:
        cls = {"range": "RangeAssignor", "roundrobin": "RoundRobinAssignor"}.get(short)
        cls = cls or ("StickyAssignor" if short == "sticky" else "CooperativeStickyAssignor")
        full = f"org.apache.kafka.clients.consumer.{cls}"
        assert assign(full, subs, TWO_BY_THREE) == assign(short, subs, TWO_BY_THREE)


def test_it_names_the_allowed_strategies_for_an_unknown_one():
    with pytest.raises(ValueError, match="range, roundrobin, sticky, cooperative-sticky") as info:
        assign("uniform", {"C0": ["t0"]}, {"t0": 1})
    assert "'uniform'" in str(info.value)


def test_it_keeps_range_assign_for_the_simulation():
    subs = {"c-b": ["orders"], "c-a": ["orders", "audit"]}
    counts = {"orders": 5, "audit": 2, "unused": 3}
    assert range_assign(subs, counts) == assign("range", subs, counts)
    assert range_assign(subs, counts) == {
        "c-a": [("audit", 0), ("audit", 1), ("orders", 0), ("orders", 1), ("orders", 2)],
        "c-b": [("orders", 3), ("orders", 4)],
    }


def test_it_lists_every_member_even_with_nothing_to_do():
    subs = {"C0": ["t0"], "C1": ["t0"], "C2": ["t0"], "C3": []}
    for strategy in STRATEGIES:
        result = assign(strategy, subs, {"t0": 2})
        assert list(result) == ["C0", "C1", "C2", "C3"]
        assert sum(map(len, result.values())) == 2
        assert result["C3"] == []


def test_it_gives_cooperative_sticky_the_same_target_as_sticky():
    before = assign("sticky", {m: ALL_FOUR for m in ("C0", "C1", "C2")}, FOUR_TOPICS)
    remaining = {"C0": ALL_FOUR, "C2": ALL_FOUR, "C3": ALL_FOUR}
    target = assign("cooperative-sticky", remaining, FOUR_TOPICS, before)
    assert target == assign("sticky", remaining, FOUR_TOPICS, before)


def test_it_lists_revoked_and_added_partitions_per_member():
    before = assign("sticky", {"C0": ["t0"], "C1": ["t0"]}, {"t0": 4})
    after = assign(
        "cooperative-sticky", {"C0": ["t0"], "C1": ["t0"], "C2": ["t0"]}, {"t0": 4}, before
    )
    revoked, added = revoked_and_added(before, after)
    assert before == {"C0": tps("t0p0", "t0p2"), "C1": tps("t0p1", "t0p3")}
    assert after == {"C0": tps("t0p0", "t0p2"), "C1": tps("t0p1"), "C2": tps("t0p3")}
    assert revoked == {"C0": [], "C1": tps("t0p3"), "C2": []}
    assert added == {"C0": [], "C1": [], "C2": tps("t0p3")}
    # a member that left has everything revoked; nothing of it waits for a second round
    revoked, added = revoked_and_added(
        after, {"C0": tps("t0p0", "t0p2", "t0p3"), "C1": tps("t0p1")}
    )
    assert revoked["C2"] == tps("t0p3")
    assert added["C0"] == tps("t0p3")


def test_it_ignores_partitions_that_no_longer_exist_or_were_claimed_twice():
    subs = {"C0": ["t0"], "C1": ["t0"]}
    owned = {"C0": [("t0", 0), ("t0", 9), ("gone", 0)], "C1": [("t0", 0), ("t0", 1)]}
    result = assign("sticky", subs, {"t0": 3}, owned)
    # t0p0 has two claimants in one generation: Kafka invalidates it for both. C1 keeps t0p1;
    # the unowned t0p0, t0p2 go first to C0 (below the minimum of 1), then to C1 (oracle).
    assert result == {"C0": tps("t0p0"), "C1": tps("t0p1", "t0p2")}


# --- properties -------------------------------------------------------------------------

MEMBER_IDS = ["C0", "C1", "C2", "C10", "C16", "C20", "c-a", "consumer-1-9f2c", "m31", "m22"]
TOPICS = ["t0", "t1", "t2", "orders"]


@st.composite
def groups(draw: st.DrawFn, equal: bool = False):
    members = draw(st.lists(st.sampled_from(MEMBER_IDS), min_size=1, max_size=6, unique=True))
    topics = TOPICS[: draw(st.integers(1, 4))]
    counts = {t: draw(st.integers(0, 8)) for t in topics}
    subset = st.lists(st.sampled_from(topics), unique=True, min_size=1 if equal else 0)
    if equal:
        common = draw(subset)
        subs = {m: list(common) for m in members}
    else:
        subs = {m: draw(subset) for m in members}
    return subs, counts


@st.composite
def groups_with_history(draw: st.DrawFn):
    """A group plus a previous assignment made by another group over the same topics."""
    subs, counts = draw(groups())
    before, _ = draw(groups())
    old_counts = {t: draw(st.integers(0, counts.get(t, 0))) for t in counts}
    previous = assign(draw(st.sampled_from(STRATEGIES)), before, old_counts)
    return subs, counts, previous


def _owners(result):
    return {tp: m for m, parts in result.items() for tp in parts}


def _check_valid(result, subs, counts):
    every = [tp for parts in result.values() for tp in parts]
    assert len(every) == len(set(every)), "a partition assigned twice"
    wanted = {
        (t, p) for t, n in counts.items() for p in range(n) if any(t in s for s in subs.values())
    }
    assert set(every) == wanted
    for member, parts in result.items():
        assert all(t in subs[member] for t, _ in parts), f"{member} got a topic it does not read"
        assert parts == sorted(parts)
    assert sorted(result) == sorted(subs)


@settings(max_examples=300, deadline=None)
@given(groups_with_history(), st.sampled_from(STRATEGIES))
def test_it_assigns_each_subscribed_partition_to_exactly_one_subscriber(group, strategy):
    subs, counts, previous = group
    _check_valid(assign(strategy, subs, counts, previous), subs, counts)


@settings(max_examples=200, deadline=None)
@given(groups(equal=True), st.sampled_from(("roundrobin", *STICKY)))
def test_it_balances_equal_subscriptions_within_one(group, strategy):
    subs, counts = group
    sizes = [len(parts) for parts in assign(strategy, subs, counts).values()]
    assert max(sizes) - min(sizes) <= 1


@settings(max_examples=200, deadline=None)
@given(groups(equal=True))
def test_it_balances_range_per_topic(group):
    subs, counts = group
    result = assign("range", subs, counts)
    for topic in counts:
        sizes = [sum(1 for t, _ in parts if t == topic) for parts in result.values()]
        assert max(sizes) - min(sizes) <= 1


@settings(max_examples=300, deadline=None)
@given(groups_with_history(), st.sampled_from(STICKY))
def test_it_leaves_no_member_two_short_of_a_partition_it_could_take(group, strategy):
    # StickyAssignor's balance promise for any subscriptions: a member with 2+ fewer
    # partitions than another cannot take any of that member's partitions.
    subs, counts, previous = group
    result = assign(strategy, subs, counts, previous)
    for poor, mine in result.items():
        for theirs in result.values():
            if len(mine) + 1 < len(theirs):
                assert not any(t in subs[poor] for t, _ in theirs)


@settings(max_examples=300, deadline=None)
@given(groups(equal=True), st.data())
def test_it_keeps_every_partition_of_the_remaining_members_when_one_leaves(group, data):
    subs, counts = group
    strategy = data.draw(st.sampled_from(STICKY))
    before = assign(strategy, subs, counts)
    gone = data.draw(st.sampled_from(sorted(subs)))
    remaining = {m: t for m, t in subs.items() if m != gone}
    if not remaining:
        return
    after = assign(strategy, remaining, counts, before)
    for member in remaining:
        assert set(before[member]) <= set(after[member])
    owner = _owners(before)
    rr = assign("roundrobin", remaining, counts)
    assert _moved(after, owner) == len(before[gone]) <= _moved(rr, owner)


@settings(max_examples=300, deadline=None)
@given(groups(), st.data())
def test_it_moves_no_more_than_an_equally_balanced_round_robin_when_one_leaves(group, data):
    subs, counts = group
    before = assign("sticky", subs, counts)
    gone = data.draw(st.sampled_from(sorted(subs)))
    remaining = {m: t for m, t in subs.items() if m != gone}
    after = assign("sticky", remaining, counts, before)
    rr = assign("roundrobin", remaining, counts)
    live = [m for m in remaining if remaining[m]]
    if _spread(rr, live) <= _spread(after, live):  # round robin may buy stickiness with imbalance
        owner = _owners(before)
        assert _moved(after, owner) <= _moved(rr, owner)


def _moved(result, owner):
    return sum(1 for m, parts in result.items() for tp in parts if owner.get(tp) != m)


def _spread(result, members):
    """Kafka's balance score: the sum of size differences over every pair of members."""
    sizes = [len(result[m]) for m in members]
    return sum(abs(a - b) for i, a in enumerate(sizes) for b in sizes[i + 1 :])


@settings(max_examples=200, deadline=None)
@given(groups_with_history(), st.sampled_from(STRATEGIES), st.randoms(use_true_random=False))
def test_it_depends_only_on_the_input_not_its_order(group, strategy, rnd: random.Random):
    subs, counts, previous = group
    expected = assign(strategy, subs, counts, previous)
    assert assign(strategy, subs, counts, previous) == expected
    members = list(subs)
    rnd.shuffle(members)
    shuffled_subs = {m: rnd.sample(subs[m], len(subs[m])) for m in members}
    shuffled_counts = dict(rnd.sample(list(counts.items()), len(counts)))
    shuffled_previous = {m: rnd.sample(p, len(p)) for m, p in reversed(list(previous.items()))}
    assert assign(strategy, shuffled_subs, shuffled_counts, shuffled_previous) == expected


# --- librdkafka's own sticky assignor (src/rdkafka_sticky_assignor.c) -------------------
#
# The vectors below are librdkafka's unit tests (ut_test* in rdkafka_sticky_assignor.c,
# without racks); tests/oracle checks the same algorithm against the real client.


def rdk(subs, counts, current=None, strategy="cooperative-sticky"):
    return assign(strategy, subs, counts, current, client="librdkafka")


def t1(*partitions: int, topic: str = "topic1") -> list[tuple[str, int]]:
    return [(topic, p) for p in partitions]


def test_librdkafka_gives_orphans_to_survivors_in_its_own_order():
    # 3 members own [0,3] [1,4] [2,5]; m2 leaves. librdkafka's sortPartitions lists the
    # orphans newest first (rd_map iteration): p4 then p1, each to the least loaded member
    # by (count, id): m1 takes p4, m3 p1. Java's constrained path deals p1 then p4.
    subs = {"m1": ["t"], "m2": ["t"], "m3": ["t"]}
    before = rdk(subs, {"t": 6})
    assert before == {
        "m1": [("t", 0), ("t", 3)],
        "m2": [("t", 1), ("t", 4)],
        "m3": [("t", 2), ("t", 5)],
    }
    survivors = {"m1": ["t"], "m3": ["t"]}
    assert rdk(survivors, {"t": 6}, before) == {
        "m1": [("t", 0), ("t", 3), ("t", 4)],
        "m3": [("t", 1), ("t", 2), ("t", 5)],
    }
    java = assign("cooperative-sticky", survivors, {"t": 6}, before)
    assert java == {"m1": [("t", 0), ("t", 1), ("t", 3)], "m3": [("t", 2), ("t", 4), ("t", 5)]}


def test_librdkafka_sticky_matches_its_unit_test_stickiness2():
    counts = {"topic1": 6}
    one = {"consumer1": ["topic1"]}
    two = {**one, "consumer2": ["topic1"]}
    three = {**two, "consumer3": ["topic1"]}
    a1 = rdk(one, counts)
    assert a1 == {"consumer1": t1(0, 1, 2, 3, 4, 5)}
    a2 = rdk(two, counts, a1)
    assert a2 == {"consumer1": t1(3, 4, 5), "consumer2": t1(0, 1, 2)}
    a3 = rdk(three, counts, a2)
    assert a3 == {"consumer1": t1(4, 5), "consumer2": t1(1, 2), "consumer3": t1(0, 3)}
    assert rdk(three, counts, a3) == a3  # "Run it twice, should be stable"
    a4 = rdk({"consumer2": ["topic1"], "consumer3": ["topic1"]}, counts, a3)
    assert a4 == {"consumer2": t1(1, 2, 5), "consumer3": t1(0, 3, 4)}
    # Java's constrained path: consumer2 [1, 2, 4], consumer3 [0, 3, 5]
    assert assign("sticky", {"consumer2": ["topic1"], "consumer3": ["topic1"]}, counts, a3) != a4
    assert rdk({"consumer3": ["topic1"]}, counts, a4) == {"consumer3": t1(0, 1, 2, 3, 4, 5)}


def test_librdkafka_sticky_matches_its_unit_test_add_remove_consumer():
    counts = {"topic1": 3}
    a1 = rdk({"consumer1": ["topic1"]}, counts)
    a2 = rdk({"consumer1": ["topic1"], "consumer2": ["topic1"]}, counts, a1)
    assert a2 == {"consumer1": t1(1, 2), "consumer2": t1(0)}
    assert rdk({"consumer2": ["topic1"]}, counts, a2) == {"consumer2": t1(0, 1, 2)}


def test_librdkafka_sticky_matches_its_unit_test_poor_round_robin_scenario():
    every = ["topic1", "topic2", "topic3", "topic4", "topic5"]
    odd = ["topic1", "topic3", "topic5"]
    subs = {"consumer1": every, "consumer2": odd, "consumer3": odd, "consumer4": every}
    counts = {"topic1": 2, "topic2": 1, "topic3": 2, "topic4": 1, "topic5": 2}
    assert rdk(subs, counts) == {
        "consumer1": [("topic2", 0), ("topic3", 0)],
        "consumer2": [("topic1", 0), ("topic3", 1)],
        "consumer3": [("topic1", 1), ("topic5", 0)],
        "consumer4": [("topic4", 0), ("topic5", 1)],
    }


def test_librdkafka_sticky_matches_its_unit_tests_on_mixed_and_two_topics():
    mixed = {"consumer1": ["topic1"], "consumer2": ["topic1", "topic2"], "consumer3": ["topic1"]}
    assert rdk(mixed, {"topic1": 3, "topic2": 2}) == {
        "consumer1": t1(0, 2),
        "consumer2": t1(0, 1, topic="topic2"),
        "consumer3": t1(1),
    }
    both = {"consumer1": ["topic1", "topic2"], "consumer2": ["topic1", "topic2"]}
    assert rdk(both, {"topic1": 3, "topic2": 3}) == {
        "consumer1": sorted(t1(0, 2) + t1(1, topic="topic2")),
        "consumer2": sorted(t1(1) + t1(0, 2, topic="topic2")),
    }


def test_librdkafka_sticky_matches_its_unit_test_add_remove_topic():
    both = {"consumer1": ["topic1", "topic2"], "consumer2": ["topic1", "topic2"]}
    a1 = rdk(both, {"topic1": 3})
    assert a1 == {"consumer1": t1(0, 2), "consumer2": t1(1)}
    a2 = rdk(both, {"topic1": 3, "topic2": 3}, a1)
    assert a2 == {
        "consumer1": sorted(t1(0, 2) + t1(1, topic="topic2")),
        "consumer2": sorted(t1(1) + t1(0, 2, topic="topic2")),
    }
    a3 = rdk(both, {"topic2": 3}, a2)
    assert a3 == {"consumer1": t1(1, topic="topic2"), "consumer2": t1(0, 2, topic="topic2")}


def test_librdkafka_sticky_matches_its_unit_tests_on_owned_partitions():
    one = ["topic1"]
    subs = {"consumer1": one, "consumer2": one, "consumer3": one}
    # AllConsumersReachExpectedQuotaAndAreConsideredFilled
    owned = {"consumer1": t1(0, 1), "consumer2": t1(2)}
    assert rdk(subs, {"topic1": 4}, owned) == {
        "consumer1": t1(0, 1),
        "consumer2": t1(2),
        "consumer3": t1(3),
    }
    # PartitionsTransferringOwnership...ClaimedByMultipleConsumersInSameGeneration (1 and 2)
    owned = {"consumer1": t1(0, 1), "consumer2": t1(0, 2)}
    assert rdk(subs, {"topic1": 3}, owned) == {
        "consumer1": t1(1),
        "consumer2": t1(2),
        "consumer3": t1(0),
    }
    owned = {"consumer1": t1(0, 1), "consumer2": t1(1, 2)}
    assert rdk(subs, {"topic1": 3}, owned) == {
        "consumer1": t1(0),
        "consumer2": t1(2),
        "consumer3": t1(1),
    }


def test_librdkafka_sticky_matches_its_unit_test_no_reassignment_on_current_members():
    topics = ["topic0", "topic1", "topic2", "topic3"]
    subs = {f"consumer{i}": topics for i in (1, 2, 3, 4)}
    owned = {
        "consumer2": [("topic0", 0), ("topic2", 0), ("topic1", 0)],
        "consumer3": [("topic3", 2), ("topic2", 2), ("topic1", 1)],
        "consumer4": [("topic3", 1), ("topic0", 1), ("topic0", 2)],
    }
    result = rdk(subs, {t: 3 for t in topics}, owned)
    assert result["consumer1"] == [("topic1", 2), ("topic2", 1), ("topic3", 0)]
    for member, parts in owned.items():
        assert result[member] == sorted(parts)


@pytest.mark.parametrize("strategy", ["range", "roundrobin"])
def test_librdkafka_range_and_round_robin_are_javas_without_racks(strategy):
    # rdkafka_range_assignor.c / rdkafka_roundrobin_assignor.c: members by member id
    # (group.instance.id when both are static), topics by name, as the Java assignors
    for subs, counts in (
        (UNEQUAL, UNEQUAL_COUNTS),
        ({"C0": ALL_FOUR, "C1": ALL_FOUR}, FOUR_TOPICS),
    ):
        assert rdk(subs, counts, strategy=strategy) == assign(strategy, subs, counts)


@given(groups_with_history())
def test_librdkafka_sticky_assigns_each_subscribed_partition_once(group):
    subs, counts, previous = group
    _check_valid(rdk(subs, counts, previous), subs, counts)


@given(groups(equal=True))
def test_librdkafka_sticky_balances_equal_subscriptions_within_one(group):
    subs, counts = group
    sizes = [len(parts) for parts in rdk(subs, counts).values()]
    assert max(sizes) - min(sizes) <= 1


@given(groups(equal=True), st.data())
def test_librdkafka_sticky_keeps_the_survivors_partitions_when_one_leaves(group, data):
    subs, counts = group
    before = rdk(subs, counts)
    gone = data.draw(st.sampled_from(sorted(subs)))
    remaining = {m: t for m, t in subs.items() if m != gone}
    if not remaining:
        return
    after = rdk(remaining, counts, before)
    for member in remaining:
        assert set(before[member]) <= set(after[member])
    sizes = [len(parts) for parts in after.values()]
    assert max(sizes) - min(sizes) <= 1


@settings(max_examples=200, deadline=None)
@given(groups_with_history(), st.randoms(use_true_random=False))
def test_librdkafka_sticky_depends_only_on_the_input_not_its_order(group, rnd: random.Random):
    subs, counts, previous = group
    expected = rdk(subs, counts, previous)
    members = list(subs)
    rnd.shuffle(members)
    shuffled_subs = {m: rnd.sample(subs[m], len(subs[m])) for m in members}
    shuffled_counts = dict(rnd.sample(list(counts.items()), len(counts)))
    shuffled_previous = {m: rnd.sample(p, len(p)) for m, p in reversed(list(previous.items()))}
    assert rdk(shuffled_subs, shuffled_counts, shuffled_previous) == expected
