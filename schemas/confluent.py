"""Confluent wire format: ``00`` + 4-byte big-endian schema id + the same schemaless body.

For shops that already run a Schema Registry. Encoding registers the record's self-contained
schema (with logical types) under the TopicNameStrategy subject ``<topic>-value`` — the input
topic of the event type, or the live topic of a batch's ``event_type`` — once per subject, then
reuses the cached id. Decoding needs no topic: the id is looked up (``GET /schemas/ids/{id}``)
once and cached. A fetched writer schema is used only if it is one of our message types, passes
the same static decode-limit checks as the packaged contract, and is BACKWARD-readable by the
current schema; otherwise the record is a ``DecodeError`` (cached per id, so a flood of bad
records does not become a flood of registry calls).

Failure semantics: an id the registry does not know → ``UnknownSchema`` (dead-letter); the
registry unreachable → ``RegistryError(retriable=True)`` (retry, do not dead-letter).

Calls are blocking (stdlib HTTP) but happen only on a cache miss: call ``register_all()`` at
start-up so producers never block mid-stream, and expect one lookup per new writer schema id on
the consuming side. Caches are plain dicts: concurrent misses may fetch twice, never corrupt.
"""

from __future__ import annotations

import io
import json
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from fastavro.schema import SchemaParseException, UnknownType

from schemas.body import BodyReader, BodyWriter
from schemas.catalog import TopicCatalog
from schemas.codec import FramedDecoder, check_size
from schemas.compat import check_backward
from schemas.contract import (
    ACCESS_AUDIT,
    BATCH,
    EVENT_TYPES,
    MESSAGE_TYPES,
    Contract,
    default_contract,
    parse_record,
    rabin_fingerprint,
    short_name,
)
from schemas.errors import (
    BadMagic,
    DecodeError,
    LimitExceeded,
    SchemaMismatch,
    Truncated,
    UnknownSchema,
)
from schemas.limits import DEFAULT_LIMITS, DecodeLimits, check_schema
from schemas.registry import RegistryClient

MAGIC = b"\x00"
HEADER_SIZE = 5
NEGATIVE_CACHE_SIZE = 1024


