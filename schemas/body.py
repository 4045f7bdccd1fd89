"""Schemaless Avro bodies: validate-and-write one message type, bounded-read one writer schema.

Both wire formats (single-object and Confluent) frame the same schemaless body, so the work that
matters for correctness and speed lives here once:

- ``BodyWriter`` validates a record (fastavro validation plus our own checks: canonical UUID
  ``event_id``, ``metadata.event_type`` matching the type, no unknown top-level/metadata keys,
  batch payloads as ``(event_type, record)`` tuples) and writes it.
- ``BodyReader`` decodes a body written with one writer schema into the current reader schema,
  under ``DecodeLimits``, mapping every fastavro failure to a typed ``DecodeError``.

Hot-path design (no micro-benchmarks needed to see it): schemas are parsed, fingerprinted and
checked once at construction; per call there is one ``BytesIO``, one fastavro C call for
validation and one for writing or reading, a few dict/set lookups, and for ``EventBatch`` one
pass over the events to translate payload names. The pure-Python item-cap pre-scan runs only
for bodies long enough to possibly exceed the cap (never for ordinary events).
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Mapping
from typing import Any

from fastavro import schemaless_reader, schemaless_writer
from fastavro.read import SchemaResolutionError
from fastavro.validation import ValidationError, validate

from schemas._types import named_types
from schemas.contract import BATCH, EVENT_TYPES, METADATA, full_name, short_name
from schemas.errors import EncodeError, LimitExceeded, SchemaMismatch, TrailingBytes, Truncated
from schemas.limits import DecodeLimits, min_item_size
from schemas.scan import Scanner
from schemas.values import MAX_EVENT_BYTES, UUID_PATTERN, check_event_values

_SHORT = {full_name(name): name for name in EVENT_TYPES}
_FULL = {name: full_name(name) for name in EVENT_TYPES} | {full: full for full in _SHORT}
"""Payload names accepted on encode (short or full) → the full name fastavro matches on."""


def _check_uuid(value: Any, path: str) -> None:
    """Only the canonical lowercase 36-character form: the dedupe key must have one spelling."""
    if isinstance(value, str) and UUID_PATTERN.fullmatch(value):
        return
    if not isinstance(value, str):
        raise EncodeError(path, f"expected a UUID string, got {type(value).__name__}")
    try:
        canonical = str(uuid.UUID(value))
    except ValueError:
        raise EncodeError(path, "not a UUID") from None
    raise EncodeError(path, f"UUID must be in canonical lowercase form ({canonical})")


def _type_name(schema: Any) -> str:
    if isinstance(schema, str):
        return short_name(schema)
    if isinstance(schema, dict):
        name = schema.get("name")
        return short_name(name) if isinstance(name, str) else str(schema.get("type"))
    return "union"


def _encode_error(exc: ValidationError) -> EncodeError:
    """One ``EncodeError`` for fastavro's error list (one entry per rejected union branch)."""
    errors = list(exc.errors) if exc.errors else []
    if not errors:
        return EncodeError("<record>", str(exc))
    path = errors[0].field
    datum = errors[0].datum
    symbols = [e.schema["symbols"] for e in errors if e.field == path and _is_enum(e.schema)]
    if symbols and isinstance(datum, str):  # name the value and what it may be
        return EncodeError(path, f"{datum[:64]!r} is not one of {', '.join(symbols[0])}")
    expected = sorted({_type_name(e.schema) for e in errors if e.field == path})
    got = "missing" if datum is None else type(datum).__name__
    return EncodeError(path, f"expected {' or '.join(expected)}, got {got}")


def _is_enum(schema: Any) -> bool:
    return isinstance(schema, dict) and schema.get("type") == "enum"


