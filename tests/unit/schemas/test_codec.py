"""Single-object encoding: round trips, the byte layout, validation and every DecodeError."""

from __future__ import annotations

import copy
import json
import struct
from pathlib import Path
from typing import Any

import pytest

from schemas import contract
from schemas.codec import HEADER_SIZE, MAGIC, AvroCodec, Decoded
from schemas.errors import (
    BadMagic,
    EncodeError,
    RecordTooLarge,
    SchemaMismatch,
    TrailingBytes,
    Truncated,
    UnknownSchema,
)
from schemas.formats import codec_for
from schemas.limits import DecodeLimits
from tests.unit.schemas.samples import OCCURRED_AT, evolved_contract, sample, sample_batch

CODEC = AvroCodec()


@pytest.mark.parametrize("event_type", [*contract.EVENT_TYPES, contract.ACCESS_AUDIT])
def test_round_trip_of_every_event_type(event_type: str) -> None:
    record = sample(event_type)
    data = CODEC.encode(event_type, record)
    assert data[:2] == MAGIC
    assert data[2:10] == contract.fingerprint(event_type)
    decoded = CODEC.decode(data)
    assert decoded == Decoded(event_type, record)
    assert CODEC.decode_expecting(event_type, data).record == record
    json.dumps(decoded.record)  # plain JSON-friendly Python: str uuid, int millis


@pytest.mark.parametrize("event_type", contract.EVENT_TYPES)
def test_round_trip_of_a_batch(event_type: str) -> None:
    batch = sample_batch(event_type, count=4)
    original = copy.deepcopy(batch)
    data = CODEC.encode("EventBatch", batch)
    assert batch == original  # encode does not mutate its input
    event_kind, decoded = CODEC.decode(data)
    assert event_kind == "EventBatch"
    assert decoded == batch
    assert [e["payload"][0] for e in decoded["events"]] == [event_type] * 4
    assert isinstance(decoded["events"][0]["payload"], tuple)
    json.dumps(decoded)


def test_batch_payload_accepts_full_names_and_lists() -> None:
    batch = sample_batch("DecisionMade", count=2)
    _, body = batch["events"][0]["payload"]
    batch["events"][0]["payload"] = ("regstream.events.DecisionMade", body)
    batch["events"][1]["payload"] = list(batch["events"][1]["payload"])
    decoded = CODEC.decode(CODEC.encode("EventBatch", batch)).record
    assert [e["payload"][0] for e in decoded["events"]] == ["DecisionMade", "DecisionMade"]


def test_defaults_are_filled_and_timestamps_stay_ints() -> None:
    record = {
        "metadata": {
            "event_id": "0b9c5a1e-8a3f-4d2c-9a77-3e1f2b4c5d6e",
            "event_type": "CollaborationEvent",
            "source": "chat",
            "occurred_at": OCCURRED_AT,
            "severity": "INFO",
        },
        "session_id": "s",
        "kind": "MESSAGE",
        "sender_id": "u",
        "message_type": "TEXT",
        "status": "SENT",
        "content": "hi",
    }
    decoded = CODEC.decode(CODEC.encode("CollaborationEvent", record)).record
    assert decoded["metadata"]["headers"] == {}
    assert decoded["metadata"]["occurred_at"] == OCCURRED_AT
    assert decoded["receiver_id"] is None
    assert decoded["participant_ids"] == []
    assert decoded["attributes"] == {}


def test_enum_fields_have_no_field_default() -> None:
    # The enums' own "default" only maps unknown symbols during schema resolution; the fields
    # themselves are required, so a producer cannot silently send INFO for a missing severity.
    record = sample("DecisionMade")
    del record["metadata"]["severity"]
    with pytest.raises(EncodeError, match="severity"):
        CODEC.encode("DecisionMade", record)


