"""Kafka's consumer partition assignors, bit-exact: range, roundrobin, sticky, cooperative-sticky.

`assign(strategy, subscriptions, partitions_per_topic, current)` returns member id → sorted
list of (topic, partition), every member present. The algorithms follow the Java client
(apache/kafka, clients/.../consumer/):

- ``RangeAssignor`` — per topic, the partitions in order are cut into contiguous ranges over
  the members subscribed to it, sorted by member id; the first ``partitions % members``
  members get one extra.
- ``RoundRobinAssignor`` — every (topic, partition) in topic then partition order is dealt
  to the members sorted by id, circularly, skipping a member not subscribed to the topic.
- ``internals/AbstractStickyAssignor`` (``StickyAssignor``, ``CooperativeStickyAssignor``) —
  balanced, and keeps as many owned partitions as balance allows. When every member
  subscribes to the same topics it takes the "constrained" path (KAFKA-9987, Kafka 2.7+),
  otherwise the "general" path, both reproduced step for step here.

Where the Java code lets iteration order decide, we reproduce that order instead of
guessing: strings compare as Java's ``String.compareTo`` (UTF-16 code units), and the two
places that iterate a ``java.util.HashMap``/``HashSet`` — the constrained path's walk over
the members, and the general path's choice of which partition to move back — use
``_JavaHashSet``, which orders keys as the JDK's hash table does (``String.hashCode`` /
``TopicPartition.hashCode``, spread, bucket, then insertion order). The leader's map is
filled in the order of the JoinGroup response; we take that to be member-id order, which
only matters for two member ids in the same bucket.

Cooperative-sticky computes the same target as sticky. Kafka's assignor then withholds the
partitions another live member still owns; they are revoked first and handed out in a
follow-up rebalance (KIP-429). That second round is the caller's business:
`revoked_and_added` gives what each member loses and gains between two assignments.

librdkafka (``client="librdkafka"``: the group leader is a librdkafka consumer) runs its
own assignors ([R] src/rdkafka_range_assignor.c, rdkafka_roundrobin_assignor.c,
rdkafka_sticky_assignor.c). Without racks, range and round robin give Java's results
(members by member id, topics by name). Its sticky assignor, used for
``cooperative-sticky``, is a port of Java's *pre-2.7* ``AbstractStickyAssignor``: no
constrained path, always the general one, and its own orders where Java iterates hash
maps (`_LibrdkafkaSticky`). So after a member leaves, which survivor takes which orphaned
partition can differ from Java's: 3 members owning ``[0, 3]``, ``[1, 4]``, ``[2, 5]``,
the second leaves → librdkafka ``[0, 3, 4]``, ``[1, 2, 5]``; Java ``[0, 1, 3]``,
``[2, 4, 5]``. tests/oracle checks these against the real client.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import lru_cache
from typing import Any, Generic, TypeVar

from simcore.kernel.types import TopicPartition

Assignment = dict[str, list[TopicPartition]]

STRATEGIES = ("range", "roundrobin", "sticky", "cooperative-sticky")
_CLASS_NAMES = {
    "RangeAssignor": "range",
    "RoundRobinAssignor": "roundrobin",
    "StickyAssignor": "sticky",
    "CooperativeStickyAssignor": "cooperative-sticky",
}
_ALIASES = {
    **{name: name for name in STRATEGIES},
    **_CLASS_NAMES,
    **{f"org.apache.kafka.clients.consumer.{cls}": name for cls, name in _CLASS_NAMES.items()},
}

__all__ = ["STRATEGIES", "assign", "range_assign", "revoked_and_added"]


def assign(
    strategy: str,
    subscriptions: Mapping[str, Sequence[str]],
    partitions_per_topic: Mapping[str, int],
    current: Mapping[str, Sequence[TopicPartition]] | None = None,
    client: str = "java",
) -> Assignment:
    """Assign partitions as Kafka's `strategy` would; see the module docstring.

    `current` is the previous assignment (member → owned partitions), read only by the
    sticky strategies; entries of members no longer in `subscriptions` have left.
    `client` is the group leader's client family (``java`` or ``librdkafka``): the leader
    runs the assignor, and librdkafka's sticky assignor breaks ties its own way.
    """
    name = _ALIASES.get(strategy)
    if name is None:
        allowed = ", ".join(STRATEGIES)
        raise ValueError(
            f"partition.assignment.strategy: unknown assignor {strategy!r}; allowed: {allowed}"
            " (or their org.apache.kafka.clients.consumer.* class names)"
        )
    subs = _normalise_subscriptions(subscriptions)
    counts = {t: n for t, n in partitions_per_topic.items() if n > 0}  # 0: not in metadata
    if name == "range":
        result = _range(subs, counts)
    elif name == "roundrobin":
        result = _roundrobin(subs, counts)
    elif client == "librdkafka":
        result = _librdkafka_sticky(subs, counts, current or {})
    else:
        result = _sticky(subs, counts, current or {})
    return {m: sorted(result.get(m, [])) for m in sorted(subs)}


def range_assign(
    subscriptions: Mapping[str, Sequence[str]],
    partitions_per_topic: Mapping[str, int],
) -> Assignment:
    """RangeAssignor; kept for `simcore.run.simulation`. Same as ``assign("range", ...)``."""
    return assign("range", subscriptions, partitions_per_topic)


def revoked_and_added(
    old: Mapping[str, Sequence[TopicPartition]],
    new: Mapping[str, Sequence[TopicPartition]],
) -> tuple[Assignment, Assignment]:
    """What each member loses and gains from `old` to `new`, for the cooperative protocol.

    Every member of either side appears (a member only in `old` has left: all it had is
    listed as revoked). Under KIP-429 the partitions in some remaining member's revoked
    list that another member gains are withheld in the first rebalance and assigned in
    the second; everything else moves at once.
    """
    members = sorted(set(old) | set(new))
    revoked: Assignment = {}
    added: Assignment = {}
    for member in members:
        before, after = set(old.get(member, ())), set(new.get(member, ()))
        revoked[member] = sorted(before - after)
        added[member] = sorted(after - before)
    return revoked, added


def _normalise_subscriptions(
    subscriptions: Mapping[str, Sequence[str]],
) -> dict[str, frozenset[str]]:
    subs = {}
    for member, topics in subscriptions.items():
        if isinstance(topics, str):
            raise TypeError(f"subscriptions[{member!r}]: expected a list of topics, got {topics!r}")
        subs[member] = frozenset(topics)
    return subs


# --- Java ordering ---------------------------------------------------------------------


def _jkey(text: str) -> bytes:
    """Sort key equal to Java's String.compareTo: UTF-16 code units, not code points."""
    return text.encode("utf-16-be", "surrogatepass")


