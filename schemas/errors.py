"""The one error hierarchy of the data contract.

Callers branch on the class and its attributes, never on message text::

    SchemaError                      anything raised by ``schemas``
    ├── ContractError                the .avsc files themselves are unusable (load time)
    ├── DecodeError                  bytes that are not a valid record: dead-letter them
    │   │                            (``dlq_reason`` is the DLQ reason header value)
    │   ├── BadMagic                 "bad-magic": not our wire format
    │   ├── UnknownSchema            "unknown-schema": fingerprint / registry id not known
    │   ├── Truncated                "truncated": the body ends before the record does
    │   ├── TrailingBytes            "trailing-bytes": bytes left after the record
    │   ├── SchemaMismatch           "schema-mismatch": body does not fit the schema, or
    │   │                            another event type than the one expected
    │   ├── RecordTooLarge           "record-too-large": over ``DecodeLimits.max_record_bytes``
    │   └── LimitExceeded            "limit-exceeded": collection item / nesting caps
    ├── EncodeError                  a record failed validation before send (``path``, ``reason``)
    ├── RegistryError                the schema registry failed (``retriable``)
    └── IncompatibleSchema           a schema change breaks BACKWARD compatibility
                                     (``violations``)

Why the split matters: a ``DecodeError`` is a property of the *bytes*, so retrying cannot help and
the pipeline dead-letters the record and moves on. A ``RegistryError`` is a property of the
*environment* (registry down, timeout); when ``retriable`` is true the caller should back off and
retry the same record instead of dead-lettering it, or it would lose good data during an outage.
"""

from __future__ import annotations

from collections.abc import Sequence


class SchemaError(Exception):
    """Base class of every error raised by the ``schemas`` package."""


class ContractError(SchemaError):
    """The schema files cannot be used: parse error, unresolved name, unsafe collection type.

    Raised when the contract is loaded, so a broken deploy fails at start-up, not per record.
    """


class DecodeError(SchemaError):
    """The bytes are not a valid record of the contract.

    ``dlq_reason`` is a short, stable, machine-readable code written as the dead-letter reason
    header; dashboards and alerts group on it, so the values are part of the public contract.
    """

    dlq_reason: str = "decode-error"


class BadMagic(DecodeError):
    """The leading bytes are not the wire format's marker (another producer, or plain JSON)."""

    dlq_reason = "bad-magic"


class UnknownSchema(DecodeError):
    """The fingerprint or registry id names no schema we know; we never guess a schema."""

    dlq_reason = "unknown-schema"


class Truncated(DecodeError):
    """The input ends before the record does (cut message, or a length/count beyond the input)."""

    dlq_reason = "truncated"


class TrailingBytes(DecodeError):
    """The record decoded but bytes are left over: the writer used another schema or framing."""

    dlq_reason = "trailing-bytes"


class SchemaMismatch(DecodeError):
    """The body does not fit the schema (bad union/enum index, invalid UTF-8, malformed varint),
    or the record is of another event type than the caller expected."""

    dlq_reason = "schema-mismatch"


class RecordTooLarge(DecodeError):
    """The input is larger than ``DecodeLimits.max_record_bytes``; refused before parsing."""

    dlq_reason = "record-too-large"


class LimitExceeded(DecodeError):
    """A decode cap (collection items, nesting depth) would be exceeded; refused before the
    decoder allocates anything for it."""

    dlq_reason = "limit-exceeded"


class EncodeError(SchemaError):
    """A record does not satisfy its schema; raised before anything is sent.

    ``path`` names the offending field (e.g. ``regstream.events.DecisionMade.confidence_score``),
    ``reason`` says what is wrong with it, so producers can report it without parsing text.
    """

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class RegistryError(SchemaError):
    """The schema registry could not answer.

    ``retriable`` is true for outages (connection refused, timeout, HTTP 5xx/429) and false for
    answers that will not change on retry (HTTP 4xx such as an invalid schema or bad auth).
    """

    def __init__(self, message: str, *, retriable: bool, status: int | None = None) -> None:
        super().__init__(message)
        self.retriable = retriable
        self.status = status


class IncompatibleSchema(SchemaError):
    """A schema change breaks the BACKWARD evolution rule (or the registry refused it as such).

    ``violations`` lists human-readable findings, each starting with the schema path.
    """

    def __init__(self, message: str, violations: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.violations = list(violations)
