"""Kafka reads shared by the readers: decoding live records, and resolving ``ResolveTopic``.

* :func:`to_record` turns one ``live.<type>`` ConsumerRecord into the core's
  :class:`~gateway.core.records.Record`, decoded once for every session. A record that does not
  decode still becomes a Record (with no events) so positions advance past it; it is counted
  and logged (STYLE.md §8: poison records are a policy, never a silent skip nor a stuck reader).
* :class:`Resolver` answers :class:`~gateway.core.commands.ResolveTopic`: the epoch (Kafka topic id,
  see ``topic_id.py``), log bounds read at the readers' isolation level (read_committed: the end
  is the last stable offset, because live.* is written with transactions) and offsets for times.
  Concurrent resolves of one topic share one bounds request (single flight), which is what keeps
  a resume storm of thousands of clients from becoming thousands of ListOffsets round trips.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition

from gateway.core.commands import LogBounds, TopicSnapshot
from gateway.core.errors import UnknownTopic
from gateway.core.records import Record, weight
from gateway.io.metrics import GatewayMetrics
from gateway.io.topic_id import describe_topic
from schemas.codec import Codec
from schemas.errors import SchemaError
from streams.kafka import committed_consumer, start_client
from streams.settings import Settings

log = structlog.get_logger("gateway.kafka")
BATCH = "EventBatch"


def reader_consumer(settings: Settings, **overrides: Any) -> AIOKafkaConsumer:
    """A group-less read_committed consumer; ``auto_offset_reset="none"`` so a position that
    fell below the log start raises instead of jumping silently (a jump is a gap to report)."""
    options: dict[str, Any] = {
        "group_id": None,
        "auto_offset_reset": "none",
        "fetch_max_wait_ms": 100,
        "max_partition_fetch_bytes": 2 << 20,
    }
    options.update(overrides)
    return committed_consumer(settings, **options)


def to_record(
    codec: Codec, name: str, msg: Any, prev_offset: int, metrics: GatewayMetrics
) -> Record:
    """The core's view of one live record (``name`` is the client-facing topic name)."""
    try:
        batch: dict[str, Any] = codec.decode_expecting(BATCH, msg.value).record
    except (SchemaError, TypeError, ValueError) as exc:
        metrics.decode_errors.inc()
        log.warning(
            "live record skipped: does not decode",
            topic=msg.topic,
            partition=msg.partition,
            offset=msg.offset,
            error=f"{type(exc).__name__}: {exc}"[:200],
        )
        batch = {"event_type": name, "events": []}
    return Record(
        name,
        msg.partition,
        msg.offset,
        msg.timestamp,
        batch,
        prev_offset=prev_offset,
        size=len(msg.value or b""),
    )


class DecodedCache:
    """Decoded live records and their serializations, shared by every reader of this process.

    After a restart or during a storm, many clients catch up over the same offsets; each record
    is then decoded once and serialized once per filter, whichever reader met it first (the
    tail included). Reader-specific ``prev_offset`` stays per reader: a cache hit is a new
    :class:`Record` sharing the decoded batch and the serialization memo. Keys include the
    record's timestamp and size, so a recreated topic's record at a reused offset never matches.
    Bounded by events held, a big event weighing what its size does (oldest first out).
    """

    def __init__(self, max_events: int) -> None:
        self.max_events = max_events
        self._items: OrderedDict[tuple[str, int, int, int, int], Record] = OrderedDict()
        self.held = 0  # events held, big ones weighed by size (``records.weight``)

    def record(
        self, codec: Codec, name: str, msg: Any, prev_offset: int, metrics: GatewayMetrics
    ) -> Record:
        key = (msg.topic, msg.partition, msg.offset, msg.timestamp, len(msg.value or b""))
        hit = self._items.get(key)
        if hit is not None:
            return Record(
                name,
                msg.partition,
                msg.offset,
                msg.timestamp,
                hit.batch,
                prev_offset=prev_offset,
                size=hit.size,
                _encoded=hit._encoded,
            )
        record = to_record(codec, name, msg, prev_offset, metrics)
        if self.max_events > 0:
            self._items[key] = record
            self.held += weight(record)
            while self.held > self.max_events and self._items:
                _, old = self._items.popitem(last=False)
                self.held -= weight(old)
        return record