@lru_cache(maxsize=4096)
def _java_string_hash(text: str) -> int:
    """java.lang.String.hashCode as an unsigned 32-bit value."""
    units = _jkey(text)
    h = 0
    for i in range(0, len(units), 2):
        h = (31 * h + (units[i] << 8 | units[i + 1])) & 0xFFFFFFFF
    return h


def _java_tp_hash(tp: TopicPartition) -> int:
    """org.apache.kafka.common.TopicPartition.hashCode: 31 * (31 + partition) + topic hash."""
    return (31 * (31 + tp[1]) + _java_string_hash(tp[0])) & 0xFFFFFFFF


K = TypeVar("K")


class _JavaHashSet(Generic[K]):
    """The key order of a default-constructed java.util.HashMap (and so HashSet).

    Keys sit in buckets by ``(h ^ h >>> 16) & (capacity - 1)``, each bucket in insertion
    order; the table starts at 16, doubles past 3/4 full, and doubles instead of
    treeifying a bucket of 9 while under 64 buckets. A resize keeps relative order within
    a bucket. Treeified buckets (9+ colliding keys in 64+ buckets) are not modelled.
    """

    def __init__(self, hash_of: Callable[[K], int]) -> None:
        self._hash_of = hash_of
        self._buckets: list[list[K]] = [[] for _ in range(16)]
        self._size = 0

    def _bucket(self, key: K) -> list[K]:
        h = self._hash_of(key)
        return self._buckets[(h ^ (h >> 16)) & (len(self._buckets) - 1)]

    def add(self, key: K) -> None:
        bucket = self._bucket(key)
        if key in bucket:
            return
        bucket.append(key)
        self._size += 1
        if len(bucket) > 8 and len(self._buckets) < 64:
            self._resize()
        if self._size > len(self._buckets) * 3 // 4:
            self._resize()

    def remove(self, key: K) -> None:
        self._bucket(key).remove(key)
        self._size -= 1

    def first(self) -> K:
        return next(iter(self))

    def __iter__(self) -> Iterator[K]:
        for bucket in self._buckets:
            yield from bucket

    def __len__(self) -> int:
        return self._size

    def _resize(self) -> None:
        old = self._buckets
        self._buckets = [[] for _ in range(2 * len(old))]
        for bucket in old:
            for key in bucket:
                self._bucket(key).append(key)


