from __future__ import annotations

import itertools
from typing import Any

from fastavro.validation import validate

from streams.pipeline.batching import build_batches
from streams.pipeline.coordinates import Coordinates
from streams.pipeline.enrich import build_enrichment, enriched_event
from tests.unit.pipeline.factories import NOW, at, decision, event_batch_schema


def item(offset: int, partition: int = 0) -> tuple[Coordinates, dict[str, Any]]:
    source = at(offset, partition)
    record = decision(offset + 1000 * partition)
    enrichment = build_enrichment(
        "DecisionMade", record, agents={}, ingested_at_ms=source.timestamp_ms, now_ms=NOW
    )
    return source, enriched_event("DecisionMade", record, offset, enrichment)


def batches(items: list[tuple[Coordinates, dict[str, Any]]]) -> list[dict[str, Any]]:
    ids = (f"00000000-0000-4000-8000-{n:012d}" for n in itertools.count())
    return build_batches(
        items, event_type="DecisionMade", created_at_ms=NOW, new_batch_id=ids.__next__
    )


def offsets(batch: dict[str, Any]) -> list[int]:
    return [event["source_offset"] for event in batch["events"]]


def test_one_partition_becomes_one_batch_in_input_order() -> None:
    (batch,) = batches([item(7), item(8), item(9)])
    assert offsets(batch) == [7, 8, 9]
    assert {k: v for k, v in batch.items() if k != "events"} == {
        "batch_id": "00000000-0000-4000-8000-000000000000",
        "event_type": "DecisionMade",
        "source_topic": "events.test",
        "source_partition": 0,
        "created_at": NOW,
    }


def test_batches_never_mix_partitions_and_keep_each_partitions_order() -> None:
    interleaved = [item(10, 1), item(5, 0), item(11, 1), item(6, 0), item(12, 1), item(0, 2)]
    result = batches(interleaved)
    assert [(b["source_partition"], offsets(b)) for b in result] == [
        (1, [10, 11, 12]),
        (0, [5, 6]),
        (2, [0]),
    ]
    assert len({b["batch_id"] for b in result}) == 3


def test_batch_ids_are_random_uuids_by_default() -> None:
    first = build_batches([item(1)], event_type="DecisionMade", created_at_ms=NOW)
    second = build_batches([item(1)], event_type="DecisionMade", created_at_ms=NOW)
    assert first[0]["batch_id"] != second[0]["batch_id"]


def test_no_events_no_batches() -> None:
    assert batches([]) == []


def test_a_batch_is_a_valid_event_batch_record() -> None:
    (batch,) = batches([item(1), item(2)])
    # The codec turns the short payload name into the full name fastavro matches unions on.
    for event in batch["events"]:
        name, record = event["payload"]
        event["payload"] = (f"regstream.events.{name}", record)
    assert validate(batch, event_batch_schema(), raise_errors=True)
