"""Partition logs: record batches, offsets, log-start offset, LEO and high watermark.

A log is a list of batches. A batch carries a contiguous offset range and the
messages it holds as a compact sequence of ledger message ids (a ``range`` when the
producer's messages are consecutive, else an ``array('q')``: keyed records), so a
million records cost what their batches cost. Replicas share a batch's id sequence.

Transactions (KIP-98): a transactional producer's batches are flagged ``transactional``;
the coordinator ends a transaction by writing a *control batch* (a COMMIT or ABORT marker,
one record) to each of its partitions. A marker occupies an offset like any record but
holds no message: its ``msgs`` is ``MARKER_MSGS`` (one placeholder id, -1) so offsets and
``end`` stay ``base + len(msgs)``, and every reader of messages skips ``control`` batches.
Each replica keeps, as Kafka's ``ProducerStateManager`` does, the first offset of every
open transaction (its last stable offset, LSO, is the lowest of them, capped by the high
watermark: [S] storage ProducerStateManager.firstUnstableOffset, UnifiedLog
.lastStableOffset) and the aborted transactions index ([S] storage TransactionIndex:
producer id, first offset, the abort marker's offset) that read_committed fetches use.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from operator import attrgetter
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from simcore.broker.replication import LeaderState


DATA: Final = 0  # a batch's ``control``: data, or a transaction marker
COMMIT: Final = 1
ABORT: Final = 2
MARKER_NAMES: Final = {COMMIT: "COMMIT", ABORT: "ABORT"}
MARKER_MSGS: Final = range(-1, 0)  # a marker's one record: no message of the ledger
_BASE: Final = attrgetter("base")  # a batch's base offset, the key of the log's searches


class Batch:
    """A record batch in a log ([J] DefaultRecordBatch). A plain class with its own
    ``__init__``, not a dataclass: mypyc compiles this one, while a dataclass's generated
    ``__init__`` runs in the interpreter — one per batch, hundreds of thousands a run."""

    __slots__ = (
        "base",
        "base_seq",
        "control",
        "created_ms",
        "epoch",
        "msgs",
        "number",
        "producer",
        "producer_epoch",
        "producer_id",
        "size",
        "transactional",
    )

    def __init__(
        self,
        base: int,
        msgs: Sequence[int],
        size: int,
        created_ms: int,
        producer: str,
        producer_id: int = -1,
        base_seq: int = -1,
        epoch: int = 0,
        number: int = -1,
        producer_epoch: int = 0,
        transactional: bool = False,
        control: int = DATA,
    ) -> None:
        self.base = base  # first offset (set on append)
        self.msgs = msgs  # ledger message ids, one per record
        self.size = size  # bytes
        self.created_ms = created_ms  # when its first record was produced (its timestamp)
        self.producer = producer
        self.producer_id = producer_id  # idempotent producers: broker-side dedup key
        self.base_seq = base_seq
        self.epoch = epoch  # leader epoch at append
        self.number = number  # the producer's batch number (for message stories)
        self.producer_epoch = producer_epoch  # idempotent producers: bumped by KIP-360
        self.transactional = transactional  # written inside a transaction (KIP-98)
        self.control = control  # DATA, or a COMMIT / ABORT marker (a control batch)

    def __repr__(self) -> str:
        return (
            f"Batch(base={self.base}, count={len(self.msgs)}, producer={self.producer!r}, "
            f"number={self.number}, epoch={self.epoch}, control={self.control})"
        )

    @property
    def count(self) -> int:
        return len(self.msgs)

    @property
    def end(self) -> int:
        return self.base + len(self.msgs)


class ReplicaLog:
    """One replica's copy of a partition."""

    __slots__ = (
        "aborted",
        "batches",
        "broker",
        "epoch",
        "epochs",
        "hw",
        "lead",
        "leader",
        "leo",
        "log_start",
        "open_txns",
        "truncations",
        "unreplicated",
    )

    def __init__(self, broker: int) -> None:
        self.broker = broker
        self.batches: list[Batch] = []  # searched by base offset (``batches_from``)
        self.log_start = 0
        self.leo = 0
        self.hw = 0
        self.epochs: list[tuple[int, int]] = []  # leader-epoch cache: (epoch, start offset)
        self.lead: LeaderState | None = None  # while this replica believes it leads
        self.leader: int | None = None  # the leader this replica knows of
        self.epoch = -1  # the leader epoch this replica knows of
        self.truncations = 0  # times records at or above some offset were cut away
        self.open_txns: dict[int, int] = {}  # producer id -> first offset of its open txn
        self.aborted: list[tuple[int, int, int]] = []  # (producer id, first, marker offset)
        # ended transactions whose marker may still be above the HW: (first, marker offset)
        self.unreplicated: list[tuple[int, int]] = []

    def append(self, batch: Batch) -> Batch:
        """Appends at the LEO (the leader assigns offsets this way). The batch a request
        carried (a new object per request: the sender's, a marker, a publisher's) becomes
        the log's, placed at the LEO: no copy per append."""
        batch.base = self.leo
        self.copy_from(batch)
        return batch

    def copy_from(self, batch: Batch) -> None:
        """A follower appends the leader's batch at the leader's offsets."""
        assert batch.base == self.leo, (batch.base, self.leo)
        if not self.epochs or batch.epoch > self.epochs[-1][0]:
            self.epochs.append((batch.epoch, batch.base))
        self.batches.append(batch)
        self.leo = batch.base + len(batch.msgs)
        if batch.transactional:
            self._track_transaction(batch)

    def copy_run(self, batches: list[Batch]) -> None:
        """A follower appends the leader's consecutive batches from its LEO on (a fetch
        answer: the first starts at the LEO, each next where the one before ends)."""
        last = batches[-1]
        if (
            len(batches) == 1  # (the usual answer under keyed traffic: one batch)
            or batches[0].epoch != last.epoch
            or not self.epochs
            or any(b.transactional for b in batches)
        ):
            for batch in batches:
                self.copy_from(batch)
            return
        assert batches[0].base == self.leo, (batches[0].base, self.leo)
        if last.epoch > self.epochs[-1][0]:
            self.epochs.append((last.epoch, batches[0].base))
        self.batches += batches
        self.leo = last.base + len(last.msgs)

    def _track_transaction(self, batch: Batch) -> None:
        """The producer state of a transactional batch: a data batch opens its producer's
        transaction (if none is open), a marker closes it; an ABORT marker adds the
        transaction to the aborted index ([S] ProducerAppendInfo.appendEndTxnMarker)."""
        pid = batch.producer_id
        if batch.control == DATA:
            if pid not in self.open_txns:
                self.open_txns[pid] = batch.base
            return
        first = self.open_txns.pop(pid, None)
        if first is None:
            return
        self.unreplicated.append((first, batch.base))
        if batch.control == ABORT:
            self.aborted.append((pid, first, batch.base))

    @property
    def lso(self) -> int:
        """The last stable offset: the first offset of the earliest transaction that is
        open, or ended by a marker the high watermark has not yet passed; the high
        watermark if that is lower, or nothing is unstable ([S] ProducerStateManager
        .firstUndecidedOffset: ongoing and unreplicated transactions)."""
        hw = self.hw
        if self.unreplicated:
            self.unreplicated = [t for t in self.unreplicated if t[1] >= hw]
        if not self.open_txns and not self.unreplicated:
            return hw
        first = min(
            min(self.open_txns.values(), default=hw),
            min((t[0] for t in self.unreplicated), default=hw),
        )
        return min(hw, first)

    def aborted_between(self, start: int, end: int) -> list[tuple[int, int, int]]:
        """The aborted transactions a fetch of [start, end) must be told about (those whose
        marker is at or above ``start`` and which began below ``end``;
        [S] TransactionIndex.collectAbortedTxns)."""
        return [a for a in self.aborted if a[2] >= start and a[1] < end]

    def start_epoch(self, epoch: int) -> None:
        """A new leader records where its epoch starts (its LEO) in the epoch cache."""
        if not self.epochs or epoch > self.epochs[-1][0]:
            self.epochs.append((epoch, self.leo))

    def end_offset_for_epoch(self, epoch: int) -> tuple[int, int]:
        """OffsetsForLeaderEpoch (KIP-101/279): the largest known epoch <= ``epoch`` and
        the offset where it ends (the next epoch's start, or the LEO)."""
        found = -1
        for k, (e, _start) in enumerate(self.epochs):
            if e <= epoch:
                found = k
        if found < 0:
            return -1, self.log_start
        end = self.epochs[found + 1][1] if found + 1 < len(self.epochs) else self.leo
        return self.epochs[found][0], end

    def latest_epoch(self) -> int:
        return self.epochs[-1][0] if self.epochs else -1

    def delete_before(self, offset: int) -> list[Batch]:
        """Retention: drop whole batches below ``offset`` and move the log start there."""
        removed: list[Batch] = []
        keep = 0
        while keep < len(self.batches) and self.batches[keep].end <= offset:
            removed.append(self.batches[keep])
            keep += 1
        del self.batches[:keep]
        self.log_start = max(self.log_start, offset)
        if self.leo < self.log_start:  # a lagging follower starts over at the new log start
            self.batches.clear()
            self.leo = self.log_start
        self.hw = max(self.hw, self.log_start)
        return removed

    def truncate_to(self, offset: int) -> list[Batch]:
        """Drops every record at or above ``offset``; returns what was removed."""
        removed: list[Batch] = []
        self.truncations += 1
        while self.batches and self.batches[-1].end > offset:
            last = self.batches.pop()
            if last.base < offset:  # keep the head of a batch cut in the middle
                keep = offset - last.base
                head = Batch(
                    last.base,
                    last.msgs[:keep],
                    last.size * keep // last.count,
                    last.created_ms,
                    last.producer,
                    last.producer_id,
                    last.base_seq,
                    last.epoch,
                    last.number,
                    last.producer_epoch,
                    last.transactional,
                    last.control,
                )
                removed.append(
                    Batch(
                        offset,
                        last.msgs[keep:],
                        last.size - head.size,
                        last.created_ms,
                        last.producer,
                        last.producer_id,
                        last.base_seq + keep,
                        last.epoch,
                        last.number,
                        last.producer_epoch,
                        last.transactional,
                        last.control,
                    )
                )
                self.batches.append(head)
            else:
                removed.append(last)
        self.leo = min(self.leo, offset)
        self.hw = min(self.hw, self.leo)
        while self.epochs and self.epochs[-1][1] >= self.leo:
            self.epochs.pop()
        if self.open_txns or self.unreplicated or any(b.transactional for b in removed):
            self._rebuild_transactions()
        return removed

    def _rebuild_transactions(self) -> None:
        """After a truncation: the producer state again from the batches left (Kafka
        reloads it from a snapshot and the log: [S] UnifiedLog.rebuildProducerState)."""
        self.open_txns = {}
        self.aborted = []
        self.unreplicated = []
        for batch in self.batches:
            if batch.transactional:
                self._track_transaction(batch)

    def batches_from(self, offset: int, limit: int) -> list[Batch]:
        """Batches holding offsets in [offset, limit)."""
        if offset >= limit:
            return []
        batches = self.batches
        # Most reads are at the tail (a follower at its LEO, a consumer keeping up): a few
        # steps back from the end find the batch without a search. Either way i is the
        # last batch based <= offset. (No array of base offsets beside the batches: an
        # array's append parses its argument like a format string, per batch and replica.)
        i = len(batches) - 1
        steps = 0
        while i >= 0 and batches[i].base > offset:
            i -= 1
            steps += 1
            if steps == 4:
                i = bisect_right(batches, offset, 0, i + 1, key=_BASE) - 1
                break
        if i < 0:
            i = 0
        elif batches[i].base + len(batches[i].msgs) <= offset:
            i += 1  # ``offset`` lies past that batch (at the LEO, or in a gap)
        if limit >= self.leo:  # up to the end (a follower's fetch)
            return batches[i:]
        j = i
        while j < len(batches) and batches[j].base < limit and j - i < 4:
            j += 1  # (a consumer's read up to the HW: a batch or two below the LEO)
        if j < len(batches) and batches[j].base < limit:
            j = bisect_left(batches, limit, j, key=_BASE)
        return batches[i:j]

    def timestamp_at(self, offset: int) -> int | None:
        found = self.batches_from(offset, offset + 1)
        return found[0].created_ms if found else None


def within_fetch_limit(batches: list[Batch], cap: int, first: bool) -> tuple[list[Batch], int]:
    """The leading batches of one partition that fit ``cap`` bytes, and their size: KIP-74's
    rule for consumer and replica fetches alike (``max.partition.fetch.bytes`` /
    ``replica.fetch.max.bytes`` per partition, the response's remaining room overall), except
    that the response's first batch is returned whole even when it is larger (``first``: no
    batch in the response yet), so a large batch can never stall a fetch."""
    size = 0
    for count, batch in enumerate(batches):
        if size + batch.size > cap and (count or not first):
            return batches[:count], size
        size += batch.size
    return batches, size
