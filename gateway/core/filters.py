"""Server-side filters: field predicates compiled once per subscription.

A filter is a JSON object whose keys are field paths and whose values are conditions; all
conditions must hold (AND). Evaluating server-side saves bandwidth, but a filtered-out record
still advances the subscription's position, so checkpoints and gap detection stay exact.

Field paths (dotted) are rooted at ``metadata`` (the event envelope), ``payload`` (the event
record itself, e.g. ``payload.status``) or ``enrichment``; shortcuts: ``agent_id`` =
``payload.agent_id``, ``event_type`` / ``source`` / ``severity`` = ``metadata.<same>``.
Conditions: a scalar (equals), a list (in), or ``{"eq": v}``, ``{"in": [..]}``, ``{"gte": v}``,
``{"lte": v}``. ``gte``/``lte`` order severities DEBUG < INFO < LOW < MEDIUM < HIGH < CRITICAL on
``severity``, and numbers elsewhere. A missing field never matches.

The canonical ``key`` of a compiled filter lets the I/O layer serialize a Kafka record once per
distinct filter and share the bytes among every client using it (see ``records.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from gateway.core.errors import BadFilter

SEVERITIES = ("DEBUG", "INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL")
SEVERITY_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}
ALIASES = {
    "agent_id": "payload.agent_id",
    "event_type": "metadata.event_type",
    "source": "metadata.source",
    "severity": "metadata.severity",
}
ROOTS = ("metadata", "payload", "enrichment")
MAX_CONDITIONS = 16
MAX_IN_VALUES = 256
MAX_PATH_PARTS = 5
MAX_STRING = 256
MAX_FILTER_BYTES = 1024  # canonical JSON; filters travel inside every resume token

Predicate = Callable[[Mapping[str, Any]], bool]
_MISSING = object()


@dataclass(frozen=True)
class CompiledFilter:
    """A ready-to-run filter. ``key`` is canonical: equal filters share serialized frames."""

    key: str
    spec: Mapping[str, Any]
    predicates: tuple[Predicate, ...] = field(default=(), repr=False, compare=False)

    def matches(self, event: Mapping[str, Any]) -> bool:
        """``event`` is one decoded EventBatch item: source_offset, payload, enrichment."""
        return all(predicate(event) for predicate in self.predicates)


MATCH_ALL = CompiledFilter(key="", spec={})


def compile_filter(spec: object) -> CompiledFilter:
    """Validate and compile a client filter; raise :class:`BadFilter` saying what is wrong."""
    if spec is None or spec == {}:
        return MATCH_ALL
    if not isinstance(spec, dict):
        raise BadFilter("filter must be an object of field path -> condition")
    if len(spec) > MAX_CONDITIONS:
        raise BadFilter(f"filter has more than {MAX_CONDITIONS} conditions")
    normalized: dict[str, dict[str, Any]] = {}
    predicates: list[Predicate] = []
    for raw_path, condition in spec.items():
        path = _parse_path(raw_path)
        op, operand = _parse_condition(raw_path, condition)
        dotted = ".".join(path)
        if dotted in normalized:
            raise BadFilter(f"field {dotted!r} is given twice")
        normalized[dotted] = {op: operand}
        predicates.append(_predicate(path, op, operand))
    canonical = {k: normalized[k] for k in sorted(normalized)}
    key = orjson.dumps(canonical, option=orjson.OPT_SORT_KEYS).decode()
    if len(key) > MAX_FILTER_BYTES:
        raise BadFilter(f"filter is larger than {MAX_FILTER_BYTES} bytes")
    return CompiledFilter(key=key, spec=canonical, predicates=tuple(predicates))


def _parse_path(raw: str) -> tuple[str, ...]:
    path = ALIASES.get(raw, raw)
    parts = tuple(path.split("."))
    if parts[0] not in ROOTS:
        raise BadFilter(f"field {raw!r} must start with one of {', '.join(ROOTS)} or be a shortcut")
    if len(parts) < 2 or len(parts) > MAX_PATH_PARTS or any(not p or len(p) > 64 for p in parts):
        raise BadFilter(f"field {raw!r} is not a valid path")
    return parts


def _scalar(raw_path: str, value: object) -> object:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str) and len(value) <= MAX_STRING:
        return value
    raise BadFilter(f"field {raw_path!r}: values must be short strings, numbers, booleans or null")


def _parse_condition(raw_path: str, condition: object) -> tuple[str, Any]:
    if isinstance(condition, dict):
        if len(condition) != 1:
            raise BadFilter(f"field {raw_path!r}: give exactly one of eq, in, gte, lte")
        ((op, operand),) = condition.items()
    elif isinstance(condition, list):
        op, operand = "in", condition
    else:
        op, operand = "eq", condition
    if op == "eq":
        return op, _scalar(raw_path, operand)
    if op == "in":
        if not isinstance(operand, list) or not 0 < len(operand) <= MAX_IN_VALUES:
            raise BadFilter(f"field {raw_path!r}: 'in' takes a list of 1..{MAX_IN_VALUES} values")
        return op, [_scalar(raw_path, v) for v in operand]
    if op in ("gte", "lte"):
        is_severity = ALIASES.get(raw_path, raw_path) == "metadata.severity"
        if is_severity and operand not in SEVERITY_RANK:
            raise BadFilter(f"field {raw_path!r}: severity must be one of {', '.join(SEVERITIES)}")
        if not is_severity and (isinstance(operand, bool) or not isinstance(operand, int | float)):
            raise BadFilter(f"field {raw_path!r}: '{op}' takes a number")
        return op, operand
    raise BadFilter(f"field {raw_path!r}: unknown operator {op!r}")


def _norm(value: object) -> tuple[str, object]:
    """Compare like JSON does: True is not 1, 1 equals 1.0."""
    if isinstance(value, bool):
        return ("b", value)
    if isinstance(value, int | float):
        return ("n", float(value))
    if value is None or isinstance(value, str):
        return ("s", value)
    return ("x", id(value))  # objects, lists, missing: hashable, never equal to a wanted scalar


def _getter(path: tuple[str, ...]) -> Callable[[Mapping[str, Any]], object]:
    root, rest = path[0], path[1:]

    def get(event: Mapping[str, Any]) -> object:
        payload = event.get("payload")
        record = payload[1] if isinstance(payload, tuple | list) and len(payload) == 2 else payload
        if root == "enrichment":
            node: object = event.get("enrichment")
        elif root == "metadata":
            node = record.get("metadata") if isinstance(record, Mapping) else None
        else:
            node = record
        for part in rest:
            if not isinstance(node, Mapping):
                return _MISSING
            node = node.get(part, _MISSING)
        return node

    return get


def _predicate(path: tuple[str, ...], op: str, operand: Any) -> Predicate:
    get = _getter(path)
    if op == "eq":
        want = _norm(operand)
        return lambda event: _norm(get(event)) == want
    if op == "in":
        wanted = frozenset(_norm(v) for v in operand)
        return lambda event: _norm(get(event)) in wanted
    sign = 1 if op == "gte" else -1
    if path == ("metadata", "severity"):
        bound = SEVERITY_RANK[operand]

        def severity_cmp(event: Mapping[str, Any]) -> bool:
            rank = SEVERITY_RANK.get(str(get(event)))
            return rank is not None and sign * (rank - bound) >= 0

        return severity_cmp

    def number_cmp(event: Mapping[str, Any]) -> bool:
        value = get(event)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        return sign * (value - operand) >= 0

    return number_cmp
