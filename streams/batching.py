"""Send many records as Kafka record batches, one per partition, with a result per record.

aiokafka's ``send`` costs tens of microseconds of Python per record — a metadata check, a size
estimate, the pure-Python murmur2 partitioner, a future — which is as much as validating and
encoding a regstream event. When many records are sent at once, each is appended to one
``BatchBuilder`` per partition instead (a cheap append) and each builder is queued once
(``send_batch``, which also adds the partition to an open transaction, as ``send`` does).
Records keep their order within a partition: builders of a partition are queued in order and
aiokafka sends a partition's batches in order.

Partitions are chosen as ``send`` chooses them: a record's own partition if it has one, else the
producer's partitioner over the key. For Kafka's default partitioner (murmur2 of the key modulo
the partition count, the same as Java clients) the hash is remembered per key, within a bound,
since producers send many events of the same entities. A record without a key or partition
goes through ``send``, which picks a partition at random.

A builder holds up to the producer's batch size; a record that does not fit starts the next one
(the first record of a builder always fits, whatever its size).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, NamedTuple

from aiokafka.partitioner import DefaultPartitioner, murmur2
from aiokafka.structs import RecordMetadata

Headers = list[tuple[str, bytes]]


class Outgoing(NamedTuple):
    """One record to produce. ``partition`` None lets the key choose."""

    topic: str
    partition: int | None
    key: bytes | None
    value: bytes | None
    headers: Headers | None = None


_key_hash = lru_cache(maxsize=65_536)(lambda key: murmur2(key) & 0x7FFFFFFF)


def partition_for(producer: Any, topic: str, key: bytes) -> int:
    """The partition ``producer.send(topic, key=key)`` would pick (metadata must be loaded)."""
    partitions = sorted(producer.client.cluster.partitions_for_topic(topic))
    if isinstance(producer._partitioner, DefaultPartitioner):
        return partitions[_key_hash(key) % len(partitions)]
    available = list(producer.client.cluster.available_partitions_for_topic(topic))
    return int(producer._partitioner(key, partitions, available))


async def send_records(
    producer: Any, records: Sequence[Outgoing]
) -> list[RecordMetadata | BaseException]:
    """Send ``records`` with the aiokafka ``producer``; once every one is settled, return its
    metadata or its error, in order."""
    for topic in {record.topic for record in records}:
        await producer.client._wait_on_metadata(topic)
    by_partition: dict[tuple[str, int], list[int]] = {}
    singles: dict[int, asyncio.Future[RecordMetadata]] = {}
    for index, record in enumerate(records):
        partition = record.partition
        if partition is None and record.key is not None:
            partition = partition_for(producer, record.topic, record.key)
        if partition is None:
            singles[index] = await producer.send(
                record.topic, record.value, key=record.key, headers=record.headers
            )
        else:
            by_partition.setdefault((record.topic, partition), []).append(index)
    queued: list[tuple[list[tuple[int, Any]], asyncio.Future[RecordMetadata]]] = []
    for (topic, partition), indexes in by_partition.items():
        batch, members = producer.create_batch(), list[tuple[int, Any]]()
        for index in indexes:
            appended = _append(batch, records[index])
            if appended is None:  # full: queue it, start the next one
                queued.append((members, await _queue(producer, batch, topic, partition)))
                batch, members = producer.create_batch(), []
                appended = _append(batch, records[index])
            members.append((index, appended))
        queued.append((members, await _queue(producer, batch, topic, partition)))
    results: dict[int, RecordMetadata | BaseException] = {}
    for members, future in queued:
        try:
            base = await future
        except Exception as exc:
            results.update((index, exc) for index, _ in members)
        else:
            results.update((index, _each(base, appended)) for index, appended in members)
    for index, single in singles.items():
        try:
            results[index] = await single
        except Exception as exc:
            results[index] = exc
    return [results[index] for index in range(len(records))]


def _each(batch: RecordMetadata, appended: Any) -> RecordMetadata:
    """One record's metadata from its batch's, as aiokafka gives it to ``send``'s future: the
    batch's base offset plus the record's, and the record's own timestamp unless the broker set
    one (a topic with LogAppendTime)."""
    if batch.timestamp == -1:
        return batch._replace(
            offset=batch.offset + appended.offset, timestamp=appended.timestamp, timestamp_type=0
        )
    return batch._replace(offset=batch.offset + appended.offset, timestamp_type=1)


def _append(batch: Any, record: Outgoing) -> Any:
    return batch.append(
        timestamp=None, key=record.key, value=record.value, headers=record.headers or []
    )


async def _queue(
    producer: Any, batch: Any, topic: str, partition: int
) -> asyncio.Future[RecordMetadata]:
    batch.close()
    future: asyncio.Future[RecordMetadata] = await producer.send_batch(
        batch, topic, partition=partition
    )
    return future
