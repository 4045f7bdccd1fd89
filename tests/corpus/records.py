"""The hostile-record corpus: bytes a producer can put on an input topic, and what must happen.

Every case is a ``CollaborationEvent`` topic record — the type a dashboard user whose token may
publish can send — written byte by byte here rather than through the encoder, because the
encoder refuses most of them. ``expected`` is the dead-letter reason the worker must give it
(``""`` for a record that passes). The unit tier runs each case through the worker's decode and
processing (``tests/unit/worker/test_corpus.py``); the integration tier puts them all on a real
topic in front of good events and checks a real worker dead-letters each and keeps going
(``tests/integration/test_worker_poison.py``).
"""

from __future__ import annotations

import io
import itertools
from typing import Any, NamedTuple

from fastavro import schemaless_writer

from schemas.contract import default_contract
from schemas.values import MAX_TIMESTAMP_MS

EVENT_TYPE = "CollaborationEvent"
MAGIC = b"\xc3\x01"
EVENT_ID = "3f1c2a9e-8b7d-4c6e-9f0a-1b2c3d4e5f60"
_serials = itertools.count(1)


def fresh_event_id() -> str:
    """A new id per record: cases sharing one would be filtered as duplicates of each other."""
    return f"3f1c2a9e-8b7d-4c6e-9f0a-{next(_serials):012x}"


OCCURRED_AT = 1_700_000_000_000  # 2023-11-14T22:13:20Z


class Case(NamedTuple):
    name: str
    value: bytes | None
    expected: str
    """The dead-letter reason; "" means the record passes."""


def long(value: int) -> bytes:
    """Avro long: zigzag, then base-128 varint. Values beyond 64 bits keep growing, as a hostile
    writer's would (fastavro's reader takes them; the pre-scan stops at 10 bytes)."""
    if -(2**63) <= value < 2**63:
        encoded = (value << 1) ^ (value >> 63)
    else:
        encoded = value << 1 if value >= 0 else ~(value << 1)
    out = bytearray()
    while encoded > 0x7F:
        out.append((encoded & 0x7F) | 0x80)
        encoded >>= 7
    out.append(encoded)
    return bytes(out)


def string(text: str | bytes) -> bytes:
    data = text.encode() if isinstance(text, str) else text
    return long(len(data)) + data


def header(event_type: str = EVENT_TYPE) -> bytes:
    return MAGIC + default_contract().entry(event_type).fingerprint


def metadata(**over: bytes) -> bytes:
    """EventMetadata's fields in schema order; ``over`` replaces one field's bytes."""
    fields = {
        "event_id": string(fresh_event_id()),
        "event_type": string(EVENT_TYPE),
        "source": string("corpus"),
        "occurred_at": long(OCCURRED_AT),
        "severity": long(4),  # HIGH
        "headers": long(0),
    }
    fields.update(over)
    return b"".join(fields.values())


def body(metadata_bytes: bytes | None = None, **over: bytes) -> bytes:
    """CollaborationEvent's fields in schema order; ``over`` replaces one field's bytes."""
    fields = {
        "metadata": metadata() if metadata_bytes is None else metadata_bytes,
        "session_id": string("session-1"),
        "kind": long(0),
        "sender_id": string("agent-kyc"),
        "receiver_id": long(0),  # union branch 0: null
        "participant_ids": long(0),
        "message_type": long(0),
        "status": long(0),
        "content": string("hello"),
        "attributes": long(0),
    }
    fields.update(over)
    return b"".join(fields.values())


def record(**over: Any) -> dict[str, Any]:
    """A valid record as a dict, for cases easier to write with fastavro."""
    value: dict[str, Any] = {
        "metadata": {
            "event_id": fresh_event_id(),
            "event_type": EVENT_TYPE,
            "source": "corpus",
            "occurred_at": OCCURRED_AT,
            "severity": "HIGH",
            "headers": {},
        },
        "session_id": "session-1",
        "kind": "MESSAGE",
        "sender_id": "agent-kyc",
        "receiver_id": None,
        "participant_ids": [],
        "message_type": "TEXT",
        "status": "SENT",
        "content": "hello",
        "attributes": {},
    }
    value.update(over)
    return value


def written(value: dict[str, Any], event_type: str = EVENT_TYPE) -> bytes:
    """``value`` written by fastavro alone (no regstream value rules, no size limit)."""
    out = io.BytesIO()
    schemaless_writer(out, default_contract().entry(event_type).parsed, value)
    return header(event_type) + out.getvalue()