def _java_hashmap_order(members: Sequence[str]) -> list[str]:
    table: _JavaHashSet[str] = _JavaHashSet(_java_string_hash)
    for member in sorted(members, key=_jkey):
        table.add(member)
    return list(table)


# --- range and round robin -------------------------------------------------------------


def _range(subs: dict[str, frozenset[str]], counts: dict[str, int]) -> Assignment:
    result: Assignment = {m: [] for m in subs}
    members = sorted(subs, key=_jkey)
    for topic, count in counts.items():  # topics are independent: order does not matter
        consumers = [m for m in members if topic in subs[m]]
        if not consumers:
            continue
        per, extra = divmod(count, len(consumers))
        start = 0
        for rank, member in enumerate(consumers):
            take = per + (1 if rank < extra else 0)
            result[member].extend(TopicPartition(topic, p) for p in range(start, start + take))
            start += take
    return result


def _roundrobin(subs: dict[str, frozenset[str]], counts: dict[str, int]) -> Assignment:
    result: Assignment = {m: [] for m in subs}
    members = sorted(subs, key=_jkey)
    topics = sorted({t for ts in subs.values() for t in ts if t in counts}, key=_jkey)
    turn = 0
    for topic in topics:
        for partition in range(counts[topic]):
            while topic not in subs[members[turn % len(members)]]:
                turn += 1
            result[members[turn % len(members)]].append(TopicPartition(topic, partition))
            turn += 1
    return result


# --- sticky ----------------------------------------------------------------------------


def _sticky(
    subs: dict[str, frozenset[str]],
    counts: dict[str, int],
    current: Mapping[str, Sequence[TopicPartition]],
) -> Assignment:
    # A consumer with no topics is not in a Kafka group (subscribing to nothing leaves it).
    live = {m: ts for m, ts in subs.items() if ts}
    topics = {t: n for t, n in counts.items() if any(t in ts for ts in live.values())}
    if not live or not topics:
        return {m: [] for m in subs}
    owned = _owned_partitions(live, topics, current)
    if len(set(live.values())) == 1:  # AbstractStickyAssignor.allSubscriptionsEqual
        result = _constrained(list(live), topics, owned)
    else:
        result = _General(live, topics, owned).build()
    _check_complete(result, live, topics)
    return result


def _owned_partitions(
    live: dict[str, frozenset[str]],
    topics: dict[str, int],
    current: Mapping[str, Sequence[TopicPartition]],
) -> dict[str, list[TopicPartition]]:
    """Each live member's claims on existing partitions; a partition claimed twice in the
    same generation is owned by nobody (allSubscriptionsEqual invalidates it)."""
    claims = {
        m: [
            TopicPartition(t, p)
            for t, p in current.get(m, ())
            if t in topics and 0 <= p < topics[t]
        ]
        for m in live
    }
    times = Counter(tp for tps in claims.values() for tp in tps)
    return {m: [tp for tp in tps if times[tp] == 1] for m, tps in claims.items()}


