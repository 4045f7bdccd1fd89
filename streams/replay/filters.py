"""``--where`` field filters on export rows: ``PATH OP VALUE``, all of them must hold.

- ``PATH`` is dotted, rooted at a row field (``topic``, ``partition``, ``offset``, ``index``,
  ``timestamp``, ``key``, ``event_type``, ``source``, ``event``, ``enrichment``); any other first
  segment is looked up in the event, so ``agent_id`` means ``event.agent_id`` and
  ``metadata.severity`` means ``event.metadata.severity``.
- ``OP`` is ``=`` (equals one of the comma-separated values), ``!=`` (none of them), or
  ``>=``, ``<=``, ``>``, ``<``. Ordering compares severities by level (DEBUG < INFO < LOW <
  MEDIUM < HIGH < CRITICAL) on any field named ``severity``, numbers as numbers, text as text.
- Booleans match ``true``/``false``, a null field matches ``null``. A missing field matches no
  condition, not even ``!=``.

Filtering never changes which offsets the export covers: a filtered-out record still moves the
checkpoint forward, so a resumed filtered export stays exact.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from streams.pipeline.severity import severity_level

ROW_FIELDS = frozenset(
    {"topic", "partition", "offset", "index", "timestamp", "key", "event_type", "source", "event",
     "enrichment"}
)  # fmt: skip
_CONDITION = re.compile(r"(?P<path>[A-Za-z_][\w.]*)\s*(?P<op>!=|>=|<=|=|>|<)\s*(?P<value>.*)")
_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
}
_MISSING = object()


def _text(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Condition:
    path: tuple[str, ...]
    op: str
    operands: tuple[str, ...]

    def value(self, row: Mapping[str, Any]) -> Any:
        node: Any = row
        for part in self.path:
            if not isinstance(node, Mapping) or part not in node:
                return _MISSING
            node = node[part]
        return node

    def holds(self, row: Mapping[str, Any]) -> bool:
        value = self.value(row)
        if value is _MISSING:
            return False
        if self.op in ("=", "!="):
            found = any(self._equal(value, operand) for operand in self.operands)
            return found if self.op == "=" else not found
        ordered = self._ordered(value, self.operands[0])
        return ordered is not None and _ORDER[self.op](*ordered)

    @staticmethod
    def _equal(value: Any, operand: str) -> bool:
        if isinstance(value, int | float) and not isinstance(value, bool):
            number = _number(operand)
            return number is not None and value == number
        return _text(value) == operand

    def _ordered(self, value: Any, operand: str) -> tuple[Any, Any] | None:
        if self.path[-1] == "severity" and isinstance(value, str):
            return severity_level(value), severity_level(operand)
        if isinstance(value, int | float) and not isinstance(value, bool):
            number = _number(operand)
            return None if number is None else (value, number)
        return (value, operand) if isinstance(value, str) else None


def parse_condition(text: str) -> Condition:
    """One ``--where`` value; ``ValueError`` says what is wrong with it."""
    match = _CONDITION.fullmatch(text.strip())
    if match is None:
        raise ValueError(
            f"{text!r} is not a condition like metadata.severity>=HIGH or agent_id=a,b"
        )
    path = tuple(match["path"].split("."))
    if "" in path:
        raise ValueError(f"{text!r}: empty segment in the field path")
    if path[0] not in ROW_FIELDS:
        path = ("event", *path)
    op, value = match["op"], match["value"].strip()
    operands = tuple(v.strip() for v in value.split(",")) if op in ("=", "!=") else (value,)
    condition = Condition(path, op, operands)
    if op in _ORDER and path[-1] == "severity":
        severity_level(value)  # a typo in a severity threshold must fail now, not match nothing
    return condition


class RowFilter:
    """All conditions must hold; no conditions keeps every row."""

    def __init__(self, conditions: Iterable[str] = ()) -> None:
        self.conditions = tuple(parse_condition(c) for c in conditions)

    def __bool__(self) -> bool:
        return bool(self.conditions)

    def matches(self, row: Mapping[str, Any]) -> bool:
        return all(condition.holds(row) for condition in self.conditions)