def test_known_single_object_byte_layout() -> None:
    event_id = "0b9c5a1e-8a3f-4d2c-9a77-3e1f2b4c5d6e"
    record = {
        "metadata": {
            "event_id": event_id,
            "event_type": "DecisionMade",
            "source": "s",
            "occurred_at": 1,
            "severity": "INFO",
        },
        "decision_id": "d",
        "agent_id": "a",
        "decision_type": "t",
        "confidence_score": 0.5,
    }
    expected = (
        b"\xc3\x01"
        + contract.fingerprint("DecisionMade")
        + b"\x48"  # event_id length 36, zig-zag
        + event_id.encode()
        + b"\x18DecisionMade"  # length 12
        + b"\x02s"
        + b"\x02"  # occurred_at = 1
        + b"\x02"  # severity index 1 = INFO
        + b"\x00"  # headers: empty map
        + b"\x02d\x02a\x02t"
        + struct.pack("<d", 0.5)
        + b"\x00"  # decision_details: empty map
    )
    assert CODEC.encode("DecisionMade", record) == expected
    assert HEADER_SIZE == 10


def test_decode_expecting_another_type_is_a_mismatch() -> None:
    data = CODEC.encode("DecisionMade", sample("DecisionMade"))
    with pytest.raises(SchemaMismatch, match="expected a AuditTrailEntry"):
        CODEC.decode_expecting("AuditTrailEntry", data)


# -- encode validation ----------------------------------------------------------------------


def broken(event_type: str, change: Any) -> dict[str, Any]:
    record = copy.deepcopy(sample(event_type))
    change(record)
    return record


@pytest.mark.parametrize(
    ("event_type", "change", "path"),
    [
        (
            "DecisionMade",
            lambda r: r.update(confidence_score="high"),
            "DecisionMade.confidence_score",
        ),
        ("DecisionMade", lambda r: r.pop("agent_id"), "DecisionMade.agent_id"),
        ("AgentStatusUpdate", lambda r: r.update(status="SLEEPY"), "AgentStatusUpdate.status"),
        ("AgentStatusUpdate", lambda r: r["attributes"].update(bad=[1]), "attributes"),
        ("DecisionMade", lambda r: r.update(confidence=1.0), "DecisionMade.confidence"),
        ("DecisionMade", lambda r: r["metadata"].update(event_id="nope"), "metadata.event_id"),
        (
            "DecisionMade",
            lambda r: r["metadata"].update(event_id="0B9C5A1E-8A3F-4D2C-9A77-3E1F2B4C5D6E"),
            "metadata.event_id",
        ),
        ("DecisionMade", lambda r: r["metadata"].update(event_id=7), "metadata.event_id"),
        ("DecisionMade", lambda r: r["metadata"].update(event_type="X"), "metadata.event_type"),
        ("DecisionMade", lambda r: r["metadata"].update(occurred_at="2024"), "occurred_at"),
        ("DecisionMade", lambda r: r["metadata"].update(sev="HIGH"), "metadata.sev"),
        ("DecisionMade", lambda r: r.pop("metadata"), "DecisionMade.metadata"),
    ],
)
def test_encode_error_names_the_field(event_type: str, change: Any, path: str) -> None:
    with pytest.raises(EncodeError) as info:
        CODEC.encode(event_type, broken(event_type, change))
    assert path in info.value.path
    assert info.value.reason


def test_encode_refuses_non_mappings_and_unknown_types() -> None:
    with pytest.raises(EncodeError):
        CODEC.encode("DecisionMade", ["not", "a", "record"])  # type: ignore[arg-type]
    with pytest.raises(KeyError):
        CODEC.encode("EventMetadata", {})


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda b: b.update(batch_id="x"), "batch_id"),
        (lambda b: b.update(event_type="Nope"), "event_type"),
        (lambda b: b.update(events={}), "events"),
        (lambda b: b["events"][0].update(payload={"not": "a pair"}), "events[0].payload"),
        (lambda b: b["events"][1].update(payload=("AuditTrailEntry", {})), "events[1].payload"),
        (lambda b: b["events"][0]["payload"][1].update(extra=1), "events[0].payload.extra"),
        (
            lambda b: b["events"][2]["payload"][1]["metadata"].update(event_id="x"),
            "events[2].payload.metadata.event_id",
        ),
        (lambda b: b["events"][0]["enrichment"].pop("severity_level"), "severity_level"),
    ],
)
def test_batch_encode_errors(change: Any, path: str) -> None:
    batch = sample_batch("DecisionMade", count=3)
    change(batch)
    with pytest.raises(EncodeError) as info:
        CODEC.encode("EventBatch", batch)
    assert path in info.value.path


# -- every DecodeError ----------------------------------------------------------------------