def _constrained(
    members: list[str], topics: dict[str, int], owned: dict[str, list[TopicPartition]]
) -> Assignment:
    """ConstrainedAssignmentBuilder: keep owned partitions up to the quota, deal the rest."""
    total = sum(topics.values())
    min_quota, expected_over = divmod(total, len(members))
    max_quota = min_quota + (1 if expected_over else 0)
    over = 0
    result: Assignment = {m: [] for m in members}
    under: list[str] = []  # below min_quota
    exact: list[str] = []  # at min_quota, may still take one while over < expected_over
    for member in _java_hashmap_order(members):  # Kafka walks a HashMap here
        mine = sorted(owned[member], key=lambda tp: (tp[1], _jkey(tp[0])))
        if len(mine) < min_quota:
            keep = mine
            under.append(member)
        elif len(mine) >= max_quota and over < expected_over:
            over += 1
            if over == expected_over:
                exact.clear()
            keep = mine[:max_quota]
        else:
            keep = mine[:min_quota]
            if over < expected_over:
                exact.append(member)
        result[member].extend(keep)
    taken = {tp for tps in result.values() for tp in tps}
    unassigned = [
        TopicPartition(t, p)
        for t in sorted(topics, key=_jkey)
        for p in range(topics[t])
        if (t, p) not in taken
    ]
    under.sort(key=_jkey)
    exact.sort(key=_jkey)
    _deal_round_robin(unassigned, result, under, exact, min_quota)
    return result


def _deal_round_robin(
    unassigned: list[TopicPartition],
    result: Assignment,
    under: list[str],
    exact: list[str],
    min_quota: int,
) -> None:
    """ConstrainedAssignmentBuilder.assignRoundRobin: cycle over the members under the
    minimum quota, and only when none is left give one more to those at it."""
    cursor = 0  # the LinkedList iterator over `under`
    for tp in unassigned:
        if cursor < len(under):
            member = under[cursor]
            cursor += 1
        elif under:
            member, cursor = under[0], 1
        elif exact:
            member = exact.pop(0)
        else:
            raise AssertionError(f"sticky: no unfilled member left for {tp}")
        result[member].append(tp)
        if len(result[member]) == min_quota:
            del under[cursor - 1]
            cursor -= 1
            exact.append(member)


class _LoadOrder:
    """The general builder's TreeSet of members by (partition count, member id)."""

    def __init__(self, assignment: Assignment) -> None:
        self._assignment = assignment
        self._entries: list[tuple[int, bytes, str]] = []
        self._key: dict[str, tuple[int, bytes, str]] = {}

    def add(self, member: str) -> None:
        if member not in self._key:
            key = (len(self._assignment[member]), _jkey(member), member)
            self._key[member] = key
            insort(self._entries, key)

    def remove(self, member: str) -> None:
        key = self._key.pop(member, None)
        if key is not None:
            del self._entries[bisect_left(self._entries, key)]

    def first(self) -> str:
        return self._entries[0][2]

    def last(self) -> str:
        return self._entries[-1][2]

    def __iter__(self) -> Iterator[str]:
        return (entry[2] for entry in list(self._entries))


class _PartitionMovements:
    """AbstractStickyAssignor.PartitionMovements: where each moved partition came from, so
    a partition moving back along a pair of members is the one that moved out."""

    def __init__(self, new_set: Callable[[], Any] | None = None) -> None:
        """``new_set``: the container per (src, dst) pair — Java's HashSet by default,
        librdkafka's insertion-ordered list (``_ListSet``) for its port."""
        self._new_set = new_set or (lambda: _JavaHashSet(_java_tp_hash))
        self._pair_of: dict[TopicPartition, tuple[str, str]] = {}
        self._by_topic: dict[str, dict[tuple[str, str], Any]] = {}

    def _forget(self, tp: TopicPartition) -> tuple[str, str]:
        pair = self._pair_of.pop(tp)
        pairs = self._by_topic[tp[0]]
        pairs[pair].remove(tp)
        if not pairs[pair]:
            del pairs[pair]
        if not pairs:
            del self._by_topic[tp[0]]
        return pair

    def _record(self, tp: TopicPartition, pair: tuple[str, str]) -> None:
        self._pair_of[tp] = pair
        pairs = self._by_topic.setdefault(tp[0], {})
        if pair not in pairs:
            pairs[pair] = self._new_set()
        pairs[pair].add(tp)

    def move(self, tp: TopicPartition, old: str, new: str) -> None:
        if tp in self._pair_of:
            source, _ = self._forget(tp)
            if source != new:  # not simply going back where it came from
                self._record(tp, (source, new))
        else:
            self._record(tp, (old, new))

    def partition_to_move(self, tp: TopicPartition, old: str, new: str) -> TopicPartition:
        pairs = self._by_topic.get(tp[0])
        if pairs is None:
            return tp
        if tp in self._pair_of:
            old = self._pair_of[tp][0]
        reverse = pairs.get((new, old))
        return tp if reverse is None else reverse.first()


