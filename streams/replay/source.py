"""Read a planned stretch of one topic: committed records only, in one fixed order.

Order: partitions ascending, each in offset order — the only order Kafka itself guarantees, and
one that a resumed export reproduces exactly from per-partition positions. Partitions are read
one after another with a single assigned consumer, so there is nothing to merge.

Every position handed out (``Chunk.next_offset``) means "all offsets below are done": records,
transaction markers and aborted writes alike, because the consumer's position moves past those
too. Under read_committed the end offsets are the last stable offsets, so an export never waits
for an open transaction.

Retention can delete the head of a partition before or while it is read. The consumer is built
with ``auto_offset_reset="none"`` so that this surfaces as :class:`Lost` (which offsets, why)
instead of a silent jump to the new log start.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaConnectionError, OffsetOutOfRangeError

from streams.errors import StreamsError
from streams.kafka import BrokerUnavailable, admin_client, committed_consumer
from streams.replay.ranges import AtTime, Bound, Lookups, OffsetRange, plan_ranges
from streams.settings import Settings

CONSUMER_TUNING: dict[str, Any] = {
    "auto_offset_reset": "none",
    "max_partition_fetch_bytes": 8 << 20,
    "fetch_max_bytes": 64 << 20,
}
"""Consumer options of every replay read (the benchmark's raw baseline uses the same)."""
MAX_RECORDS = 5_000
POLL_MS = 1_000


class UnknownTopic(StreamsError, LookupError):
    """The topic does not exist on the cluster."""

    def __init__(self, message: str, topic: str | None = None) -> None:
        super().__init__(message)
        self.topic = topic


@dataclass(frozen=True, slots=True)
class TopicLayout:
    partitions: list[int]
    compacted: bool
    """``cleanup.policy`` includes ``compact``: offsets inside the log may be missing."""


@dataclass(frozen=True, slots=True)
class Chunk:
    """Records of one partition, in offset order; every offset below ``next_offset`` is done."""

    partition: int
    records: list[ConsumerRecord[bytes, bytes]]
    next_offset: int


@dataclass(frozen=True, slots=True)
class Lost:
    """Offsets ``[first, end)`` of ``partition`` that retention deleted before they were read."""

    partition: int
    first: int
    end: int


async def describe_topic(settings: Settings, topic: str) -> TopicLayout:
    """Partitions and cleanup policy of ``topic`` (listing all topics never auto-creates one)."""
    admin = admin_client(settings)
    try:
        await admin.start()
    except KafkaConnectionError as exc:
        raise BrokerUnavailable(settings.bootstrap_servers, exc) from exc
    try:
        found = [t for t in await admin.describe_topics() if t["topic"] == topic]
        if not found:
            raise UnknownTopic(f"topic {topic!r} does not exist", topic)
        resource = ConfigResource(ConfigResourceType.TOPIC, topic, {"cleanup.policy": None})
        responses = await admin.describe_configs([resource])
    finally:
        await admin.close()
    policy = ""
    for response in responses:
        for described in response.to_object()["resources"]:
            for entry in described["config_entries"]:
                if entry["config_names"] == "cleanup.policy":
                    policy = entry["config_value"] or ""
    partitions = sorted(p["partition"] for p in found[0]["partitions"])
    return TopicLayout(partitions, "compact" in policy)


def open_consumer(settings: Settings) -> AIOKafkaConsumer:
    """An unsubscribed read_committed consumer; the reader assigns partitions itself."""
    return committed_consumer(settings, **CONSUMER_TUNING)


async def start_consumer(settings: Settings) -> AIOKafkaConsumer:
    consumer = open_consumer(settings)
    try:
        await consumer.start()
    except KafkaConnectionError as exc:
        await consumer.stop()
        raise BrokerUnavailable(settings.bootstrap_servers, exc) from exc
    return consumer


async def log_starts(
    consumer: AIOKafkaConsumer, topic: str, partitions: list[int]
) -> dict[int, int]:
    offsets = await consumer.beginning_offsets([TopicPartition(topic, p) for p in partitions])
    return {tp.partition: offset for tp, offset in offsets.items()}


async def _times(
    consumer: AIOKafkaConsumer, topic: str, partitions: list[int], bound: Bound
) -> dict[int, int | None]:
    if not isinstance(bound, AtTime):
        return {}
    found = await consumer.offsets_for_times(
        {TopicPartition(topic, p): bound.ms for p in partitions}
    )
    return {tp.partition: None if hit is None else hit.offset for tp, hit in found.items()}


async def lookups(
    consumer: AIOKafkaConsumer, topic: str, partitions: list[int], lower: Bound, upper: Bound
) -> Lookups:
    """Ask the broker everything :func:`plan_ranges` needs for these bounds."""
    tps = [TopicPartition(topic, p) for p in partitions]
    ends = await consumer.end_offsets(tps)
    return Lookups(
        partitions=partitions,
        log_start=await log_starts(consumer, topic, partitions),
        log_end={tp.partition: offset for tp, offset in ends.items()},
        lower_times=await _times(consumer, topic, partitions, lower),
        upper_times=await _times(consumer, topic, partitions, upper),
    )


async def resolve_plan(
    consumer: AIOKafkaConsumer, topic: str, partitions: list[int], lower: Bound, upper: Bound
) -> tuple[dict[int, OffsetRange], Lookups]:
    """The per-partition offset plan for the bounds, and the lookups it came from."""
    look = await lookups(consumer, topic, partitions, lower, upper)
    return plan_ranges(lower, upper, look), look


async def read_plan(
    consumer: AIOKafkaConsumer,
    topic: str,
    plan: Mapping[int, OffsetRange],
    positions: Mapping[int, int] | None = None,
) -> AsyncIterator[Chunk | Lost]:
    """Yield the records of ``plan`` partition by partition, from ``positions`` where given."""
    for partition in sorted(plan):
        end = plan[partition].end
        position = (positions or {}).get(partition, plan[partition].start)
        tp = TopicPartition(topic, partition)
        consumer.assign([tp])
        while position < end:
            start = (await log_starts(consumer, topic, [partition]))[partition]
            if position < start:
                yield Lost(partition, position, min(start, end))
                position = min(start, end)
                continue
            consumer.seek(tp, position)
            try:
                async for chunk in _chunks(consumer, tp, position, end):
                    yield chunk
                    position = chunk.next_offset
            except OffsetOutOfRangeError:
                if position >= (await log_starts(consumer, topic, [partition]))[partition]:
                    raise  # not retention: the log no longer reaches our position
                # retention moved the log start past our position: the loop reports it


class RangeUnavailable(StreamsError, LookupError):
    """The log ends before the planned end: the topic was recreated or truncated."""


async def _chunks(
    consumer: AIOKafkaConsumer, tp: TopicPartition, position: int, end: int
) -> AsyncIterator[Chunk]:
    """Chunks of one partition from ``position`` until ``end``, each advancing the position."""
    while position < end:
        fetched = await consumer.getmany(tp, timeout_ms=POLL_MS, max_records=MAX_RECORDS)
        records = fetched.get(tp, [])
        if records and records[-1].offset >= end:
            records = [r for r in records if r.offset < end]
        now = min(await consumer.position(tp), end)
        if not records and now == position:
            log_end = (await consumer.end_offsets([tp]))[tp]
            if log_end <= position:
                raise RangeUnavailable(
                    f"{tp.topic}[{tp.partition}] ends at offset {log_end}, before the planned "
                    f"end {end} (was the topic recreated or truncated?)"
                )
            continue
        position = now
        yield Chunk(tp.partition, records, position)


@dataclass(frozen=True, slots=True)
class PlannedRead:
    """A started consumer with the plan for one topic and bounds (see :func:`planned_read`)."""

    consumer: AIOKafkaConsumer
    topic: str
    layout: TopicLayout
    plan: dict[int, OffsetRange]
    lookups: Lookups

    def items(self) -> AsyncIterator[Chunk | Lost]:
        return read_plan(self.consumer, self.topic, self.plan)


@asynccontextmanager
async def planned_read(
    settings: Settings, topic: str, lower: Bound, upper: Bound
) -> AsyncIterator[PlannedRead]:
    """Describe the topic, start a consumer, resolve the plan; stop the consumer afterwards."""
    layout = await describe_topic(settings, topic)
    consumer = await start_consumer(settings)
    try:
        plan, look = await resolve_plan(consumer, topic, layout.partitions, lower, upper)
        yield PlannedRead(consumer, topic, layout, plan, look)
    finally:
        await consumer.stop()