def test_bad_magic() -> None:
    data = CODEC.encode("DecisionMade", sample("DecisionMade"))
    with pytest.raises(BadMagic):
        CODEC.decode(b"\x00" + data[1:])
    with pytest.raises(BadMagic):
        CODEC.decode(b'{"json": true}')
    with pytest.raises(BadMagic):
        CODEC.decode(b"")


def test_unknown_fingerprint() -> None:
    data = CODEC.encode("DecisionMade", sample("DecisionMade"))
    with pytest.raises(UnknownSchema):
        CODEC.decode(data[:2] + bytes(8) + data[10:])


@pytest.mark.parametrize("cut", [3, 9, 10, 11, 50, -9, -1])
def test_truncated(cut: int) -> None:
    data = CODEC.encode("DecisionMade", sample("DecisionMade"))
    with pytest.raises(Truncated):
        CODEC.decode(data[:cut])


def test_trailing_bytes() -> None:
    data = CODEC.encode("DecisionMade", sample("DecisionMade"))
    with pytest.raises(TrailingBytes):
        CODEC.decode(data + b"\x00")


def test_body_of_another_schema_is_a_mismatch() -> None:
    # A DecisionMade body under an AgentStatusUpdate header: fields line up until the enum.
    body = CODEC.encode("DecisionMade", sample("DecisionMade"))[HEADER_SIZE:]
    with pytest.raises((SchemaMismatch, Truncated, TrailingBytes)):
        CODEC.decode(MAGIC + contract.fingerprint("AgentStatusUpdate") + body)


def test_invalid_utf8_is_a_mismatch() -> None:
    data = bytearray(CODEC.encode("DecisionMade", sample("DecisionMade")))
    data[HEADER_SIZE + 1] = 0xFF  # first byte of the event_id text
    with pytest.raises(SchemaMismatch):
        CODEC.decode(bytes(data))


def test_out_of_range_enum_index_is_a_mismatch() -> None:
    record = sample("SimulationUpdate")
    data = bytearray(CODEC.encode("SimulationUpdate", record))
    # the status enum byte is the first one that differs from the same record RUNNING
    other = CODEC.encode("SimulationUpdate", {**record, "status": "RUNNING"})
    index = next(i for i in range(HEADER_SIZE, len(data)) if data[i] != other[i])
    data[index] = 0x7E  # zig-zag 63: no such symbol
    with pytest.raises(SchemaMismatch):
        CODEC.decode(bytes(data))


def test_record_too_large() -> None:
    codec = AvroCodec(limits=DecodeLimits(max_record_bytes=64))
    data = CODEC.encode("DecisionMade", sample("DecisionMade"))
    assert len(data) > 64
    with pytest.raises(RecordTooLarge):
        codec.decode(data)


def test_codec_for() -> None:
    assert isinstance(codec_for("single-object"), AvroCodec)
    with pytest.raises(ValueError, match="registry URL"):
        codec_for("confluent")
    with pytest.raises(ValueError, match="unknown wire format"):
        codec_for("protobuf")


# -- evolution: records written with the previous release still decode -----------------------


def test_previous_release_records_decode_into_the_current_schema(tmp_path: Path) -> None:
    new = evolved_contract(tmp_path)
    old = contract.baseline_contract()

    old_codec = AvroCodec(old, previous=[])
    new_codec = AvroCodec(new, previous=[old])
    data = old_codec.encode("DecisionMade", sample("DecisionMade"))
    assert data[2:10] != new.entry("DecisionMade").fingerprint
    event_type, record = new_codec.decode(data)
    assert event_type == "DecisionMade"
    assert record["rationale"] == ""
    assert record["confidence_score"] == sample("DecisionMade")["confidence_score"]
    with pytest.raises(UnknownSchema):  # without the old release it is an unknown writer
        AvroCodec(new, previous=[]).decode(data)


def test_an_enum_error_names_the_value_and_the_symbols() -> None:
    """`expected Severity, got str` told a person neither what was wrong nor what would do."""
    with pytest.raises(EncodeError) as info:
        CODEC.encode("AgentStatusUpdate", broken("AgentStatusUpdate", lambda r: r.update(status="SLEEPY")))  # fmt: skip
    assert info.value.reason == (
        "'SLEEPY' is not one of STARTING, ACTIVE, IDLE, BUSY, DEGRADED, ERROR, STOPPED, UNKNOWN"
    )
