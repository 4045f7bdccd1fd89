"""The fixed shape of an export of one event type: CSV columns and the Avro row schema.

Both come from the Avro contract, never from the data, so every export of a type has the same
columns whether the first record is a full one or a sparse one, and a resumed export continues
under the header it started with.

CSV flattening rules:

1. Columns, in order: ``topic, partition, offset, index, timestamp, key, event_type,
   source.topic, source.partition, source.offset``, then the event's fields, then
   ``enrichment.<field>`` for every field of the pipeline's Enrichment record.
2. Nested records become dotted columns (``event.metadata.event_id``,
   ``event.metadata.severity``). Maps and arrays stay in one cell as compact JSON
   (``{"tenant":"acme"}``, ``["a","b"]``) — their keys are data, not columns.
3. Cells: null → empty; booleans ``true``/``false``; numbers as JSON writes them; timestamps
   stay epoch milliseconds (UTC); text as is. Quoting is RFC 4180 (``"`` doubled, cells with
   ``,`` ``"`` or line breaks quoted), lines end in CRLF, UTF-8 without a byte-order mark.
4. Rows of input topics leave ``index``, ``source.*`` and ``enrichment.*`` empty.

The Avro row schema ``regstream.replay.ReplayRow`` has the same top-level fields as a JSONL
row; ``event`` is the event type's own schema and ``enrichment`` the pipeline's Enrichment
record, both with their logical types (uuid, timestamp-millis), so any Avro reader shows
timestamps as times.
"""

from __future__ import annotations

import copy
from typing import Any

from schemas.contract import BATCH, NAMESPACE, schema_json

POSITION_COLUMNS: tuple[tuple[str, ...], ...] = (
    ("topic",), ("partition",), ("offset",), ("index",), ("timestamp",), ("key",),
    ("event_type",), ("source", "topic"), ("source", "partition"), ("source", "offset"),
)  # fmt: skip


def enrichment_schema() -> dict[str, Any]:
    """The Enrichment record of EventBatch, standalone (its namespace made explicit)."""
    batch = schema_json(BATCH)
    events = next(f for f in batch["fields"] if f["name"] == "events")["type"]["items"]
    enrichment = next(f for f in events["fields"] if f["name"] == "enrichment")["type"]
    return {**copy.deepcopy(enrichment), "namespace": NAMESPACE}


def _leaf_paths(schema: dict[str, Any], prefix: tuple[str, ...]) -> list[tuple[str, ...]]:
    paths: list[tuple[str, ...]] = []
    for field in schema["fields"]:
        kind = field["type"]
        if isinstance(kind, dict) and kind.get("type") == "record":
            paths.extend(_leaf_paths(kind, (*prefix, field["name"])))
        else:
            paths.append((*prefix, field["name"]))
    return paths


def csv_columns(event_type: str) -> list[tuple[str, ...]]:
    """Every CSV column of an export of ``event_type``, as a path into the row."""
    return [
        *POSITION_COLUMNS,
        *_leaf_paths(schema_json(event_type), ("event",)),
        *_leaf_paths(enrichment_schema(), ("enrichment",)),
    ]


def row_schema(event_type: str) -> dict[str, Any]:
    """The Avro schema of an export row of ``event_type`` (embedded in the container file)."""
    source = {
        "type": "record",
        "name": "SourcePosition",
        "doc": "Where the event was read on its input topic (live topics only).",
        "fields": [
            {"name": "topic", "type": "string"},
            {"name": "partition", "type": "int"},
            {"name": "offset", "type": "long"},
        ],
    }
    return {
        "type": "record",
        "name": "ReplayRow",
        "namespace": "regstream.replay",
        "doc": f"One {event_type} exported by regstream replay, with its Kafka position.",
        "fields": [
            {"name": "topic", "type": "string"},
            {"name": "partition", "type": "int"},
            {"name": "offset", "type": "long"},
            {"name": "index", "type": ["null", "int"], "doc": "Index inside an EventBatch."},
            {"name": "timestamp", "type": {"type": "long", "logicalType": "timestamp-millis"}},
            {"name": "key", "type": ["null", "string"]},
            {"name": "event_type", "type": "string"},
            {"name": "source", "type": ["null", source]},
            {"name": "event", "type": schema_json(event_type)},
            {"name": "enrichment", "type": ["null", enrichment_schema()]},
        ],
    }