def with_metadata(**over: Any) -> bytes:
    changed = record()
    changed["metadata"] = {**changed["metadata"], **over}
    return written(changed)


def cases() -> list[Case]:
    """Every case, in the order they are sent."""
    valid = header() + body()
    return [
        Case("valid", valid, ""),
        Case("empty value", b"", "bad-magic"),
        Case("tombstone (no value)", None, "bad-magic"),
        Case("json instead of avro", b'{"metadata": {}}', "bad-magic"),
        Case("bad magic", b"\xc3\x02" + valid[2:], "bad-magic"),
        Case("header only", header(), "truncated"),
        Case("shorter than the header", MAGIC + b"\x01\x02", "truncated"),
        Case("unknown fingerprint", MAGIC + b"\xff" * 8 + body(), "unknown-schema"),
        Case("truncated body", valid[:-3], "truncated"),
        Case("one trailing byte", valid + b"\x00", "trailing-bytes"),
        Case("many trailing bytes", valid + b"\x01" * 4096, "trailing-bytes"),
        Case("huge string length", header() + long(2**62) + b"abc", "truncated"),
        Case("negative string length", header() + long(-5) + b"abc", "schema-mismatch"),
        Case(
            "varint longer than a long",
            header() + body(metadata(occurred_at=b"\xff" * 11 + b"\x01")),
            "schema-mismatch",
        ),
        Case(
            "enum index past the symbols",
            header() + body(metadata(severity=long(99))),
            "schema-mismatch",
        ),
        Case(
            "negative enum index", header() + body(metadata(severity=long(-1))), "schema-mismatch"
        ),
        Case(
            "union index past the branches", header() + body(receiver_id=long(7)), "schema-mismatch"
        ),
        Case("negative union index", header() + body(receiver_id=long(-1)), "schema-mismatch"),
        Case(
            "count bomb below the item cap",
            header() + body(participant_ids=long(90_000)),
            "truncated",
        ),
        Case("invalid utf-8", header() + body(content=string(b"\xff\xfe\xfa")), "schema-mismatch"),
        Case(
            "array count bomb",
            header() + body(participant_ids=long(2**40) + string("a")),
            "limit-exceeded",
        ),
        Case(
            "map count bomb",
            header() + body(attributes=long(10**9) + string("k")),
            "limit-exceeded",
        ),
        Case(
            "negative block count with a huge block size",
            header() + body(participant_ids=long(-(2**40)) + long(2**50)),
            "limit-exceeded",
        ),
        Case(
            "more map entries than the item cap",
            written(record(attributes={f"{i:x}": None for i in range(120_000)})),
            "limit-exceeded",
        ),
        Case(
            "another type on the topic", written(_status(), "AgentStatusUpdate"), "schema-mismatch"
        ),
        Case(
            "occurred_at at the minimum long",
            with_metadata(occurred_at=-(2**63)),
            "invalid:timestamp-range",
        ),
        Case(
            "occurred_at at the maximum long",
            with_metadata(occurred_at=2**63 - 1),
            "invalid:timestamp-range",
        ),
        Case(
            "occurred_at past year 9999",
            with_metadata(occurred_at=MAX_TIMESTAMP_MS + 1),
            "invalid:timestamp-range",
        ),
        Case("event_id not a uuid", with_metadata(event_id="not-a-uuid"), "invalid:event-id"),
        Case(
            "event_id in upper case", with_metadata(event_id=EVENT_ID.upper()), "invalid:event-id"
        ),
        Case("empty event_id", with_metadata(event_id=""), "invalid:missing-id"),
        Case(
            "event_type of another type",
            with_metadata(event_type="DecisionMade"),
            "invalid:event-type-mismatch",
        ),
        Case(
            "NaN in attributes",
            written(record(attributes={"x": float("nan")})),
            "invalid:non-finite-number",
        ),
        Case(
            "Infinity in attributes",
            written(record(attributes={"x": float("-inf")})),
            "invalid:non-finite-number",
        ),
        Case("empty session_id", written(record(session_id=" ")), "invalid:missing-id"),
        Case("an event of 1.00 MB", written(record(content="x" * 1_000_000)), "output-too-large"),
        Case("an event of 1.048 MB", written(record(content="x" * 1_048_000)), "output-too-large"),
    ]


def _status() -> dict[str, Any]:
    meta = record()["metadata"] | {"event_type": "AgentStatusUpdate"}
    return {"metadata": meta, "agent_id": "agent-kyc", "status": "ACTIVE", "attributes": {}}
