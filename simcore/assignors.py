"""Partition assignors. For now the range assignor, used statically per group.

RangeAssignor ([J] consumer/RangeAssignor.java): per topic, partitions in order are
split into contiguous ranges over the subscribed members sorted by member id; the
first ``partitions % members`` members get one extra.
"""

from __future__ import annotations

from typing import Mapping

TopicPartition = tuple[str, int]


def range_assign(
    subscriptions: Mapping[str, list[str] | tuple[str, ...]],
    partitions_per_topic: Mapping[str, int],
) -> dict[str, list[TopicPartition]]:
    result: dict[str, list[TopicPartition]] = {m: [] for m in sorted(subscriptions)}
    for topic in sorted(partitions_per_topic):
        members = sorted(m for m, topics in subscriptions.items() if topic in topics)
        if not members:
            continue
        count = partitions_per_topic[topic]
        per, extra = divmod(count, len(members))
        start = 0
        for rank, member in enumerate(members):
            take = per + (1 if rank < extra else 0)
            result[member].extend((topic, p) for p in range(start, start + take))
            start += take
    return {m: sorted(tps) for m, tps in result.items()}
