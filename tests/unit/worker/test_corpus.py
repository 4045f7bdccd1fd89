"""Every record of the hostile corpus gets its documented verdict, and the next record passes."""

from __future__ import annotations

import pytest
from aiokafka import ConsumerRecord

from schemas.catalog import TopicCatalog
from streams.pipeline import Deduper, HashChain, PipelineConfig, Stores
from streams.worker.inbound import Inbound, from_record
from streams.worker.output import BatchEncoder
from streams.worker.partition import PartitionProcessor, record_size
from tests.corpus.records import EVENT_TYPE, Case, body, cases, header, metadata, string
from tests.unit.pipeline.factories import NOW
from tests.unit.worker.factories import CODEC

CATALOG = TopicCatalog()
TOPIC = CATALOG.input_topic(EVENT_TYPE)
ENCODER = BatchEncoder(CODEC, CATALOG, 500, 900_000, "app-positions-changelog")
GOOD = header() + body(metadata(event_id=string("9b2e7c1a-0d4f-4e8b-a6c3-5f1e2d3c4b5a")))


def arrived(value: bytes | None, offset: int) -> Inbound:
    """The record as aiokafka returns it to the transport (a tombstone's value is None)."""
    record = ConsumerRecord(
        topic=TOPIC,
        partition=0,
        offset=offset,
        timestamp=NOW,
        timestamp_type=0,
        key=b"session-1",
        value=value,
        checksum=None,
        serialized_key_size=9,
        serialized_value_size=len(value or b""),
        headers=(),
    )
    return from_record(record, CODEC)


@pytest.mark.parametrize("case", cases(), ids=lambda case: case.name)
def test_each_case_gets_its_verdict_and_the_next_record_passes(case: Case) -> None:
    stores = Stores(dedupe=Deduper({}, window_ms=60_000), chain=HashChain({}), agents={})
    processor = PartitionProcessor(CATALOG, PipelineConfig(), ENCODER)
    outcome = processor.process(TOPIC, 0, [arrived(case.value, 1), arrived(GOOD, 2)], stores, NOW)
    assert [d.reason for d in outcome.dispositions] == [case.expected, ""]
    assert outcome.next_offset == 3
    assert all(record_size(letter) <= ENCODER.max_bytes for letter in outcome.dead_letters)
