"""Allocation-free pre-scan that enforces the collection item cap before fastavro decodes.

fastavro offers no hook to stop a decode part-way, so the only way to refuse a record with too
many items *before* the objects exist is to walk its encoding first. The scanner does that: it
reads varints and lengths, skips string/bytes/fixed payloads by arithmetic, counts array items
and map entries against ``DecodeLimits.max_collection_items`` and raises ``LimitExceeded`` as soon
as the total would pass the cap. A block count that cannot fit the remaining bytes (count times the
item's minimum encoded size) raises ``Truncated`` without looping over it.

It is pure Python, so the codec calls it only for records long enough to possibly exceed the cap
(see ``schemas.limits``); ordinary events of a few hundred bytes never pay for it. Its own cost is
bounded by the cap: it stops after ``max_collection_items`` items.

The schema is compiled once into a tree of small closures (no per-call schema interpretation).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from schemas._types import Schema, kind_of, named_types, resolve
from schemas.errors import LimitExceeded, SchemaMismatch, Truncated
from schemas.limits import _Sizer


class _Budget:
    """Per-call state: where the input ends and how many items may still be declared."""

    __slots__ = ("end", "remaining")

    def __init__(self, end: int, remaining: int) -> None:
        self.end = end
        self.remaining = remaining


Skip = Callable[[bytes, int, _Budget], int]


def _read_long(buf: bytes, pos: int, end: int) -> tuple[int, int]:
    """Zig-zag varint at ``pos``; returns ``(value, next position)``."""
    result = 0
    shift = 0
    for _ in range(10):
        if pos >= end:
            raise Truncated("input ends inside a varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return (result >> 1) ^ -(result & 1), pos
        shift += 7
    raise SchemaMismatch("varint longer than 10 bytes")


def _skip_null(buf: bytes, pos: int, budget: _Budget) -> int:
    return pos


def _skip_long(buf: bytes, pos: int, budget: _Budget) -> int:
    if pos < budget.end and buf[pos] < 0x80:  # one byte: most values (fast path, same result)
        return pos + 1
    return _read_long(buf, pos, budget.end)[1]


def _skip_length_prefixed(buf: bytes, pos: int, budget: _Budget) -> int:
    if pos < budget.end and buf[pos] < 0x80:  # one byte: lengths up to 63 (fast path)
        byte = buf[pos]
        length, pos = (byte >> 1) ^ -(byte & 1), pos + 1
    else:
        length, pos = _read_long(buf, pos, budget.end)
    if length < 0:
        raise SchemaMismatch(f"negative string/bytes length {length}")
    if length > budget.end - pos:
        raise Truncated(f"declared length {length} exceeds the {budget.end - pos} bytes left")
    return pos + length


def _fixed_width(width: int) -> Skip:
    def skip(buf: bytes, pos: int, budget: _Budget) -> int:
        if width > budget.end - pos:
            raise Truncated(f"{width}-byte value exceeds the {budget.end - pos} bytes left")
        return pos + width

    return skip


def _indexed(count: int, branches: list[Skip] | None, what: str) -> Skip:
    def skip(buf: bytes, pos: int, budget: _Budget) -> int:
        if pos < budget.end and buf[pos] < 0x80:  # one byte (fast path, same result)
            byte = buf[pos]
            index, pos = (byte >> 1) ^ -(byte & 1), pos + 1
        else:
            index, pos = _read_long(buf, pos, budget.end)
        if not 0 <= index < count:
            raise SchemaMismatch(f"{what} index {index} out of range 0..{count - 1}")
        return branches[index](buf, pos, budget) if branches is not None else pos

    return skip


def _record(fields: list[Skip]) -> Skip:
    def skip(buf: bytes, pos: int, budget: _Budget) -> int:
        for field in fields:
            pos = field(buf, pos, budget)
        return pos

    return skip


def _collection(item: Skip, item_min: float, is_map: bool) -> Skip:
    def skip(buf: bytes, pos: int, budget: _Budget) -> int:
        end = budget.end
        while True:
            count, pos = _read_long(buf, pos, end)
            if count == 0:
                return pos
            if count < 0:
                count = -count
                pos = _read_long(buf, pos, end)[1]  # block size in bytes: not trusted, skipped
            budget.remaining -= count
            if budget.remaining < 0:
                raise LimitExceeded("record declares more collection items than allowed")
            if count * item_min > end - pos:
                raise Truncated(f"block of {count} items cannot fit the {end - pos} bytes left")
            for _ in range(count):
                if is_map:
                    pos = _skip_length_prefixed(buf, pos, budget)
                pos = item(buf, pos, budget)

    return skip


class Scanner:
    """Compiled walker for one parsed schema; ``scan`` raises or returns the end position."""

    def __init__(self, parsed: Schema) -> None:
        self._named = named_types(parsed)
        self._sizer = _Sizer(self._named)
        self._compiled: dict[str, Skip] = {}
        self._skip = self._compile(parsed)

    def scan(self, data: bytes, start: int, max_items: int) -> int:
        """Walk ``data[start:]``; raises ``LimitExceeded``/``Truncated``/``SchemaMismatch``."""
        return self._skip(data, start, _Budget(len(data), max_items))

    def _compile(self, node: Schema) -> Skip:
        if isinstance(node, str) and node in self._named:
            if node not in self._compiled:
                cell: list[Skip] = []
                self._compiled[node] = lambda b, p, s: cell[0](b, p, s)  # recursion-safe
                cell.append(self._compile_resolved(resolve(self._named[node], self._named)))
                self._compiled[node] = cell[0]
            return self._compiled[node]
        resolved: Any = resolve(node, self._named)
        name = resolved.get("name") if isinstance(resolved, dict) else None
        if isinstance(name, str) and name in self._named:
            return self._compile(name)  # one compiled walker per named type
        return self._compile_resolved(resolved)

    def _compile_resolved(self, resolved: Any) -> Skip:
        kind = kind_of(resolved)
        if kind == "null":
            return _skip_null
        if kind in ("int", "long"):
            return _skip_long
        if kind in ("string", "bytes"):
            return _skip_length_prefixed
        if kind in ("boolean", "float", "double", "fixed"):
            width = {"boolean": 1, "float": 4, "double": 8}.get(kind)
            return _fixed_width(width if width is not None else int(resolved["size"]))
        if kind == "enum":
            return _indexed(len(resolved["symbols"]), None, "enum")
        if kind == "union":
            return _indexed(len(resolved), [self._compile(b) for b in resolved], "union")
        if kind == "record":
            return _record([self._compile(f["type"]) for f in resolved["fields"]])
        if kind == "array":
            items = resolved["items"]
            return _collection(self._compile(items), self._sizer.size(items), is_map=False)
        if kind == "map":
            values = resolved["values"]
            return _collection(self._compile(values), 1 + self._sizer.size(values), is_map=True)
        raise ValueError(f"unknown Avro type {kind!r}")