class BodyWriter:
    """Validates and writes records of one message type."""

    def __init__(self, name: str, parsed: dict[str, Any]) -> None:
        self.name = name
        self.parsed = parsed
        self.full_name = str(parsed["name"])
        named = named_types(parsed)

        def fields_of(type_name: str) -> frozenset[str] | None:
            definition = named.get(full_name(type_name))
            return frozenset(f["name"] for f in definition["fields"]) if definition else None

        self.fields = fields_of(name)
        self.metadata_fields = fields_of(METADATA)
        self.event_fields = {event_type: fields_of(event_type) for event_type in EVENT_TYPES}

    def write(self, record: Mapping[str, Any], out: io.BytesIO) -> None:
        """Validate ``record`` (``EncodeError`` with the field path) and append its body."""
        if not isinstance(record, Mapping):
            raise EncodeError(self.full_name, f"expected a mapping, got {type(record).__name__}")
        self._check_keys(record, self.fields, self.full_name)
        datum: Mapping[str, Any] = record
        if self.name == BATCH:
            datum = self._prepare_batch(record)
        else:
            self._check_event(self.name, record, self.full_name)
        # The boolean check is the fast path: with raise_errors=True fastavro builds an error
        # object (and a JSON dump of the schema) for every union branch it rejects, even for
        # valid records. Only an invalid record pays for the detailed second pass.
        if not validate(datum, self.parsed, raise_errors=False):
            try:
                validate(datum, self.parsed, raise_errors=True)
            except ValidationError as exc:
                raise _encode_error(exc) from None
        start = out.tell()
        schemaless_writer(out, self.parsed, datum)
        size = out.tell() - start
        if size > MAX_EVENT_BYTES and self.name in EVENT_TYPES:
            out.seek(start)
            out.truncate()
            raise EncodeError(
                self.full_name,
                f"the encoded event is {size} bytes; events are limited to {MAX_EVENT_BYTES}",
            )

    @staticmethod
    def _check_keys(record: Mapping[str, Any], allowed: frozenset[str] | None, path: str) -> None:
        if allowed is None:
            return
        unknown = [key for key in record if key not in allowed]
        if unknown:
            raise EncodeError(f"{path}.{unknown[0]}", "unknown field (typo? it would be dropped)")

    def _check_event(self, event_type: str, record: Mapping[str, Any], path: str) -> None:
        metadata = record.get("metadata")
        if not isinstance(metadata, Mapping):
            raise EncodeError(f"{path}.metadata", "expected a mapping (the event envelope)")
        self._check_keys(metadata, self.metadata_fields, f"{path}.metadata")
        _check_uuid(metadata.get("event_id"), f"{path}.metadata.event_id")
        if metadata.get("event_type") != event_type:
            raise EncodeError(
                f"{path}.metadata.event_type",
                f"must be {event_type!r}, got {metadata.get('event_type')!r}",
            )
        violation = check_event_values(record, path)
        if violation is not None:
            raise EncodeError(violation.path, violation.detail)

    def _prepare_batch(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """Copy the batch with payload tuples renamed to full names; the input is not mutated."""
        path = self.full_name
        _check_uuid(record.get("batch_id"), f"{path}.batch_id")
        batch_type = record.get("event_type")
        if batch_type not in EVENT_TYPES:
            raise EncodeError(f"{path}.event_type", f"must be one of {', '.join(EVENT_TYPES)}")
        events = record.get("events")
        if not isinstance(events, list | tuple):
            raise EncodeError(f"{path}.events", "expected a list of enriched events")
        prepared = []
        for index, event in enumerate(events):
            where = f"{path}.events[{index}].payload"
            payload = event.get("payload") if isinstance(event, Mapping) else None
            if not isinstance(payload, tuple | list) or len(payload) != 2:
                raise EncodeError(where, "expected an (event_type, record) pair")
            name, body = payload
            if _FULL.get(name) != full_name(str(batch_type)):
                raise EncodeError(where, f"payload type {name!r} in a {batch_type} batch")
            if not isinstance(body, Mapping):
                raise EncodeError(where, f"expected a mapping, got {type(body).__name__}")
            self._check_keys(body, self.event_fields[str(batch_type)], where)
            self._check_event(str(batch_type), body, where)
            prepared.append({**event, "payload": (_FULL[name], body)})
        return {**record, "events": prepared}


class BodyReader:
    """Decodes bodies written with one writer schema into the current reader schema."""

    def __init__(
        self,
        name: str,
        writer: dict[str, Any],
        reader: dict[str, Any] | None,
        limits: DecodeLimits,
    ) -> None:
        self.name = name
        self.writer = writer
        self.reader = reader  # None when the writer schema is the current one
        self.limits = limits
        per_item = min_item_size(writer)
        # A body shorter than this cannot declare more items than the cap: skip the pre-scan.
        self.scan_above = limits.max_collection_items * per_item
        self.is_batch = name == BATCH
        # Events come from any producer, and fastavro reads a negative enum or union index as
        # Python reads a negative list index (-1 is the last symbol): a guess, and a body other
        # Avro readers refuse, which the worker would copy into live.* verbatim. The pre-scan
        # refuses those, negative lengths and over-long varints, for ~10 µs an event. Batches
        # are written by the pipeline alone, so they are scanned only when long enough to
        # break the item cap.
        if not self.is_batch:
            self.scan_above = -1
        self._scanner: Scanner | None = None

    def current_body(self, data: bytes, offset: int) -> memoryview | None:
        """``data[offset:]`` when it was written with the current schema, else None: such a
        body, once it decoded cleanly, is byte for byte what a batch holds as its payload."""
        return memoryview(data)[offset:] if self.reader is None else None

    def read(self, data: bytes, offset: int) -> dict[str, Any]:
        """Decode ``data[offset:]``, which must hold exactly one record."""
        size = len(data)
        if size - offset > self.scan_above:
            if self._scanner is None:
                self._scanner = Scanner(self.writer)
            self._scanner.scan(data, offset, self.limits.max_collection_items)
        buffer = io.BytesIO(data)
        buffer.seek(offset)
        try:
            record = schemaless_reader(
                buffer,
                self.writer,
                self.reader,
                return_record_name=self.is_batch,
                return_record_name_override=True,
            )
        except EOFError as exc:
            raise Truncated(f"{self.name}: input ends inside the record") from exc
        except IndexError as exc:
            # fastavro raises IndexError both for reading past the end and for a bad
            # union/enum index; where the buffer stopped tells them apart.
            if buffer.tell() >= size:
                raise Truncated(f"{self.name}: input ends inside the record") from exc
            raise SchemaMismatch(f"{self.name}: union or enum index out of range") from exc
        except (UnicodeDecodeError, ValueError, OverflowError, SchemaResolutionError) as exc:
            raise SchemaMismatch(f"{self.name}: body does not match the schema: {exc}") from exc
        except (MemoryError, RecursionError) as exc:  # defence in depth; limits should prevent
            raise LimitExceeded(f"{self.name}: decoder resources exhausted") from exc
        if buffer.tell() != size:
            raise TrailingBytes(f"{self.name}: {size - buffer.tell()} bytes after the record")
        if not isinstance(record, dict):
            raise SchemaMismatch(f"{self.name}: decoded value is not a record")
        if self.is_batch:
            for event in record["events"]:
                name, payload = event["payload"]
                event["payload"] = (_SHORT[name], payload)
        return record
