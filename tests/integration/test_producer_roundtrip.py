"""The producer SDK against a real broker: every event type round-trips byte for byte."""

from __future__ import annotations

from collections import Counter

import pytest

from schemas.codec import AvroCodec
from schemas.contract import EVENT_TYPES, partition_key_field
from schemas.errors import EncodeError
from streams.kafka import BrokerUnavailable
from streams.producer import EventProducer
from streams.samples import SampleEvents
from streams.settings import Settings
from streams.topics import create_topics
from tests.integration.helpers import read_all

ROUND_TRIP_EVENTS = 100_000


async def test_100k_events_of_all_types_round_trip_identically(settings: Settings) -> None:
    await create_topics(settings)
    samples = SampleEvents(seed=11)
    sent: dict[str, list[dict[str, object]]] = {t: [] for t in EVENT_TYPES}
    async with EventProducer(settings) as producer:
        for start in range(0, ROUND_TRIP_EVENTS, 5_000):
            chunk = [samples.any() for _ in range(5_000)]
            for event_type in EVENT_TYPES:
                records = [r for t, r in chunk if t == event_type]
                results = await producer.send_many(event_type, records)
                assert not [r for r in results if isinstance(r, BaseException)], start
                sent[event_type].extend(records)
    assert sum(len(v) for v in sent.values()) == ROUND_TRIP_EVENTS

    codec = AvroCodec()
    for event_type in EVENT_TYPES:
        topic = settings.catalog.input_topic(event_type)
        records = await read_all(settings, topic, len(sent[event_type]))
        assert len(records) == len(sent[event_type])
        key_field = partition_key_field(event_type)
        by_id = {r["metadata"]["event_id"]: r for r in sent[event_type]}
        partitions_of_key: dict[bytes, set[int]] = {}
        for message in records:
            decoded = codec.decode(message.value)
            assert decoded.event_type == event_type
            original = by_id.pop(decoded.record["metadata"]["event_id"])
            assert decoded.record == original
            assert message.key == str(original[key_field]).encode()
            partitions_of_key.setdefault(message.key, set()).add(message.partition)
        assert by_id == {}
        assert all(len(p) == 1 for p in partitions_of_key.values()), "a key spans partitions"


async def test_send_many_reports_invalid_records_and_sends_the_rest(settings: Settings) -> None:
    await create_topics(settings)
    samples = SampleEvents(seed=3)
    good = [samples.next("DecisionMade") for _ in range(3)]
    bad = dict(samples.next("DecisionMade"), confidence_score="high")
    async with EventProducer(settings) as producer:
        results = await producer.send_many("DecisionMade", [good[0], bad, good[1], good[2]])
    assert isinstance(results[1], EncodeError)
    assert Counter(type(r).__name__ for r in results)["RecordMetadata"] == 3
    landed = await read_all(settings, settings.catalog.input_topic("DecisionMade"), 3)
    assert len(landed) == 3


async def test_unreachable_broker_is_a_clear_error() -> None:
    settings = Settings(bootstrap_servers="127.0.0.1:1", request_timeout_ms=2000)
    with pytest.raises(BrokerUnavailable, match=r"cannot reach Kafka at 127\.0\.0\.1:1"):
        async with EventProducer(settings):
            pass


async def test_send_many_puts_each_event_where_send_puts_its_key_and_reports_its_position(
    settings: Settings,
) -> None:
    """send_many builds record batches itself: its events must land where a single ``send`` of
    the same key lands (aiokafka's own partitioner), and each result must name its record."""
    await create_topics(settings)
    samples = SampleEvents(seed=5)
    records = [samples.next("DecisionMade") for _ in range(300)]
    for n, record in enumerate(records):
        record["agent_id"] = f"agent-{n % 7}"
    async with EventProducer(settings) as producer:
        results = await producer.send_many("DecisionMade", records)
        single = {
            record["agent_id"]: await producer.send(
                "DecisionMade", samples.next("DecisionMade") | {"agent_id": record["agent_id"]}
            )
            for record in records[:7]
        }
    topic = settings.catalog.input_topic("DecisionMade")
    landed = {(m.partition, m.offset): m for m in await read_all(settings, topic, 307)}
    codec = AvroCodec()
    for record, result in zip(records, results, strict=True):
        assert not isinstance(result, BaseException), result
        assert result.partition == single[record["agent_id"]].partition
        message = landed[(result.partition, result.offset)]
        assert (
            codec.decode(message.value).record["metadata"]["event_id"]
            == record["metadata"]["event_id"]
        )
        assert result.timestamp == message.timestamp
