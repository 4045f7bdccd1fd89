"""Reading a whole topic without a consumer group (directory, ledger, dead letters).

A consumer created with topics and no ``group_id`` gets every partition of them assigned once its
metadata arrives; these helpers wait for that and read up to the end offsets of that moment.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition


async def assigned_partitions(
    consumer: AIOKafkaConsumer, timeout_s: float = 30.0
) -> list[TopicPartition]:
    """The partitions a started group-less consumer was given, once it has them."""
    deadline = time.monotonic() + timeout_s
    while not consumer.assignment():
        if time.monotonic() > deadline:
            raise TimeoutError(f"no partitions assigned within {timeout_s:.0f} s")
        await asyncio.sleep(0.05)
    return sorted(consumer.assignment())


async def read_to_end(
    consumer: AIOKafkaConsumer, timeout_s: float = 60.0
) -> AsyncIterator[ConsumerRecord[bytes, bytes]]:
    """Every record from the current positions up to the end offsets as of the call."""
    tps = await assigned_partitions(consumer, timeout_s)
    ends = await consumer.end_offsets(tps)
    deadline = time.monotonic() + timeout_s
    while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"reading {sorted({tp.topic for tp in tps})} took over {timeout_s:.0f} s"
            )
        batches = await consumer.getmany(timeout_ms=200)
        for messages in batches.values():
            for message in messages:
                yield message
