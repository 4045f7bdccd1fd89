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
POSITIONS = "app-positions-changelog"


def event(offset: int, codec: AvroCodec = CODEC, **over: Any) -> Passed:
    enrichment = {
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
    record = decision(offset + 1, **over)
    return Passed(
        Coordinates(TOPIC, 1, offset, 1),
        {"source_offset": offset, "payload": ("DecisionMade", record), "enrichment": enrichment},
        codec.encode("DecisionMade", record),
    )


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
    one_size = len(CODEC.encode("EventBatch", {**_batch(events[:1])}))
    by_size, _ = encoder(max_bytes=one_size * 2 + 10).records(
        Pending(events={(TOPIC, 1): events}), 1
    )
    assert [o for part in decoded_offsets(by_size) for o in part] == list(range(7))
    assert all(len(r.value) <= one_size * 2 + 10 for r in by_size)
    assert len({CODEC.decode(r.value).record["batch_id"] for r in by_size}) == len(by_size)


def test_an_event_too_large_alone_stops_the_worker_rather_than_being_dropped() -> None:
    with pytest.raises(OutputTooLarge):
        encoder(max_bytes=100).records(Pending(events={(TOPIC, 1): [event(1)]}), 1)


def test_inputs_written_with_an_older_schema_are_encoded_not_spliced(tmp_path: Path) -> None:
    old = contract.baseline_contract()
    new = AvroCodec(evolved_contract(tmp_path), previous=[old])
    events = []
    for passed in (event(1, AvroCodec(old, previous=[])), event(2, new, rationale="why")):
        record = new.decode(passed.value).record  # as the worker holds it: read as current
        events.append(passed._replace(event={**passed.event, "payload": ("DecisionMade", record)}))
    records, _ = encoder(codec=new).records(Pending(events={(TOPIC, 1): events}), 1)
    (batch,) = [new.decode(r.value).record for r in records]
    assert [e["payload"][1]["rationale"] for e in batch["events"]] == ["", "why"]


def _batch(events: list[Passed]) -> dict[str, Any]:
    return {
        "batch_id": "00000000-0000-4000-8000-000000000000",
        "event_type": "DecisionMade",
        "source_topic": TOPIC,
        "source_partition": 1,
        "created_at": 1,
        "events": [p.event for p in events],
    }
