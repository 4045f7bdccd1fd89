"""Refuse ``--where`` conditions no row of the export can meet, before anything is read.

A condition on a field the row type does not have (``nosuchfield=1``, a typo such as
``metadata.severty>=HIGH``) or on an enum value it never takes (``metadata.severity=URGENT``)
would match nothing, and an export that silently returns 0 rows reads as "nothing happened".
The row type's Avro schema (:func:`streams.replay.layout.row_schema`) says what exists, so such
a condition is a usage error with a suggestion. Inside maps (``headers``, ``decision_details``)
keys are data, so any key is accepted there.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from streams.replay.filters import Condition, RowFilter
from streams.replay.layout import row_schema
from streams.suggest import did_you_mean


def _branch(node: Any) -> Any:
    """The non-null branch of a nullable union (``["null", X]``), else the node itself."""
    if isinstance(node, list):
        others = [b for b in node if b != "null"]
        return others[0] if len(others) == 1 else node
    return node


def _kind(node: Any) -> str:
    node = _branch(node)
    if isinstance(node, dict):
        return str(node.get("type"))
    return str(node)


def _paths(node: Any, prefix: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    node = _branch(node)
    if isinstance(node, dict) and node.get("type") == "record":
        for field in node["fields"]:
            yield from _paths(field["type"], (*prefix, field["name"]))
    elif prefix:
        yield prefix


def shown(path: tuple[str, ...]) -> str:
    """A path as a person types it: event fields without the ``event.`` prefix."""
    return ".".join(path[1:] if path[0] == "event" else path)


def check_condition(condition: Condition, row_type: str, schema: dict[str, Any]) -> None:
    """ValueError when ``condition`` can match no row of ``row_type``."""
    node: Any = schema
    for depth, part in enumerate(condition.path):
        node = _branch(node)
        kind = _kind(node)
        if kind == "map":
            return  # keys are data
        if kind != "record":
            inside = shown(condition.path[:depth])
            raise ValueError(f"{row_type} rows have no field {shown(condition.path)!r}: "
                             f"{inside} is a {kind}, not a record")  # fmt: skip
        fields = {f["name"]: f["type"] for f in node["fields"]}
        if part not in fields:
            known = [shown(p) for p in _paths(schema, ())]
            name = shown(condition.path)
            hint = did_you_mean(name, known) or (
                "; fields: " + ", ".join(k for k in known if "." not in k)
            )
            raise ValueError(f"{row_type} rows have no field {name!r}{hint}")
        node = fields[part]
    leaf = _branch(node)
    if isinstance(leaf, dict) and leaf.get("type") == "enum" and condition.op in ("=", "!="):
        symbols = list(leaf["symbols"])
        nullable = isinstance(node, list) and "null" in node
        for operand in condition.operands:
            if operand not in symbols and not (nullable and operand == "null"):
                raise ValueError(
                    f"{shown(condition.path)} is never {operand!r}"
                    f"{did_you_mean(operand, symbols)}; it is one of {', '.join(symbols)}"
                )


def check_filter(row_filter: RowFilter, row_type: str) -> None:
    """Check every condition of ``row_filter`` against the rows of ``row_type``."""
    schema = row_schema(row_type)
    for condition in row_filter.conditions:
        check_condition(condition, row_type, schema)
