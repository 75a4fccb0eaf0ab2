"""Key → partition for many records at once, bit-exact with ``simcore.producer.partitioner``.

A keyed producer's records are ``render(template, i)`` for consecutive ``i``. Rendering
and hashing them one by one in Python cost more than everything else a record costs, so
here the keys of a block of indexes are rendered straight into a NumPy byte matrix (one
row per key; keys of one length share a matrix) and hashed column by column with 32-bit
unsigned arithmetic, which wraps modulo 2**32 as the clients' C and Java code does. The
scalar functions in ``simcore.producer.partitioner`` stay the reference: the property tests in
``tests/simcore/test_partitioner_bulk.py`` check these key for key against them, and
``tests/oracle`` checks those against the real librdkafka.
"""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from dataclasses import dataclass
from random import Random

import numpy as np
from numpy.typing import NDArray

from simcore.producer.partitioner import MURMUR2_SEED, librdkafka_partition, partition_for_key

KeyMatrix = NDArray[np.uint8]  # one key per row, all of the same length
Hashes = NDArray[np.uint32]
Partitions = NDArray[np.int64]

_M = np.uint32(0x5BD1E995)
_FNV_PRIME = np.uint32(0x01000193)
_FNV_OFFSET = 0x811C9DC5
BLOCK = 1 << 14  # indexes whose partitions are computed together


def _crc32_table() -> NDArray[np.uint32]:
    """zlib's (reflected, polynomial 0xEDB88320) byte table: table[b] = crc32 step of b."""
    table = np.arange(256, dtype=np.uint32)
    for _ in range(8):
        table = np.where(table & 1, (table >> 1) ^ np.uint32(0xEDB88320), table >> 1)
    return table.astype(np.uint32)


_CRC_TABLE = _crc32_table()


def murmur2_many(keys: KeyMatrix) -> Hashes:
    """``partitioner.murmur2`` of each row, as its unsigned 32-bit value."""
    rows, length = keys.shape
    h = np.full(rows, (MURMUR2_SEED ^ length) & 0xFFFFFFFF, dtype=np.uint32)
    k32 = keys.astype(np.uint32)
    for i in range(0, length - length % 4, 4):
        k = k32[:, i] | k32[:, i + 1] << 8 | k32[:, i + 2] << 16 | k32[:, i + 3] << 24
        k *= _M
        k ^= k >> 24
        k *= _M
        h *= _M
        h ^= k
    tail, rest = length & ~3, length % 4
    if rest == 3:
        h ^= k32[:, tail + 2] << 16
    if rest >= 2:
        h ^= k32[:, tail + 1] << 8
    if rest >= 1:
        h ^= k32[:, tail]
        h *= _M
    h ^= h >> 13
    h *= _M
    h ^= h >> 15
    return h


def crc32_many(keys: KeyMatrix) -> Hashes:
    """``zlib.crc32`` of each row (librdkafka's ``rd_crc32``), table-driven per column."""
    crc = np.full(keys.shape[0], 0xFFFFFFFF, dtype=np.uint32)
    for i in range(keys.shape[1]):
        crc = _CRC_TABLE[(crc ^ keys[:, i]) & 0xFF] ^ (crc >> 8)
    return crc ^ np.uint32(0xFFFFFFFF)


def fnv1a_many(keys: KeyMatrix) -> Hashes:
    """``partitioner.fnv1a`` of each row: FNV-1a, then abs() as a signed 32-bit int
    (INT32_MIN stays 0x80000000, as in C)."""
    h = np.full(keys.shape[0], _FNV_OFFSET, dtype=np.uint32)
    for i in range(keys.shape[1]):
        h ^= keys[:, i]
        h *= _FNV_PRIME
    return np.abs(h.view(np.int32)).view(np.uint32)


def hash_partitions(client: str, partitioner: str, keys: KeyMatrix, count: int) -> Partitions:
    """The partition of each key, as ``partition_for_key`` (Java) or
    ``librdkafka_partition`` (any hashing librdkafka partitioner) would give it."""
    if client == "java" or partitioner in ("murmur2", "murmur2_random"):
        hashes = murmur2_many(keys) & np.uint32(0x7FFFFFFF)  # toPositive(murmur2(key))
    elif partitioner in ("consistent", "consistent_random"):
        hashes = crc32_many(keys)
    elif partitioner in ("fnv1a", "fnv1a_random"):
        hashes = fnv1a_many(keys)
    else:
        raise ValueError(f"partitioner {partitioner!r} does not hash keys")
    return (hashes % np.uint32(count)).astype(np.int64)


def partitions_of_keys(
    client: str, partitioner: str, keys: Sequence[bytes], count: int
) -> Partitions:
    """``hash_partitions`` for keys of any lengths (grouped by length)."""
    lengths = np.fromiter(map(len, keys), dtype=np.int64, count=len(keys))
    out = np.empty(len(keys), dtype=np.int64)
    for length in np.unique(lengths).tolist():
        rows = np.flatnonzero(lengths == length)
        joined = b"".join([keys[r] for r in rows.tolist()])
        matrix = np.frombuffer(joined, dtype=np.uint8).reshape(len(rows), length)
        out[rows] = hash_partitions(client, partitioner, matrix, count)
    return out


# -- rendering a template for a block of indexes ------------------------------------------


@dataclass(frozen=True, slots=True)
class _Field:
    """One ``{i:spec}`` placeholder: base 10 or 16, digit case, pad width and fill."""

    base: int
    digits: bytes  # the digit characters, e.g. b"0123456789"
    width: int
    fill: int  # ord(" ") or ord("0")


_SPEC = re.compile(r"(0?)(\d*)([dxX]?)")  # what scenario.checks.check_template accepts


