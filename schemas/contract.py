"""The data contract: the ``.avsc`` files, resolved, parsed once and fingerprinted.

The ``.avsc`` files in ``schemas/avro`` are the source of truth. Each file holds one named record;
records refer to each other by full name (``regstream.events.EventMetadata``). Loading inlines
each referenced definition at its first use, so every message type has a *self-contained* schema
(what a registry stores and what the Parsing Canonical Form and fingerprint are computed from).

Two schema forms are kept per type:

- ``schema_json(name)``: self-contained, with ``logicalType`` annotations (uuid, timestamp-millis).
  Register this one, or write it into Avro container files.
- ``parsed_schema(name)``: fastavro-parsed and with ``logicalType`` stripped. The codec reads and
  writes with it so decoded records are plain JSON-friendly Python (uuid as ``str``, timestamps as
  ``int`` epoch milliseconds) with no ``datetime``/``UUID`` objects to convert back. The Parsing
  Canonical Form drops ``logicalType`` anyway, so both forms have the same fingerprint (tested).

Problems in the files (unresolved names, wrong file names, collection types that would let a
hostile record allocate without bound, see ``schemas.limits``) raise ``ContractError`` when the
contract loads, so a broken schema fails at start-up rather than per record.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

from fastavro import parse_schema
from fastavro.schema import SchemaParseException, UnknownType, to_parsing_canonical_form
from fastavro.schema import fingerprint as _fastavro_fingerprint

from schemas._types import NAMED, PRIMITIVES
from schemas.errors import ContractError, UnknownSchema
from schemas.limits import DEFAULT_LIMITS, DecodeLimits, check_schema

NAMESPACE = "regstream.events"
METADATA = "EventMetadata"
BATCH = "EventBatch"
ACCESS_AUDIT = "AccessAuditEntry"
EVENT_TYPES: tuple[str, ...] = (
    "AgentStatusUpdate",
    "DecisionMade",
    "RegulatoryChangeDetected",
    "CollaborationEvent",
    "SimulationUpdate",
    "AuditTrailEntry",
)
"""The six event types, in the order of the ``EventBatch`` payload union (a fixed order)."""
MESSAGE_TYPES: tuple[str, ...] = (*EVENT_TYPES, BATCH, ACCESS_AUDIT)
"""Everything that travels as a Kafka record value: the six events, the output batch and the
access-audit entry of ``gateway.audit``."""

_PARTITION_KEYS: dict[str, str] = {
    "AgentStatusUpdate": "agent_id",
    "DecisionMade": "agent_id",
    "RegulatoryChangeDetected": "change_id",
    "CollaborationEvent": "session_id",
    "SimulationUpdate": "simulation_id",
    "AuditTrailEntry": "agent_id",
}


def full_name(name: str) -> str:
    """``DecisionMade`` → ``regstream.events.DecisionMade`` (full names pass through)."""
    return name if "." in name else f"{NAMESPACE}.{name}"


def short_name(name: str) -> str:
    """``regstream.events.DecisionMade`` → ``DecisionMade``."""
    return name.rsplit(".", 1)[-1]


@dataclass(frozen=True, slots=True)
class SchemaEntry:
    """One loaded schema in every form the package needs, computed once."""

    name: str
    full_name: str
    schema: dict[str, Any]
    parsed: dict[str, Any]
    canonical_form: str
    fingerprint: bytes


def strip_logical_types(node: Any) -> Any:
    """A deep copy of a schema without ``logicalType`` keys (the wire form is unchanged)."""
    if isinstance(node, dict):
        return {k: strip_logical_types(v) for k, v in node.items() if k != "logicalType"}
    if isinstance(node, list):
        return [strip_logical_types(v) for v in node]
    return node


def parse_record(schema: Any) -> dict[str, Any]:
    """fastavro-parse ``schema`` without its logical types; it must be a named record.

    Raises fastavro's own errors (``SchemaParseException``, ``UnknownType``, ``ValueError``...)
    for an invalid schema and ``ValueError`` for a valid non-record one.
    """
    parsed = parse_schema(strip_logical_types(schema), named_schemas={})
    if not isinstance(parsed, dict) or parsed.get("type") != "record":
        raise ValueError("a message schema must be a record")
    return parsed


def rabin_fingerprint(schema: Any) -> bytes:
    """CRC-64-AVRO fingerprint of the Parsing Canonical Form, 8 bytes little-endian.

    Little-endian is what the single-object encoding header carries (and what Java's
    ``SchemaNormalization.parsingFingerprint64`` writes).
    """
    pcf = to_parsing_canonical_form(schema)
    return bytes.fromhex(_fastavro_fingerprint(pcf, "CRC-64-AVRO"))


class _Inliner:
    """Replaces each name reference by its definition at first use, full names afterwards."""

    def __init__(self, sources: Mapping[str, dict[str, Any]]) -> None:
        self.sources = sources
        self.defined: set[str] = set()

    def inline(self, node: Any, namespace: str) -> Any:
        if isinstance(node, str):
            if node in PRIMITIVES:
                return node
            full = node if "." in node or not namespace else f"{namespace}.{node}"
            if full in self.defined:
                return full
            if full in self.sources:
                source = self.sources[full]
                return self.inline(source, full.rsplit(".", 1)[0] if "." in full else "")
            raise ContractError(f"unresolved schema name {node!r}")
        if isinstance(node, list):
            return [self.inline(branch, namespace) for branch in node]
        kind = node.get("type")
        out = dict(node)
        if kind in NAMED:
            name = node["name"]
            namespace = name.rsplit(".", 1)[0] if "." in name else node.get("namespace", namespace)
            full = name if "." in name else f"{namespace}.{name}" if namespace else name
            if full in self.defined:
                raise ContractError(f"schema name {full!r} is defined twice")
            self.defined.add(full)
            if kind in ("record", "error"):
                out["fields"] = [
                    {**field, "type": self.inline(field["type"], namespace)}
                    for field in node["fields"]
                ]
        elif kind == "array":
            out["items"] = self.inline(node["items"], namespace)
        elif kind == "map":
            out["values"] = self.inline(node["values"], namespace)
        elif not (isinstance(kind, str) and kind in PRIMITIVES):
            out["type"] = self.inline(kind, namespace)
        return out


def read_sources(directory: Traversable) -> dict[str, dict[str, Any]]:
    """Read every ``*.avsc`` of ``directory`` as ``{short name: schema JSON}``.

    Each file must hold one named type whose short name is the file name (``X.avsc`` → ``X``).
    """
    sources: dict[str, dict[str, Any]] = {}
    for item in sorted(directory.iterdir(), key=lambda t: t.name):
        if not item.name.endswith(".avsc"):
            continue
        try:
            schema = json.loads(item.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ContractError(f"{item.name}: not valid JSON: {exc}") from exc
        stem = item.name.removesuffix(".avsc")
        if not isinstance(schema, dict) or short_name(str(schema.get("name", ""))) != stem:
            raise ContractError(f"{item.name}: must define the named type {stem!r}")
        sources[stem] = schema
    return sources


def self_contained(sources: Mapping[str, dict[str, Any]], name: str) -> dict[str, Any]:
    """The schema of ``name`` with every referenced named type inlined at its first use."""
    by_full: dict[str, dict[str, Any]] = {}
    for short, schema in sources.items():
        ns = schema.get("namespace", "")
        by_full[full_name(short) if not ns else f"{ns}.{short}"] = schema
    result: dict[str, Any] = _Inliner(by_full).inline(sources[name], "")
    return result


class Contract:
    """All schemas of one schema directory, loaded and checked once."""

    def __init__(
        self, sources: Mapping[str, dict[str, Any]], limits: DecodeLimits = DEFAULT_LIMITS
    ) -> None:
        self.sources = dict(sources)
        self.entries: dict[str, SchemaEntry] = {}
        for name in self.sources:
            self.entries[name] = self._load(name, limits)
        self.by_fingerprint: dict[bytes, SchemaEntry] = {}
        for name in MESSAGE_TYPES:
            if name in self.entries:
                entry = self.entries[name]
                self.by_fingerprint[entry.fingerprint] = entry

    def _load(self, name: str, limits: DecodeLimits) -> SchemaEntry:
        schema = self_contained(self.sources, name)
        try:
            parsed = parse_record(schema)
        except (SchemaParseException, UnknownType, ValueError, KeyError, TypeError) as exc:
            raise ContractError(f"{name}: invalid Avro schema: {exc}") from exc
        problems = check_schema(parsed, limits)
        if problems:
            raise ContractError(f"{name}: unsafe to decode: " + "; ".join(problems))
        pcf = to_parsing_canonical_form(parsed)
        return SchemaEntry(
            name=name,
            full_name=str(parsed["name"]),
            schema=schema,
            parsed=parsed,
            canonical_form=pcf,
            fingerprint=bytes.fromhex(_fastavro_fingerprint(pcf, "CRC-64-AVRO")),
        )

    def entry(self, name: str) -> SchemaEntry:
        """The entry for a short (or full) schema name; ``KeyError`` if unknown."""
        try:
            return self.entries[short_name(name)]
        except KeyError:
            raise KeyError(f"no schema named {name!r}") from None


def check_release(contract: Contract) -> None:
    """Check what the code relies on: all types present, keys and batch union as documented."""
    missing = [n for n in (METADATA, *MESSAGE_TYPES) if n not in contract.entries]
    if missing:
        raise ContractError(f"missing schemas: {', '.join(missing)}")
    for name in (*EVENT_TYPES, ACCESS_AUDIT):
        if "metadata" not in {f["name"] for f in contract.entry(name).schema["fields"]}:
            raise ContractError(f"{name}: needs the 'metadata' envelope field")
    for event_type, key in _PARTITION_KEYS.items():
        fields = {f["name"]: f["type"] for f in contract.entry(event_type).schema["fields"]}
        if fields.get(key) != "string":
            raise ContractError(f"{event_type}: partition key field {key!r} must be a string")
    batch_fields = contract.entry(BATCH).parsed["fields"]
    events = next(f for f in batch_fields if f["name"] == "events")["type"]["items"]
    payload = next(f for f in events["fields"] if f["name"] == "payload")["type"]
    names = tuple(short_name(b if isinstance(b, str) else b["name"]) for b in payload)
    if names != EVENT_TYPES:
        raise ContractError(f"EventBatch payload union must be {EVENT_TYPES}, got {names}")


def package_directory(subdir: str = "avro") -> Traversable:
    """The schema directory shipped inside the package (``avro`` or ``baseline``)."""
    return resources.files("schemas") / subdir


def load_contract(directory: Traversable, limits: DecodeLimits = DEFAULT_LIMITS) -> Contract:
    """Load and check every schema of ``directory`` (any Traversable, e.g. a ``pathlib.Path``)."""
    return Contract(read_sources(directory), limits)


@functools.cache
def default_contract() -> Contract:
    """The packaged contract, loaded on first use and shared by the whole process."""
    contract = load_contract(package_directory("avro"))
    check_release(contract)
    return contract


@functools.cache
def baseline_contract() -> Contract:
    """The previous release's schemas (``schemas/baseline``): the compatibility reference, and
    writer schemas the codec still decodes during a rolling upgrade."""
    return load_contract(package_directory("baseline"))


def parsed_schema(name: str) -> dict[str, Any]:
    """fastavro-parsed schema of ``name`` without logical types: what the codec reads/writes."""
    return copy.deepcopy(default_contract().entry(name).parsed)


def schema_json(name: str) -> dict[str, Any]:
    """Self-contained schema of ``name`` with logical types: register or embed this one."""
    return copy.deepcopy(default_contract().entry(name).schema)


def canonical_form(name: str) -> str:
    """Parsing Canonical Form of ``name`` (what the fingerprint is computed from)."""
    return default_contract().entry(name).canonical_form


def fingerprint(name: str) -> bytes:
    """CRC-64-AVRO (Rabin) fingerprint of ``name``'s canonical form, 8 bytes little-endian."""
    return default_contract().entry(name).fingerprint


def name_for_fingerprint(fp: bytes) -> str:
    """The message type (short name) whose fingerprint is ``fp``; ``UnknownSchema`` otherwise."""
    entry = default_contract().by_fingerprint.get(bytes(fp))
    if entry is None:
        raise UnknownSchema(f"unknown schema fingerprint {bytes(fp).hex()}")
    return entry.name


def partition_key_field(event_type: str) -> str:
    """The field whose value keys ``events.<type>`` records: ordering holds per entity."""
    try:
        return _PARTITION_KEYS[short_name(event_type)]
    except KeyError:
        raise KeyError(f"not an event type: {event_type!r}") from None


def partition_key(event_type: str, record: Mapping[str, Any]) -> str:
    """The partition key value of ``record`` (see ``partition_key_field``)."""
    return str(record[partition_key_field(event_type)])