class _General:
    """GeneralAssignmentBuilder: keep what is still valid, give each unassigned partition
    to the least loaded member that can take it, then move partitions while that improves
    the balance (and revert if the balance score did not get better)."""

    def __init__(
        self,
        subs: dict[str, frozenset[str]],
        topics: dict[str, int],
        owned: dict[str, list[TopicPartition]],
    ) -> None:
        self.subs = subs
        self.topics = topics
        self.consumers_of = {t: [m for m in subs if t in subs[m]] for t in topics}
        self.topics_of = {m: [t for t in sorted(subs[m], key=_jkey) if t in topics] for m in subs}
        self.max_size = {m: sum(topics[t] for t in self.topics_of[m]) for m in subs}
        self.assignment: Assignment = {m: list(owned[m]) for m in subs}
        self.owner = {tp: m for m, tps in self.assignment.items() for tp in tps}
        order = sorted(topics, key=lambda t: (len(self.consumers_of[t]), _jkey(t)))
        self.all_partitions = [TopicPartition(t, p) for t in order for p in range(topics[t])]
        self.load = _LoadOrder(self.assignment)
        self.movements = _PartitionMovements()
        self.revocation_required = False

    def build(self) -> Assignment:
        kept: set[TopicPartition] = set()
        for member, tps in self.assignment.items():
            still = [tp for tp in tps if tp[0] in self.subs[member]]
            self.revocation_required |= len(still) != len(tps)
            tps[:] = still
            kept.update(still)
        unassigned = [tp for tp in self.all_partitions if tp not in kept]
        for member in self.assignment:
            self.load.add(member)
        self._balance(unassigned)
        return self.assignment

    def _balance(self, unassigned: list[TopicPartition]) -> None:
        initializing = not self.assignment[self.load.last()]
        for tp in unassigned:
            member = next(m for m in self.load if tp[0] in self.subs[m])
            self._give(tp, member)
        movable = [tp for tp in self.all_partitions if len(self.consumers_of[tp[0]]) >= 2]
        unassigned = [tp for tp in unassigned if len(self.consumers_of[tp[0]]) >= 2]
        fixed = {}
        for member in self.subs:
            if not self._can_move(member):
                self.load.remove(member)
                fixed[member] = self.assignment.pop(member)
        before = {m: list(tps) for m, tps in self.assignment.items()}
        owner_before = dict(self.owner)
        if not self.revocation_required:
            self._reassign(unassigned)  # first try moving only the newly assigned partitions
        performed = self._reassign(movable)
        if not initializing and performed and _score(self.assignment) >= _score(before):
            self.assignment.clear()
            self.assignment.update(before)
            self.owner = owner_before
        self.assignment.update(fixed)

    def _give(self, tp: TopicPartition, member: str) -> None:
        self.load.remove(member)
        self.assignment[member].append(tp)
        self.owner[tp] = member
        self.load.add(member)

    def _can_move(self, member: str) -> bool:
        mine = self.assignment[member]
        if len(mine) < self.max_size[member]:
            return True
        return any(len(self.consumers_of[t]) >= 2 for t, _ in mine)

    def _reassign(self, partitions: list[TopicPartition]) -> bool:
        performed = False
        while True:
            modified = False
            for tp in partitions:
                if self._is_balanced():
                    break
                size = len(self.assignment[self.owner[tp]])
                if any(size > len(self.assignment[o]) + 1 for o in self.consumers_of[tp[0]]):
                    target = next(m for m in self.load if tp[0] in self.subs[m])
                    self._move(tp, target)
                    performed = modified = True
            if not modified:
                return performed

    def _is_balanced(self) -> bool:
        sizes = {m: len(tps) for m, tps in self.assignment.items()}
        if sizes[self.load.first()] >= sizes[self.load.last()] - 1:
            return True
        for member in self.load:
            count = sizes[member]
            if count == self.max_size[member]:
                continue
            for topic in self.topics_of[member]:
                for p in range(self.topics[topic]):
                    other = self.owner[TopicPartition(topic, p)]
                    if other != member and count + 1 < sizes[other]:
                        return False
        return True

    def _move(self, tp: TopicPartition, target: str) -> None:
        tp = self.movements.partition_to_move(tp, self.owner[tp], target)
        source = self.owner[tp]
        self.load.remove(source)
        self.load.remove(target)
        self.movements.move(tp, source, target)
        self.assignment[source].remove(tp)
        self.assignment[target].append(tp)
        self.owner[tp] = target
        self.load.add(target)
        self.load.add(source)


