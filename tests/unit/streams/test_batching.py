"""send_records: a batch per partition, keys placed as aiokafka's send places them, a result each."""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka.errors import KafkaTimeoutError
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.producer.message_accumulator import BatchBuilder
from aiokafka.record.default_records import DefaultRecordBatch
from aiokafka.structs import RecordMetadata, TopicPartition

from streams.batching import Outgoing, partition_for, send_records

PARTITIONS = 6


class Cluster:
    def partitions_for_topic(self, topic: str) -> set[int]:
        return set(range(PARTITIONS))

    def available_partitions_for_topic(self, topic: str) -> set[int]:
        return set(range(PARTITIONS))


class Client:
    cluster = Cluster()

    async def _wait_on_metadata(self, topic: str) -> None:
        return None


class RecordingProducer:
    """The aiokafka producer calls send_records makes; acknowledges each batch at its base
    offset (10 per batch so far), or fails the partitions named in ``failing``."""

    def __init__(self, batch_bytes: int = 16_384, failing: frozenset[int] = frozenset()) -> None:
        self.client = Client()
        self._partitioner = DefaultPartitioner()
        self.batch_bytes = batch_bytes
        self.failing = failing
        self.batches: list[tuple[str, int, list[bytes]]] = []
        self.singles: list[bytes] = []

    def create_batch(self) -> BatchBuilder:
        return BatchBuilder(self.batch_bytes, 0, is_transactional=False)

    async def send_batch(self, batch: BatchBuilder, topic: str, *, partition: int) -> Any:
        values = [r.value for r in DefaultRecordBatch(bytearray(batch._build()))]
        self.batches.append((topic, partition, values))
        ack = asyncio.get_running_loop().create_future()
        if partition in self.failing:
            ack.set_exception(KafkaTimeoutError())
        else:
            base = 10 * len(self.batches)
            ack.set_result(
                RecordMetadata(topic, partition, TopicPartition(topic, partition), base, -1, 0, 0)
            )
        return ack

    async def send(self, topic: str, value: bytes, *, key: Any, headers: Any) -> Any:
        self.singles.append(value)
        ack = asyncio.get_running_loop().create_future()
        ack.set_result(RecordMetadata(topic, 3, TopicPartition(topic, 3), 99, 1234, 1, 0))
        return ack


def test_a_key_goes_where_aiokafka_puts_it() -> None:
    producer = RecordingProducer()
    for n in range(200):
        key = f"agent-{n}".encode()
        expected = DefaultPartitioner()(key, list(range(PARTITIONS)), list(range(PARTITIONS)))
        assert partition_for(producer, "t", key) == expected


async def test_records_are_batched_per_partition_in_order_with_a_result_each() -> None:
    producer = RecordingProducer()
    keys = [f"agent-{n % 4}".encode() for n in range(12)]
    records = [Outgoing("t", None, key, b"v%d" % n) for n, key in enumerate(keys)]
    results = await send_records(producer, [*records, Outgoing("t", None, None, b"no key")])
    assert producer.singles == [b"no key"]
    for topic, partition, values in producer.batches:
        mine = [
            r.value for r in records if partition_for(producer, topic, r.key or b"") == partition
        ]
        assert values == mine  # every record of the partition, in order, in one batch
    for record, result in zip(records, results, strict=False):
        assert isinstance(result, RecordMetadata)
        assert result.partition == partition_for(producer, "t", record.key or b"")
        (base,) = [10 * (i + 1) for i, b in enumerate(producer.batches) if b[1] == result.partition]
        same_partition = [
            r.value
            for r in records
            if partition_for(producer, "t", r.key or b"") == result.partition
        ]
        position = same_partition.index(record.value)
        assert result.offset == base + position
        assert (result.timestamp_type, result.timestamp > 0) == (0, True)  # the record's own time
    assert isinstance(results[-1], RecordMetadata) and results[-1].offset == 99


async def test_a_full_batch_rolls_over_and_a_failed_batch_fails_only_its_records() -> None:
    producer = RecordingProducer(batch_bytes=200, failing=frozenset({1}))
    values = [bytes([n]) * 60 for n in range(5)]
    records = [Outgoing("t", 0, None, v) for v in values] + [Outgoing("t", 1, None, b"x")]
    results = await send_records(producer, records)
    assert [values for _, p, values in producer.batches if p == 0] == [
        values[:2],
        values[2:4],
        values[4:],
    ]
    assert all(isinstance(r, RecordMetadata) for r in results[:5])
    assert isinstance(results[5], KafkaTimeoutError)
