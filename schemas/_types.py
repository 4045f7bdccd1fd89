"""Small helpers to walk fastavro-parsed schemas (internal).

fastavro's ``parse_schema`` output uses full names, keeps the first definition of a named type
inline and refers to it by full name afterwards, and lists every named type in
``__named_schemas``. The static checks (``limits``), the pre-scan (``scan``) and the compatibility
check (``compat``) all need the same "what is this node, really?" step, so it lives here once.
"""

from __future__ import annotations

from typing import Any

PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})
NAMED = frozenset({"record", "error", "enum", "fixed"})
COMPLEX = NAMED | {"array", "map"}

Schema = Any
"""A fastavro-parsed schema node: a type-name string, a union list or a dict."""


def named_types(parsed: Schema) -> dict[str, Schema]:
    """The full-name → definition table fastavro attached to a top-level parsed schema."""
    if isinstance(parsed, dict):
        return dict(parsed.get("__named_schemas", {}))
    return {}


def resolve(node: Schema, named: dict[str, Schema]) -> Schema:
    """Return ``node`` with references and ``{"type": <primitive>}`` wrappers removed.

    The result is a primitive name (``"long"``), a union (``list``) or a dict whose ``type`` is one
    of ``COMPLEX``. Raises ``KeyError`` for a name that is neither primitive nor defined.
    """
    while True:
        if isinstance(node, list):
            return node
        if isinstance(node, str):
            if node in PRIMITIVES:
                return node
            node = named[node]
            continue
        kind = node["type"]
        if isinstance(kind, str) and kind in COMPLEX:
            return node
        node = kind


def kind_of(node: Schema) -> str:
    """The Avro type of a *resolved* node: a primitive name, ``"union"`` or a complex type."""
    if isinstance(node, list):
        return "union"
    if isinstance(node, str):
        return node
    kind: str = node["type"]
    return "record" if kind == "error" else kind