def _score(assignment: Assignment) -> int:
    """getBalanceScore: the sum of |size difference| over every pair of members."""
    sizes = sorted(len(tps) for tps in assignment.values())
    return sum(size * (2 * i - len(sizes) + 1) for i, size in enumerate(sizes))


def _check_complete(
    result: Assignment, live: dict[str, frozenset[str]], topics: dict[str, int]
) -> None:
    seen = Counter(tp for tps in result.values() for tp in tps)
    expected = {(t, p) for t in topics for p in range(topics[t])}
    wrong = [m for m, tps in result.items() if any(t not in live[m] for t, _ in tps)]
    if set(seen) != expected or any(n > 1 for n in seen.values()) or wrong:
        raise AssertionError(f"sticky assignment is not a partition of the topics: {result}")


# --- librdkafka's sticky assignor ------------------------------------------------------


def _librdkafka_sticky(
    subs: dict[str, frozenset[str]],
    counts: dict[str, int],
    current: Mapping[str, Sequence[TopicPartition]],
) -> Assignment:
    # rdkafka_cgrp.c: a member whose metadata lists no topic fails to parse and is left out
    live = {m: ts for m, ts in subs.items() if ts}
    topics = {t: n for t, n in counts.items() if any(t in ts for ts in live.values())}
    if not live or not topics:
        return {m: [] for m in subs}
    result = _LibrdkafkaSticky(live, topics, current).assign()
    _check_complete(result, live, topics)
    return result


