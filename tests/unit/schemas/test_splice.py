"""Spliced batches are byte for byte what the validating encoder writes, for every event type."""

from __future__ import annotations

import io
import random
from pathlib import Path
from typing import Any

import pytest

from schemas import contract
from schemas.codec import AvroCodec
from schemas.splice import BatchSplicer, SplicedEvent, write_long
from tests.unit.schemas.samples import evolved_contract, sample_batch

CODEC = AvroCodec()
SPLICER = BatchSplicer(CODEC)


def spliced(batch: dict[str, Any], codec: AvroCodec = CODEC) -> list[SplicedEvent]:
    """The batch's events as the worker holds them: the input bytes each was decoded from."""
    events = []
    for event in batch["events"]:
        event_type, record = event["payload"]
        body = codec.current_body(codec.encode(event_type, record))
        assert body is not None
        events.append(SplicedEvent(event["source_offset"], event_type, body, event["enrichment"]))
    return events


def envelope(batch: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in batch.items() if k != "events"}


@pytest.mark.parametrize("event_type", contract.EVENT_TYPES)
@pytest.mark.parametrize("count", [0, 1, 3, 70])
def test_a_spliced_batch_is_what_the_encoder_writes(event_type: str, count: int) -> None:
    batch = sample_batch(event_type, count=count, seed=count)
    rng = random.Random(count)
    for event in batch["events"]:  # every nullable enrichment field both ways
        enrichment = event["enrichment"]
        for name in ("agent_name", "risk_class", "prev_hash", "hash"):
            enrichment[name] = rng.choice([None, f"{name}-{rng.random()}"])
        enrichment["impact_score"] = rng.choice([None, rng.random() * 10])
        enrichment["agent_known"] = rng.choice([True, False])
        enrichment["ingested_at"] = rng.randrange(-(2**62), 2**62)
    data = SPLICER.encode(envelope(batch), spliced(batch))
    assert data == CODEC.encode("EventBatch", batch)
    assert CODEC.decode(data) == ("EventBatch", batch)


def test_the_envelope_is_still_validated() -> None:
    batch = sample_batch("DecisionMade", count=2)
    with pytest.raises(Exception, match="batch_id"):
        SPLICER.encode({**envelope(batch), "batch_id": "not-a-uuid"}, spliced(batch))


def test_a_wrongly_typed_enrichment_raises_instead_of_writing() -> None:
    batch = sample_batch("DecisionMade", count=1)
    event = spliced(batch)[0]
    broken = event._replace(enrichment={**event.enrichment, "severity_level": "HIGH"})
    with pytest.raises((TypeError, ValueError)):
        SPLICER.encode(envelope(batch), [broken])


def test_only_bodies_of_the_current_schema_are_offered(tmp_path: Path) -> None:
    old = contract.baseline_contract()
    new_codec = AvroCodec(evolved_contract(tmp_path), previous=[old])
    record = sample_batch("DecisionMade", count=1)["events"][0]["payload"][1]
    written_before = AvroCodec(old, previous=[]).encode("DecisionMade", record)
    assert new_codec.current_body(written_before) is None  # its bytes lack the new field
    written_now = new_codec.encode("DecisionMade", {**record, "rationale": "why"})
    assert new_codec.current_body(written_now) is not None


@pytest.mark.parametrize("value", [0, 1, -1, 63, -64, 64, 300, -(2**63), 2**63 - 1])
def test_write_long_is_avro_zigzag_varint(value: int) -> None:
    from fastavro import schemaless_writer

    ours, theirs = io.BytesIO(), io.BytesIO()
    write_long(ours, value)
    schemaless_writer(theirs, {"type": "long"}, value)
    assert ours.getvalue() == theirs.getvalue()