class ConfluentCodec(FramedDecoder):
    """Same surface as ``AvroCodec``; decoding raises ``RegistryError`` when the registry is down."""

    header_size = HEADER_SIZE

    def __init__(
        self,
        registry: str | RegistryClient,
        *,
        catalog: TopicCatalog | None = None,
        limits: DecodeLimits = DEFAULT_LIMITS,
        timeout: float = 5.0,
        contract: Contract | None = None,
    ) -> None:
        self.registry = (
            registry
            if isinstance(registry, RegistryClient)
            else RegistryClient(registry, timeout=timeout)
        )
        self.catalog = catalog or TopicCatalog()
        self.limits = limits
        self.contract = contract or default_contract()
        self._writers = {n: BodyWriter(n, self.contract.entry(n).parsed) for n in MESSAGE_TYPES}
        self._ids: dict[tuple[str, str], int] = {}  # (subject, type) → id
        self._readers: dict[int, BodyReader] = {}
        self._rejected: OrderedDict[int, DecodeError] = OrderedDict()

    # -- encoding -------------------------------------------------------------------------------

    def subject_for(self, event_type: str, record: Mapping[str, Any] | None = None) -> str:
        """TopicNameStrategy subject: ``<input topic>-value``, ``<live topic>-value`` for a
        batch (its topic follows the batch's ``event_type`` field), ``<audit topic>-value`` for
        an ``AccessAuditEntry``."""
        name = short_name(event_type)
        if name == ACCESS_AUDIT:
            return f"{self.catalog.audit}-value"
        if name == BATCH:
            batch_type = (record or {}).get("event_type")
            if batch_type not in EVENT_TYPES:
                raise KeyError("an EventBatch subject needs the batch's event_type")
            return f"{self.catalog.live_topic(str(batch_type))}-value"
        return f"{self.catalog.input_topic(name)}-value"

    def schema_id(self, event_type: str, subject: str) -> int:
        """The registry id of the current ``event_type`` schema under ``subject`` (cached)."""
        name = short_name(event_type)
        key = (subject, name)
        schema_id = self._ids.get(key)
        if schema_id is None:
            entry = self.contract.entry(name)
            schema_id = self.registry.register(subject, entry.schema)
            self._ids[key] = schema_id
            self._readers.setdefault(schema_id, BodyReader(name, entry.parsed, None, self.limits))
        return schema_id

    def register_all(self) -> dict[str, int]:
        """Register every input, live and audit subject now (start-up), so encode never blocks later."""
        subjects = {}
        for event_type in EVENT_TYPES:
            subject = self.subject_for(event_type)
            subjects[subject] = self.schema_id(event_type, subject)
            live = self.subject_for(BATCH, {"event_type": event_type})
            subjects[live] = self.schema_id(BATCH, live)
        audit = self.subject_for(ACCESS_AUDIT)
        subjects[audit] = self.schema_id(ACCESS_AUDIT, audit)
        return subjects

    def encode(
        self, event_type: str, record: Mapping[str, Any], *, topic: str | None = None
    ) -> bytes:
        """Validate and encode; registers the schema under ``<topic>-value`` on first use."""
        name = short_name(event_type)
        try:
            writer = self._writers[name]
        except KeyError:
            raise KeyError(f"not a message type: {event_type!r}") from None
        body = io.BytesIO()
        writer.write(record, body)  # validate before touching the registry
        subject = f"{topic}-value" if topic else self.subject_for(name, record)
        header = MAGIC + self.schema_id(name, subject).to_bytes(4, "big")
        return header + body.getvalue()

    # -- decoding -------------------------------------------------------------------------------

    def _reader(self, data: bytes) -> BodyReader:
        check_size(data, self.limits)
        if data[:1] != MAGIC:
            raise BadMagic(f"not Confluent-framed (first byte {bytes(data[:1]).hex() or 'none'})")
        if len(data) < HEADER_SIZE:
            raise Truncated(f"{len(data)} bytes is shorter than the 5-byte header")
        schema_id = int.from_bytes(data[1:HEADER_SIZE], "big")
        reader = self._readers.get(schema_id)
        if reader is not None:
            return reader
        rejected = self._rejected.get(schema_id)
        if rejected is not None:
            raise type(rejected)(str(rejected))
        try:
            reader = self._load_writer(schema_id)
        except DecodeError as exc:
            self._rejected[schema_id] = exc
            while len(self._rejected) > NEGATIVE_CACHE_SIZE:
                self._rejected.popitem(last=False)
            raise
        self._readers[schema_id] = reader
        return reader

    def _load_writer(self, schema_id: int) -> BodyReader:
        """Fetch, vet and prepare the writer schema ``schema_id`` (RegistryError propagates)."""
        answer = self.registry.schema_by_id(schema_id)
        if answer is None:
            raise UnknownSchema(f"schema id {schema_id} is not in the registry")
        if answer.get("schemaType", "AVRO") != "AVRO" or not isinstance(answer.get("schema"), str):
            raise UnknownSchema(f"schema id {schema_id} is not an Avro schema")
        try:
            schema = json.loads(answer["schema"])
            parsed = parse_record(schema)
        except (ValueError, SchemaParseException, UnknownType, KeyError, TypeError) as exc:
            raise UnknownSchema(f"schema id {schema_id} does not parse: {exc}") from None
        name = short_name(str(parsed["name"]))
        if name not in MESSAGE_TYPES or parsed["name"] != self.contract.entry(name).full_name:
            raise UnknownSchema(f"schema id {schema_id} is not a regstream message type")
        problems = check_schema(parsed, self.limits)
        if problems:
            raise LimitExceeded(f"schema id {schema_id} is unsafe to decode: {problems[0]}")
        entry = self.contract.entry(name)
        if rabin_fingerprint(parsed) == entry.fingerprint:
            return BodyReader(name, entry.parsed, None, self.limits)
        violations = check_backward(entry.schema, schema)
        if violations:
            raise SchemaMismatch(
                f"schema id {schema_id} cannot be read as the current {name}: {violations[0]}"
            )
        return BodyReader(name, parsed, entry.parsed, self.limits)
