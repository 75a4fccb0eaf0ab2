"""The broker's assignor for ``group.protocol=consumer`` (KIP-848): ``uniform``.

The group coordinator computes every member's *target* assignment itself. Its default
assignor, ``uniform``, for a group whose members all subscribe to the same topics
follows apache/kafka ``group-coordinator/.../assignor/UniformHomogeneousAssignmentBuilder``:

1. Quotas: ``total // members`` each, and the first ``total % members`` members (in the
   order the coordinator walks them) one more.
2. Each member, in that order, keeps its previous *target* partitions up to its quota;
   the rest, and every partition nobody had, go to a list of unassigned partitions
   (partitions nobody had first, in topic then partition order; then the surplus, in the
   order the members were walked).
3. Members below quota, in the same order, take from that list in turn.

So it is sticky (a member never loses a partition it may keep) and balanced (sizes differ
by at most one). Kafka walks the members in the order of a ``HashMap`` of member ids,
which are random UUIDs, so the order differs from group to group; here it is member-id
order, the topics are sorted and the partitions ascending (the JDK's ``HashSet`` of small
integers iterates them ascending). Groups whose members subscribe to different topics use
another builder (``UniformHeterogeneousAssignmentBuilder``), not modelled: the scenario
parser rejects them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from simcore.kernel.types import TopicPartition


def uniform(
    members: Sequence[str],
    topics: Sequence[str],
    partitions_per_topic: Mapping[str, int],
    previous: Mapping[str, Sequence[TopicPartition]],
) -> dict[str, list[TopicPartition]]:
    """Target assignment of a homogeneous group: member -> sorted partitions."""
    if not members:
        return {}
    subscribed = sorted(set(topics))
    order = sorted(members)
    everything = [TopicPartition(t, p) for t in subscribed for p in range(partitions_per_topic[t])]
    held = {tp for m in order for tp in previous.get(m, ())}
    unassigned = [tp for tp in everything if tp not in held]
    minimum, extra = divmod(len(everything), len(order))
    target: dict[str, list[TopicPartition]] = {}
    unfilled: list[tuple[str, int]] = []
    for member in order:  # maybeRevokePartitions
        quota = minimum + (1 if extra > 0 else 0)
        extra = max(0, extra - 1)
        kept: list[TopicPartition] = []
        mine = sorted(previous.get(member, ()))
        for topic in sorted({t for t, _p in mine}):
            if topic not in subscribed:
                continue  # no longer subscribed: the whole topic goes
            parts = [tp for tp in mine if tp[0] == topic]
            kept.extend(parts[:quota])
            unassigned.extend(parts[quota:])
            quota = max(0, quota - len(parts))
        if quota > 0:
            unfilled.append((member, quota))
        target[member] = kept
    at = 0
    for member, quota in unfilled:  # assignRemainingPartitions
        target[member].extend(unassigned[at : at + quota])
        at += quota
    if at < len(unassigned):
        raise AssertionError("partitions were left unassigned")
    return {m: sorted(tps) for m, tps in target.items()}