class Resolver:
    """Topic snapshots for subscriptions, from one metadata consumer."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._consumer = reader_consumer(settings)
        self._inflight: dict[str, asyncio.Future[TopicSnapshot]] = {}
        self._partitions: dict[str, tuple[int, ...]] = {}

    async def start(self) -> None:
        await start_client(self._consumer, self._settings)

    async def stop(self) -> None:
        await self._consumer.stop()

    async def ping(self) -> bool:
        """Whether a broker answers a metadata request (for /readyz)."""
        try:
            await asyncio.wait_for(self._consumer.topics(), 5)
            return True
        except Exception:  # any failure means "not ready"; the reason is in the broker's logs
            return False

    async def epoch(self, kafka_topic: str) -> str | None:
        info = await describe_topic(self._consumer._client, kafka_topic)
        return None if info is None else info.epoch

    async def snapshot(self, kafka_topic: str, times: Sequence[int] = ()) -> TopicSnapshot:
        base = self._inflight.get(kafka_topic)
        if base is None:
            base = asyncio.ensure_future(self._bounds(kafka_topic))
            self._inflight[kafka_topic] = base
            base.add_done_callback(lambda _: self._inflight.pop(kafka_topic, None))
        snap = await asyncio.shield(base)
        if not times:
            return snap
        found: dict[int, dict[int, int | None]] = {}
        tps = [TopicPartition(kafka_topic, p) for p in snap.bounds]
        for ts in times:
            answer = await self._consumer.offsets_for_times(dict.fromkeys(tps, ts))
            found[ts] = {tp.partition: (o.offset if o else None) for tp, o in answer.items()}
        return TopicSnapshot(snap.epoch, snap.bounds, found)

    async def _bounds(self, kafka_topic: str) -> TopicSnapshot:
        """Epoch and bounds in one round trip when the partitions are known from last time:
        the metadata and both ListOffsets requests go out together, and the fresh metadata
        confirms the partitions (or the offsets are read again for the new set)."""
        known = self._partitions.get(kafka_topic)
        if known:
            info, (starts, ends) = await asyncio.gather(
                describe_topic(self._consumer._client, kafka_topic),
                self._offsets(kafka_topic, known),
            )
        else:
            info = await describe_topic(self._consumer._client, kafka_topic)
        if info is None or not info.partitions:
            self._partitions.pop(kafka_topic, None)
            raise UnknownTopic("the topic does not exist (yet)")
        if info.partitions != known:
            self._partitions[kafka_topic] = info.partitions
            starts, ends = await self._offsets(kafka_topic, info.partitions)
        bounds = {p: LogBounds(starts[p], max(starts[p], ends[p])) for p in info.partitions}
        return TopicSnapshot(info.epoch, bounds)

    async def _offsets(
        self, kafka_topic: str, partitions: tuple[int, ...]
    ) -> tuple[dict[int, int], dict[int, int]]:
        tps = [TopicPartition(kafka_topic, p) for p in partitions]
        starts, ends = await asyncio.gather(  # ends at read_committed: last stable offsets
            self._consumer.beginning_offsets(tps), self._consumer.end_offsets(tps)
        )
        return {tp.partition: o for tp, o in starts.items()}, {
            tp.partition: o for tp, o in ends.items()
        }

    async def partitions(self, kafka_topic: str) -> tuple[str, tuple[int, ...]] | None:
        info = await describe_topic(self._consumer._client, kafka_topic)
        return None if info is None else (info.epoch, info.partitions)
