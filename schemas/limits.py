"""Decode limits: what a hostile record can make the decoder allocate, and why it is bounded.

Avro arrays and maps are written as blocks: a varint *count*, then that many items. fastavro's
reader trusts the count and loops ``for i in range(count)``, appending one Python object per
iteration. Nothing else bounds the loop: if an item type can be encoded in **zero bytes**
(``null``, an empty record, a zero-size ``fixed``, or a record made only of those) a five-byte
count can declare billions of items and the reader will allocate them all from an almost empty
buffer — we measured 10 million ``None`` items, i.e. ~160 MB, from 5 input bytes. So:

1. **Static rule, checked when the contract loads** (``check_schema``): every array item type and
   every map value type must have a minimum encoded size of at least one byte. Then each item
   consumes at least one input byte, a declared count larger than the input ends in ``EOFError``
   (→ ``Truncated``) after at most ``len(data)`` iterations, and the number of objects the decoder
   can create is bounded by the byte count, which ``max_record_bytes`` caps *before* decoding.
   The same rule rejects schemas nested deeper than ``max_nesting_depth`` (and recursive ones),
   which bounds the decoder's stack. Writer schemas fetched from a registry go through the same
   check before they are used.
2. **Strings and bytes**: fastavro reads ``fo.read(length)`` and raises ``EOFError`` when fewer
   bytes came back; ``BytesIO.read`` never allocates beyond the bytes present, so a declared length
   of 2**62 costs nothing (tested). A negative length also ends in ``EOFError``.
3. **Item cap**: ``max_collection_items`` bounds the *total* number of array items and map entries
   in one record. Every event is first walked by ``schemas.scan``, which reads the block counts
   without allocating and raises ``LimitExceeded`` as soon as the total would pass the cap (or
   ``Truncated`` when a count cannot fit the remaining bytes). The same walk refuses what
   fastavro alone would read as a guess: a negative enum or union index (Python's negative list
   indexing makes -1 the last symbol), a negative length, a varint over 10 bytes. ``EventBatch``
   records, written by the pipeline alone, are walked only when long enough to exceed the cap.

What remains is the ratio of decoded Python objects to input bytes. For the six event types
(maps of scalars, arrays of strings) it is about 8-12x in measurements, so the default 1 MiB cap
keeps a worst-case decode well under 16 MiB (the unit tests assert this with ``tracemalloc``).
Records nested in arrays amplify more (~100x for ``EventBatch.events``), which is why the batch
item cap exists and why ``live.*`` topics should only be writable by the pipeline.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

from schemas._types import Schema, kind_of, named_types, resolve


@dataclass(frozen=True, slots=True)
class DecodeLimits:
    """Caps applied to every decode; the defaults suit events and batches of a few MB at most."""

    max_record_bytes: int = 1 << 20
    """Inputs longer than this raise ``RecordTooLarge`` before any parsing."""
    max_collection_items: int = 100_000
    """Total array items + map entries in one record (all collections together)."""
    max_nesting_depth: int = 32
    """Deepest chain of records/arrays/maps/unions a schema may have (static check)."""

    def __post_init__(self) -> None:
        for name in ("max_record_bytes", "max_collection_items", "max_nesting_depth"):
            if getattr(self, name) < 1:
                raise ValueError(f"DecodeLimits.{name} must be >= 1")


DEFAULT_LIMITS = DecodeLimits()

_FIXED_WIDTH = {"null": 0, "boolean": 1, "int": 1, "long": 1, "float": 4, "double": 8}


class _Sizer:
    """Minimum encoded size of a type, memoised per named type (cycles count as infinite)."""

    def __init__(self, named: dict[str, Schema]) -> None:
        self.named = named
        self.memo: dict[str, float] = {}
        self.active: set[str] = set()

    def size(self, node: Schema) -> float:
        if isinstance(node, str) and node not in _FIXED_WIDTH and node in self.named:
            if node in self.memo:
                return self.memo[node]
            if node in self.active:
                return math.inf  # a path through a cycle is never the minimal one
            self.active.add(node)
            try:
                result = self.size(self.named[node])
            finally:
                self.active.discard(node)
            self.memo[node] = result
            return result
        node = resolve(node, self.named)
        kind = kind_of(node)
        if kind in _FIXED_WIDTH:
            return _FIXED_WIDTH[kind]
        if kind in ("string", "bytes", "enum", "array", "map"):
            return 1  # a length, index or block count varint of at least one byte
        if kind == "fixed":
            return int(node["size"])
        if kind == "union":
            return 1 + min((self.size(branch) for branch in node), default=math.inf)
        if kind == "record":
            name = node.get("name")
            if isinstance(name, str) and name in self.named and name not in self.active:
                return self.size(name)
            return sum(self.size(field["type"]) for field in node["fields"])
        raise ValueError(f"unknown Avro type {kind!r}")


def _collections(
    node: Schema, named: dict[str, Schema], path: str, seen: frozenset[str]
) -> Iterator[tuple[str, str, Schema]]:
    """Yield ``(path, kind, item_schema)`` for every array and map reachable from ``node``.

    ``seen`` holds the records on the current path, so a recursive schema terminates.
    """
    node = resolve(node, named)
    kind = kind_of(node)
    if kind == "array":
        yield path, kind, node["items"]
        yield from _collections(node["items"], named, f"{path}[]", seen)
    elif kind == "map":
        yield path, kind, node["values"]
        yield from _collections(node["values"], named, f"{path}{{}}", seen)
    elif kind == "union":
        for branch in node:
            label = branch if isinstance(branch, str) else kind_of(resolve(branch, named))
            yield from _collections(branch, named, f"{path}<{label}>", seen)
    elif kind == "record":
        name = node.get("name")
        if isinstance(name, str):
            if name in seen:
                return
            seen = seen | {name}
        for field in node["fields"]:
            yield from _collections(field["type"], named, f"{path}.{field['name']}", seen)


def nesting_depth(
    node: Schema, named: dict[str, Schema], _active: frozenset[str] = frozenset()
) -> float:
    """Longest chain of nested records/arrays/maps/unions; ``inf`` for a recursive schema."""
    if isinstance(node, str) and node in named:
        if node in _active:
            return math.inf
        _active = _active | {node}
    node = resolve(node, named)
    kind = kind_of(node)
    if kind == "record":
        name = node.get("name")
        if isinstance(name, str):
            _active = _active | {name}
        children = [field["type"] for field in node["fields"]]
    elif kind == "array":
        children = [node["items"]]
    elif kind == "map":
        children = [node["values"]]
    elif kind == "union":
        children = list(node)
    else:
        return 0
    return 1 + max((nesting_depth(child, named, _active) for child in children), default=0)


def check_schema(parsed: Schema, limits: DecodeLimits = DEFAULT_LIMITS) -> list[str]:
    """Static safety problems of a parsed schema; empty when safe to decode untrusted input."""
    named = named_types(parsed)
    sizer = _Sizer(named)
    problems: list[str] = []
    top = parsed.get("name", "<schema>") if isinstance(parsed, dict) else "<schema>"
    for path, kind, item in _collections(parsed, named, top, frozenset()):
        if sizer.size(item) < 1:
            what = "item" if kind == "array" else "value"
            problems.append(
                f"{path}: {kind} {what} type can be encoded in zero bytes; a tiny record could "
                "declare billions of items"
            )
    depth = nesting_depth(parsed, named)
    if depth > limits.max_nesting_depth:
        shown = "recursive" if math.isinf(depth) else f"{int(depth)} levels deep"
        problems.append(f"{top}: schema is {shown}; the limit is {limits.max_nesting_depth}")
    return problems


def min_item_size(parsed: Schema) -> float:
    """Smallest encoded size of one array item or map entry anywhere in the schema.

    A body of ``n`` bytes can hold at most ``n / min_item_size`` items, which lets the codec skip
    the item-counting pre-scan for every record too short to reach the cap. ``inf`` when the
    schema has no collections.
    """
    named = named_types(parsed)
    sizer = _Sizer(named)
    sizes = [
        sizer.size(item) + (1 if kind == "map" else 0)  # a map entry also carries its key
        for _, kind, item in _collections(parsed, named, "", frozenset())
    ]
    return min(sizes, default=math.inf)