def parse_template(template: str) -> list[bytes | _Field] | None:
    """The template as literal byte strings and fields, or None if some placeholder is
    not one this module renders (then keys are rendered one by one)."""
    pieces: list[bytes | _Field] = []
    for literal, name, spec, conversion in string.Formatter().parse(template):
        if literal:
            pieces.append(literal.encode())
        if name is None:
            continue
        match = _SPEC.fullmatch(spec or "")
        if name != "i" or conversion or match is None:
            return None
        zero, width, kind = match.groups()
        base = 16 if kind in ("x", "X") else 10
        digits = b"0123456789ABCDEF" if kind == "X" else b"0123456789abcdef"
        fill = ord("0") if zero and width else ord(" ")
        pieces.append(_Field(base, digits[:base], int(width or 0), fill))
    return pieces


def _field_width(field: _Field, index: NDArray[np.int64]) -> NDArray[np.int64]:
    digits = np.ones(index.shape, dtype=np.int64)
    power = field.base
    top = int(index.max()) if len(index) else 0
    while power <= top:
        digits += index >= power
        power *= field.base
    return np.maximum(digits, field.width)


def _field_columns(field: _Field, index: NDArray[np.int64], width: int) -> KeyMatrix:
    """The field rendered right-aligned in ``width`` columns for every index."""
    table = np.frombuffer(field.digits, dtype=np.uint8)
    out = np.full((len(index), width), field.fill, dtype=np.uint8)
    low, top = int(index.min()), int(index.max())
    quotient, power = index, 1  # quotient = index // power
    for col in range(width - 1, -1, -1):
        if power > top and col < width - 1:
            break  # no index has this many digits: the fill is already there
        quotient, digit = np.divmod(quotient, field.base)  # (one division a column)
        digits = table[digit]  # the last column's digit: "0" for index 0
        if low < power and col < width - 1:  # some indexes are shorter: they keep the fill
            digits = np.where(index >= power, digits, field.fill)
        out[:, col] = digits
        power *= field.base
    return out


def render_keys(pieces: list[bytes | _Field], index: NDArray[np.int64]) -> list[KeyMatrix]:
    """The rendered keys of ascending ``index``, as matrices of consecutive rows with one
    key length each (lengths only grow with the index)."""
    lengths = np.zeros(len(index), dtype=np.int64)
    for piece in pieces:
        lengths += len(piece) if isinstance(piece, bytes) else _field_width(piece, index)
    cuts = (np.flatnonzero(np.diff(lengths)) + 1).tolist()
    out = []
    for lo, hi in zip([0, *cuts], [*cuts, len(index)], strict=True):
        part = index[lo:hi]
        columns = [
            np.broadcast_to(np.frombuffer(p, dtype=np.uint8), (len(part), len(p)))
            if isinstance(p, bytes)
            else _field_columns(p, part, int(_field_width(p, part[:1])[0]))
            for p in pieces
        ]
        out.append(np.hstack(columns) if columns else np.zeros((len(part), 0), dtype=np.uint8))
    return out


# -- a producer's partitions -----------------------------------------------------------------


class KeyedPartitions:
    """The partition of each record of a producer that does not spread its records: an
    explicit partition, a key hashed by the partitioner (computed ``BLOCK`` indexes at a
    time, on demand), or librdkafka's ``random`` (a draw per record, in record order).
    ``of(start, stop)`` is asked for consecutive spans below ``records``, each record
    once."""

    def __init__(
        self,
        client: str,
        partitioner: str,
        key: str | None,
        partition: int | None,
        count: int,
        rng: Random,
        records: int,
    ) -> None:
        self.client, self.partitioner, self.count, self._rng = client, partitioner, count, rng
        self.records = records  # the producer's: no block reaches past it
        self._pieces = parse_template(key or "")
        self._random = partition is None and client != "java" and partitioner == "random"
        self.constant: int | None = partition
        fixed_key = self._pieces is not None and not any(
            isinstance(p, _Field) for p in self._pieces
        )
        if partition is None and not self._random and fixed_key:  # the same key each time
            self.constant = self._scalar((key or "").encode())
        self._template = key or ""
        self._blocks: dict[int, list[int]] = {}

    def _scalar(self, key: bytes) -> int:
        if self.client == "java":
            return partition_for_key(key, self.count)
        return librdkafka_partition(self.partitioner, key, self.count)

    def of(self, start: int, stop: int) -> list[int]:
        """Partitions of records ``start .. stop - 1`` (not for a constant partition)."""
        if self._random:  # rd_jitter(0, partition_cnt - 1) per message
            return [self._rng.randrange(self.count) for _ in range(stop - start)]
        first, last = start // BLOCK, (stop - 1) // BLOCK
        if first == last:
            lo = first * BLOCK
            return self._block(first)[start - lo : stop - lo]
        out: list[int] = []
        for b in range(first, last + 1):
            lo = b * BLOCK
            out += self._block(b)[max(start, lo) - lo : min(stop, lo + BLOCK) - lo]
        return out

    def _block(self, number: int) -> list[int]:
        block = self._blocks.get(number)
        if block is None:
            self._blocks.pop(number - 1, None)  # asked for in order: the last one is done
            block = self._blocks[number] = self._compute(number).tolist()
        return block

    def _compute(self, number: int) -> Partitions:
        stop = min((number + 1) * BLOCK, self.records)
        index = np.arange(number * BLOCK, stop, dtype=np.int64)
        if self._pieces is None:  # a placeholder this module does not render
            keys = [self._template.format(i=i).encode() for i in index.tolist()]
            return partitions_of_keys(self.client, self.partitioner, keys, self.count)
        return np.concatenate(
            [
                hash_partitions(self.client, self.partitioner, matrix, self.count)
                for matrix in render_keys(self._pieces, index)
            ]
        )
