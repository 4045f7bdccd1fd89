"""``EventBatch`` records spliced from their events' input bodies: re-framing, not re-encoding.

An Avro record's binary form is its fields' binary forms one after the other, and a union value
is its branch index followed by the branch's binary form. So when an event's input record was
written with the *current* schema of its type, the bytes after its header are already exactly
what an ``EventBatch`` holds as that event's ``payload``. The worker decodes every input record
(it has to check and enrich it) but never needs to encode it again: an ``EventBatch`` is

    envelope fields | count | (source_offset | payload index | input body | enrichment)* | 0

which is what :class:`BatchSplicer` writes. It is the same bytes fastavro writes for the same
batch (tested byte for byte), at a fraction of the cost: payloads are by far the largest part of
a batch, and encoding them again (with validation) cost the worker more than decoding them.

What keeps it safe:

- the envelope (``batch_id``, ``event_type``, …) goes through the codec's validating encoder,
  with an empty ``events`` array, which also yields the wire format's header (single-object or
  Confluent). ``events`` is the schema's last field and an empty array is the single byte 0, so
  the events are spliced in place of that byte. The layout is checked against the contract once,
  at construction: a schema that no longer fits it fails loudly, not with corrupt batches;
- a body is only reused when its codec says it was written with the current schema and decoded
  cleanly to its last byte (:meth:`schemas.codec.Codec.current_body`); any other event makes the
  caller fall back to the validating encoder;
- the enrichment is written by fastavro against its own schema, so a wrongly typed value raises.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from fastavro import parse_schema, schemaless_writer

from schemas.codec import Codec
from schemas.contract import BATCH, Contract, default_contract, short_name

EVENTS_FIELD = "events"
ITEM_FIELDS = ("source_offset", "payload", "enrichment")


class SplicedEvent(NamedTuple):
    """One ``EnrichedEvent`` whose payload is an input body written with the current schema."""

    source_offset: int
    event_type: str
    body: bytes | memoryview
    enrichment: Mapping[str, Any]


def write_long(out: io.BytesIO, value: int) -> None:
    """Avro ``long``/``int``: zigzag, then base-128 varint, low groups first."""
    encoded = (value << 1) ^ (value >> 63)
    while encoded > 0x7F:
        out.write(bytes(((encoded & 0x7F) | 0x80,)))
        encoded >>= 7
    out.write(bytes((encoded,)))


def _name_of(schema: str | dict[str, Any]) -> str:
    return schema if isinstance(schema, str) else str(schema["name"])


class BatchSplicer:
    """Writes ``EventBatch`` records around verbatim payload bodies (see the module docstring)."""

    def __init__(self, codec: Codec, contract: Contract | None = None) -> None:
        self._codec = codec
        schema = (contract or default_contract()).entry(BATCH).schema
        events = schema["fields"][-1]
        item = events["type"]["items"] if isinstance(events["type"], dict) else None
        if events["name"] != EVENTS_FIELD or events["type"].get("type") != "array" or not item:
            raise ValueError(f"{BATCH}: the last field must be the '{EVENTS_FIELD}' array")
        fields = {field["name"]: field for field in item["fields"]}
        if tuple(fields) != ITEM_FIELDS or fields["source_offset"]["type"] != "long":
            raise ValueError(f"{BATCH}: events must be records of {', '.join(ITEM_FIELDS)}")
        branches = fields["payload"]["type"]  # the resolved schema inlines named types
        self._index = {short_name(_name_of(b)): i for i, b in enumerate(branches)}
        self._enrichment = parse_schema(fields["enrichment"]["type"])

    def item(self, event: SplicedEvent) -> bytes:
        """One ``EnrichedEvent`` as the batch holds it; raises when the enrichment does not fit
        its schema (a wrong type, a number out of Avro's range), so a caller can write items one
        event at a time and refuse just the event at fault."""
        out = io.BytesIO()
        write_long(out, event.source_offset)
        write_long(out, self._index[event.event_type])
        out.write(event.body)
        schemaless_writer(out, self._enrichment, event.enrichment)
        return out.getvalue()

    def frame(self, envelope: Mapping[str, Any], items: Sequence[bytes]) -> bytes:
        """The framed ``EventBatch``: ``envelope`` (every field but ``events``) around ``items``
        written by :meth:`item`; nothing in the items is read again."""
        framed = self._codec.encode(BATCH, {**envelope, EVENTS_FIELD: []})
        if framed[-1:] != b"\x00":
            raise AssertionError(f"{BATCH}: an empty events array must be the last byte")
        out = io.BytesIO()
        out.write(memoryview(framed)[:-1])
        if items:
            write_long(out, len(items))
            for item in items:
                out.write(item)
        out.write(b"\x00")
        return out.getvalue()

    def encode(self, envelope: Mapping[str, Any], events: Sequence[SplicedEvent]) -> bytes:
        """The framed ``EventBatch`` of ``events``: :meth:`frame` around their items."""
        return self.frame(envelope, [self.item(event) for event in events])
