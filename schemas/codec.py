"""Avro single-object encoding, the default wire format: ``C3 01`` + 8-byte fingerprint + body.

The header names the writer schema by its CRC-64-AVRO fingerprint (little-endian), so any reader
that knows the contract can decode a record with no schema server. We decode only fingerprints we
know: the current schemas and those of the previous release (``schemas/baseline``), the latter
resolved into the current reader schemas so a rolling upgrade never dead-letters good records.
Anything else is ``UnknownSchema`` — never a guess.

Usage::

    codec = AvroCodec()
    data = codec.encode("DecisionMade", record)        # validated, EncodeError with the path
    event_type, record = codec.decode(data)            # typed DecodeError on anything wrong
    codec.decode_expecting("DecisionMade", data)       # SchemaMismatch for another type

``EventBatch`` works the same way; its ``events[i]["payload"]`` is a ``(event_type, record)``
pair with the short type name, on encode and on decode.

Design for a fast hot path: everything schema-related (parsing, fingerprints, static limit
checks, the per-type header bytes, the fingerprint → reader table) is built once in the
constructor. ``encode`` is a dict lookup, the validation and write C calls, and a bytes join;
``decode`` is a length check, a 2-byte compare, a dict lookup on the 8-byte fingerprint and one
fastavro read. Share one codec per process; it holds no per-call state and is thread-safe.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, NamedTuple, Protocol

from schemas.body import BodyReader, BodyWriter
from schemas.contract import (
    MESSAGE_TYPES,
    Contract,
    baseline_contract,
    default_contract,
    short_name,
)
from schemas.errors import BadMagic, RecordTooLarge, SchemaMismatch, Truncated, UnknownSchema
from schemas.limits import DEFAULT_LIMITS, DecodeLimits

MAGIC = b"\xc3\x01"
"""Single-object encoding marker (Avro spec, "Single-object encoding")."""
HEADER_SIZE = len(MAGIC) + 8


class Decoded(NamedTuple):
    """A decoded record and its message type (short name, e.g. ``DecisionMade``)."""

    event_type: str
    record: dict[str, Any]


class Codec(Protocol):
    """What producers, the pipeline and the gateway need from a wire format."""

    def encode(
        self, event_type: str, record: Mapping[str, Any], *, topic: str | None = None
    ) -> bytes: ...

    def decode(self, data: bytes) -> Decoded: ...

    def decode_expecting(self, event_type: str, data: bytes) -> Decoded: ...

    def current_body(self, data: bytes) -> memoryview | None:
        """The Avro body of ``data`` (which decoded) if its writer schema is the current one."""


def check_size(data: bytes, limits: DecodeLimits) -> None:
    """``RecordTooLarge`` before any parsing when ``data`` is over the byte cap."""
    if len(data) > limits.max_record_bytes:
        raise RecordTooLarge(f"{len(data)} bytes exceed the {limits.max_record_bytes}-byte limit")


def expect(event_type: str, decoded_type: str) -> None:
    """``SchemaMismatch`` when a record of another type arrives where ``event_type`` was due."""
    if decoded_type != short_name(event_type):
        raise SchemaMismatch(f"expected a {short_name(event_type)}, got a {decoded_type}")


class FramedDecoder:
    """The decode side every wire format shares: a header of ``header_size`` bytes that names
    the writer schema, then a schemaless Avro body. A format only says how its header finds
    the reader (``_reader``, which checks size, magic and length first)."""

    header_size: ClassVar[int]

    def _reader(self, data: bytes) -> BodyReader:
        raise NotImplementedError

    def decode(self, data: bytes) -> Decoded:
        """Decode one record; every failure is a ``DecodeError`` subclass (or, for a format
        that looks schemas up, the lookup's own error)."""
        reader = self._reader(data)
        return Decoded(reader.name, reader.read(data, self.header_size))

    def decode_expecting(self, event_type: str, data: bytes) -> Decoded:
        """Like ``decode`` but ``SchemaMismatch`` (before decoding the body) for another type."""
        reader = self._reader(data)
        expect(event_type, reader.name)
        return Decoded(reader.name, reader.read(data, self.header_size))

    def current_body(self, data: bytes) -> memoryview | None:
        """The Avro body of ``data`` (which decoded) if its writer schema is the current one."""
        return self._reader(data).current_body(data, self.header_size)


class AvroCodec(FramedDecoder):
    """Single-object encoding against the packaged contract (see the module docstring)."""

    header_size = HEADER_SIZE

    def __init__(
        self,
        contract: Contract | None = None,
        limits: DecodeLimits = DEFAULT_LIMITS,
        *,
        previous: Iterable[Contract] | None = None,
    ) -> None:
        self.contract = contract or default_contract()
        self.limits = limits
        self._writers: dict[str, tuple[bytes, BodyWriter]] = {}
        self._readers: dict[bytes, BodyReader] = {}
        for name in MESSAGE_TYPES:
            entry = self.contract.entry(name)
            header = MAGIC + entry.fingerprint
            self._writers[name] = (header, BodyWriter(name, entry.parsed))
            self._readers[entry.fingerprint] = BodyReader(name, entry.parsed, None, limits)
        for old in (baseline_contract(),) if previous is None else previous:
            for fp, old_entry in old.by_fingerprint.items():
                if fp not in self._readers and old_entry.name in MESSAGE_TYPES:
                    reader = self.contract.entry(old_entry.name).parsed
                    self._readers[fp] = BodyReader(old_entry.name, old_entry.parsed, reader, limits)

    def encode(
        self, event_type: str, record: Mapping[str, Any], *, topic: str | None = None
    ) -> bytes:
        """Validate and encode ``record``; ``topic`` is accepted for interface parity, unused."""
        try:
            header, writer = self._writers[short_name(event_type)]
        except KeyError:
            raise KeyError(f"not a message type: {event_type!r}") from None
        out = io.BytesIO()
        out.write(header)
        writer.write(record, out)
        return out.getvalue()

    def _reader(self, data: bytes) -> BodyReader:
        check_size(data, self.limits)
        if data[:2] != MAGIC:
            raise BadMagic(f"not single-object encoded (starts with {bytes(data[:2]).hex()})")
        if len(data) < HEADER_SIZE:
            raise Truncated(f"{len(data)} bytes is shorter than the 10-byte header")
        reader = self._readers.get(bytes(data[2:HEADER_SIZE]))
        if reader is None:
            raise UnknownSchema(f"unknown schema fingerprint {bytes(data[2:HEADER_SIZE]).hex()}")
        return reader
