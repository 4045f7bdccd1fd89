"""Pending units merge in order; the encoder makes one EventBatch per partition, within limits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from schemas import contract
from schemas.catalog import TopicCatalog
from schemas.codec import AvroCodec
from streams.pipeline import Coordinates
from streams.worker.output import BatchEncoder, Outgoing, OutputTooLarge, Passed, Pending
from tests.unit.pipeline.factories import decision
from tests.unit.schemas.samples import evolved_contract
from tests.unit.worker.factories import CODEC, TOPIC

CATALOG = TopicCatalog()
ENVELOPE = {
    "event_type": "DecisionMade",
    "source_topic": TOPIC,
    "source_partition": 1,
    "created_at": 1,
}
POSITIONS = "app-positions-changelog"


ENRICHMENT = {
    "agent_name": None,
    "agent_known": False,
    "severity_level": 1,
    "ingested_at": 1,
    "processed_at": 2,
    "pipeline_latency_ms": 1,
    "risk_class": "LOW",
    "impact_score": None,
    "prev_hash": None,
    "hash": None,
}


def enriched(offset: int, record: dict[str, Any], **enrichment: Any) -> dict[str, Any]:
    return {
        "source_offset": offset,
        "payload": ("DecisionMade", record),
        "enrichment": {**ENRICHMENT, **enrichment},
    }


def event(offset: int, **over: Any) -> Passed:
    record = decision(offset + 1, **over)
    item = encoder().item(
        "DecisionMade", enriched(offset, record), CODEC.encode("DecisionMade", record)
    )
    return Passed(Coordinates(TOPIC, 1, offset, 1), item)


def encoder(
    max_events: int = 500, max_bytes: int = 900_000, codec: AvroCodec = CODEC
) -> BatchEncoder:
    return BatchEncoder(codec, CATALOG, max_events, max_bytes, POSITIONS)


def decoded_offsets(records: list[Outgoing]) -> list[list[int]]:
    return [[e["source_offset"] for e in CODEC.decode(r.value).record["events"]] for r in records]


def test_a_later_batch_merges_in_order_and_moves_offsets_forward() -> None:
    first, later = Pending(), Pending()
    first.events[(TOPIC, 1)] = [event(1)]
    first.offsets[(TOPIC, 1)] = 2
    first.add_changes([Outgoing("t", 1, b'"k"', b"1")])
    later.events[(TOPIC, 1)] = [event(2)]
    later.offsets[(TOPIC, 1)] = 3
    later.add_changes([Outgoing("t", 1, b'"k"', b"2")])
    first.merge(later)
    assert [p.coordinates.offset for p in first.events[(TOPIC, 1)]] == [1, 2]
    assert first.offsets == {(TOPIC, 1): 3}
    assert first.changelog == {("t", 1, b'"k"'): b"2"}
    assert first.size == 3


def test_one_event_batch_per_partition_to_the_same_live_partition_positions_last() -> None:
    pending = Pending(events={(TOPIC, 1): [event(5), event(6)]})
    pending.add_changes(
        [Outgoing("app-dedupe-changelog", 1, b'"e"', b"[]"), Outgoing(POSITIONS, 1, b'"p"', b"7")]
    )
    records, closing = encoder().records(pending, now_ms=10)
    batch = CODEC.decode(records[0].value).record
    assert (records[0].topic, records[0].partition) == ("live.decision_made", 1)
    assert (batch["source_topic"], batch["source_partition"], batch["created_at"]) == (TOPIC, 1, 10)
    assert decoded_offsets(records[:1]) == [[5, 6]]
    assert [r.topic for r in records[1:]] == ["app-dedupe-changelog"]
    assert [r.topic for r in closing] == [POSITIONS]


def test_batches_are_split_by_count_and_by_size_keeping_order() -> None:
    events = [event(n) for n in range(7)]
    by_count, _ = encoder(max_events=3).records(Pending(events={(TOPIC, 1): events}), 1)
    assert decoded_offsets(by_count) == [[0, 1, 2], [3, 4, 5], [6]]
    one_size = len(encoder().frame(ENVELOPE, [events[0].item])[0])
    by_size, _ = encoder(max_bytes=one_size * 2 + 10).records(
        Pending(events={(TOPIC, 1): events}), 1
    )
    assert [o for part in decoded_offsets(by_size) for o in part] == list(range(7))
    assert all(len(r.value) <= one_size * 2 + 10 for r in by_size)
    assert len({CODEC.decode(r.value).record["batch_id"] for r in by_size}) == len(by_size)


def test_an_event_too_large_for_a_batch_is_refused_when_its_item_is_written() -> None:
    record = decision(1)
    with pytest.raises(OutputTooLarge):
        encoder(max_bytes=1100).item(
            "DecisionMade", enriched(1, record), CODEC.encode("DecisionMade", record)
        )


def test_an_enrichment_out_of_avros_range_is_refused_when_its_item_is_written() -> None:
    """Written at delivery, this overflow stopped the worker for every partition it owned."""
    record = decision(1)
    with pytest.raises(OverflowError):
        encoder().item(
            "DecisionMade",
            enriched(1, record, pipeline_latency_ms=2**63),
            CODEC.encode("DecisionMade", record),
        )


def test_inputs_written_with_an_older_schema_are_encoded_not_spliced(tmp_path: Path) -> None:
    old = contract.baseline_contract()
    new = AvroCodec(evolved_contract(tmp_path), previous=[old])
    events = []
    for offset, value in (
        (1, AvroCodec(old, previous=[]).encode("DecisionMade", decision(2))),
        (2, new.encode("DecisionMade", decision(3, rationale="why"))),
    ):
        record = new.decode(value).record  # as the worker holds it: read as current
        item = encoder(codec=new).item("DecisionMade", enriched(offset, record), value)
        events.append(Passed(Coordinates(TOPIC, 1, offset, 1), item))
    records, _ = encoder(codec=new).records(Pending(events={(TOPIC, 1): events}), 1)
    (batch,) = [new.decode(r.value).record for r in records]
    assert [e["payload"][1]["rationale"] for e in batch["events"]] == ["", "why"]