class _LibrdkafkaSticky:
    """[R] src/rdkafka_sticky_assignor.c ``rd_kafka_sticky_assignor_assign_cb``, step for
    step (without racks; every member in one generation, so ``prevAssignment`` is empty).

    Orders, where the C code has them from its data structures:
    - ``rd_map_t`` iterates its elements newest first (``LIST_INSERT_HEAD`` on
      ``rmap_iter``, src/rdmap.c), whatever the hashes; ``dict`` order reversed here.
    - the members come in the JoinGroup response's order and the eligible topics in the
      Metadata response's; we take member-id and topic-name order. Member order never
      decides anything below; topic order only orders the orphaned partitions of
      ``sortPartitions`` across topics.
    - every ``rd_list_sort`` / ``qsort`` has a total order (member ids, topic, partition).
    - ``PartitionMovements`` keeps partitions in ``rd_kafka_topic_partition_list_t``
      lists, in insertion order (Java: a HashSet).
    One departure: when a partition moves back along a pair of members,
    ``getTheActualPartitionToBeMoved`` returns a pointer into a movement list that
    ``movePartition`` then deletes from (the element under the pointer is freed or shifted).
    We move the partition that pointer named, as Java does.
    """

    def __init__(
        self,
        subs: dict[str, frozenset[str]],
        topics: dict[str, int],
        current: Mapping[str, Sequence[TopicPartition]],
    ) -> None:
        self.subs = subs
        self.members = sorted(subs)  # strcmp order (Python compares code points, as UTF-8)
        self.topic_order = sorted(topics)  # eligible_topics: Metadata response order
        self.topics = topics
        # prepopulateCurrentAssignments
        self.assignment: dict[str, list[TopicPartition]] = {m: [] for m in self.members}
        self.owner: dict[TopicPartition, str] = {}  # currentPartitionConsumer
        claims: dict[TopicPartition, list[str]] = {}  # sortedPartitionConsumersByGeneration
        for member in self.members:
            for t, p in current.get(member, ()):
                tp = TopicPartition(t, p)
                claims.setdefault(tp, []).append(member)
                self.owner[tp] = member
        for tp, claimants in reversed(claims.items()):  # RD_MAP_FOREACH: newest first
            if len(claimants) > 1:  # claimed twice in one generation: invalidated
                del self.owner[tp]
                continue
            self.assignment[claimants[0]].append(tp)
        # populatePotentialMaps
        self.potential: dict[str, list[TopicPartition]] = {m: [] for m in self.members}
        self.consumers_of: dict[TopicPartition, list[str]] = {}  # partition2AllPotential...
        for topic in self.topic_order:
            for member in self.members:
                if topic in subs[member]:
                    for p in range(topics[topic]):
                        tp = TopicPartition(topic, p)
                        self.potential[member].append(tp)
                        self.consumers_of.setdefault(tp, []).append(member)
        self.potential_set = {m: set(tps) for m, tps in self.potential.items()}
        self.movements = _PartitionMovements(_ListSet)
        self.sorted_subs: list[str] = []  # sortedCurrentSubscriptions

    # -- rd_kafka_sticky_assignor_assign_cb -----------------------------------------------

    def assign(self) -> Assignment:
        fresh = not self.assignment  # RD_MAP_IS_EMPTY(&currentAssignment): never, here
        sorted_partitions = self._sort_partitions(fresh)
        unassigned = list(sorted_partitions)
        revocation_required = False
        for member in reversed(list(self.assignment)):
            kept = []
            for tp in self.assignment[member]:
                if tp not in self.consumers_of:  # the partition no longer exists
                    self.owner.pop(tp, None)
                elif tp[0] not in self.subs[member]:  # no longer subscribed: revoke
                    revocation_required = True
                else:
                    kept.append(tp)
                    unassigned.remove(tp)
            self.assignment[member][:] = kept
        self.sorted_subs = list(self.assignment)
        self._resort()
        self._balance(sorted_partitions, unassigned, revocation_required)
        return self.assignment

    def _resort(self) -> None:
        """sort_by_map_elem_val_toppar_list_cnt: by partition count, then member id."""
        self.sorted_subs.sort(key=lambda m: (len(self.assignment[m]), m))

    # -- sortPartitions --------------------------------------------------------------------

    def _identical(self) -> bool:
        """areSubscriptionsIdentical: every partition has the same consumer list, every
        consumer the same potential partitions."""
        lists = list(self.consumers_of.values())
        if any(c != lists[0] for c in lists):
            return False
        sets = list(self.potential_set.values())
        return all(s == sets[0] for s in sets)

    def _sort_partitions(self, fresh: bool) -> list[TopicPartition]:
        if fresh or not self._identical():
            return sorted(self.consumers_of, key=lambda tp: (len(self.consumers_of[tp]), tp))
        # A reassignment with identical subscriptions: take partitions round robin from the
        # consumer with the most, then add the rest in the map's order (newest first).
        remaining: dict[str, list[TopicPartition]] = {}
        for member in reversed(list(self.assignment)):
            self.assignment[member].sort()  # "Sort assigned partitions for consistency"
            still = [tp for tp in self.assignment[member] if tp in self.consumers_of]
            if still:
                remaining[member] = still
        order = sorted(remaining, key=lambda m: (len(remaining[m]), m))
        result: list[TopicPartition] = []
        while order:
            member = order[-1]
            if remaining[member]:  # (no prevAssignment: the first partition it has)
                result.append(remaining[member].pop(0))
                order.sort(key=lambda m: (len(remaining[m]), m))
            else:
                order.pop()
        was_empty = not result
        seen = set(result)
        for tp in reversed(list(self.consumers_of)):  # upsert, RD_MAP_FOREACH order
            if tp not in seen:
                result.append(tp)
        if was_empty:
            result.sort()
        return result

    # -- balance ---------------------------------------------------------------------------

    def _balance(
        self,
        sorted_partitions: list[TopicPartition],
        unassigned: list[TopicPartition],
        revocation_required: bool,
    ) -> None:
        initializing = not self.assignment[self.sorted_subs[-1]]
        for tp in unassigned:  # maybeAssign
            for member in self.sorted_subs:
                if tp in self.potential_set[member]:
                    self.assignment[member].append(tp)
                    self.owner[tp] = member
                    self._resort()
                    break
        movable = {tp for tp, consumers in self.consumers_of.items() if len(consumers) >= 2}
        sorted_partitions = [tp for tp in sorted_partitions if tp in movable]
        unassigned = [tp for tp in unassigned if tp in movable]
        fixed: dict[str, list[TopicPartition]] = {}
        for member in list(self.sorted_subs):
            if not self._can_participate(member):
                self.sorted_subs.remove(member)
                fixed[member] = self.assignment.pop(member)
        before = {m: list(tps) for m, tps in self.assignment.items()}
        owner_before = dict(self.owner)
        if not revocation_required and unassigned:
            self._perform_reassignments(unassigned)
        performed = self._perform_reassignments(sorted_partitions)
        if not initializing and performed and _score(self.assignment) >= _score(before):
            for member, tps in before.items():
                self.assignment[member][:] = tps
            self.owner = owner_before
        self.assignment.update(fixed)
        self.sorted_subs.extend(fixed)
        self._resort()

    def _can_participate(self, member: str) -> bool:
        """consumerCanParticipateInReassignment."""
        mine = self.assignment[member]
        if len(mine) < len(self.potential[member]):
            return True
        return any(len(self.consumers_of[tp]) >= 2 for tp in mine)

    def _is_balanced(self) -> bool:
        """isBalanced."""
        sizes = {m: len(tps) for m, tps in self.assignment.items()}
        if sizes[self.sorted_subs[0]] >= sizes[self.sorted_subs[-1]] - 1:
            return True
        for member in self.sorted_subs:
            count = sizes[member]
            if count == len(self.potential[member]):
                continue
            mine = set(self.assignment[member])
            for tp in self.potential[member]:
                if tp not in mine and count < sizes[self.owner[tp]]:
                    return False
        return True

    def _perform_reassignments(self, partitions: list[TopicPartition]) -> bool:
        """performReassignments (prevAssignment empty: no move back to a previous owner)."""
        performed = False
        while True:
            modified = False
            for tp in partitions:
                if self._is_balanced():
                    break
                size = len(self.assignment[self.owner[tp]])
                consumer = self.owner[tp]
                if any(
                    other != consumer and size > len(self.assignment[other]) + 1
                    for other in self.consumers_of[tp]
                ):
                    self._reassign(tp)
                    performed = modified = True
            if not modified:
                return performed

    def _reassign(self, tp: TopicPartition) -> None:
        """reassignPartition → reassignPartitionToConsumer → processPartitionMovement."""
        new = next(m for m in self.sorted_subs if tp in self.potential_set[m])
        tp = self.movements.partition_to_move(tp, self.owner[tp], new)
        old = self.owner[tp]
        self.movements.move(tp, old, new)
        self.assignment[new].append(tp)
        self.assignment[old].remove(tp)
        self.owner[tp] = new
        self._resort()


class _ListSet(list[TopicPartition]):
    """librdkafka's PartitionMovements_t container: a partition list in insertion order."""

    def add(self, tp: TopicPartition) -> None:
        self.append(tp)

    def first(self) -> TopicPartition:
        return self[0]
