"""Send a delivery's records as Kafka record batches, one per destination partition.

A delivery carries a few EventBatches and many small changelog records (a dedupe sighting per
event). Sending each record on its own, through Faust's producer and then aiokafka's ``send``,
costs tens of microseconds of Python per record: sensors, a lock, metadata checks, a future. The
records of a delivery already know their partition, so they are appended to one aiokafka
``BatchBuilder`` per partition instead — a cheap append each — and each builder is queued once
(``send_batch``, which also adds the partition to the open transaction, like ``send``). Records
keep their order within a partition: builders of a partition are queued in order, and aiokafka
sends a partition's batches in order.

A builder holds up to the producer's batch size; a record that does not fit starts the next
builder (the first record of a builder always fits, whatever its size). Records without a
partition (dead letters, whose key chooses) go through ``send``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from streams.worker.output import Outgoing


async def send_batched(producer: Any, records: Iterable[Outgoing]) -> None:
    """Send ``records`` with the aiokafka ``producer``; return once every one is acknowledged."""
    by_partition: dict[tuple[str, int], list[Outgoing]] = {}
    acks = []
    for record in records:
        if record.partition is None:
            acks.append(
                await producer.send(
                    record.topic, record.value, key=record.key, headers=record.headers
                )
            )
        else:
            by_partition.setdefault((record.topic, record.partition), []).append(record)
    for (topic, partition), group in by_partition.items():
        batch = producer.create_batch()
        for record in group:
            if _append(batch, record) is None:
                batch.close()
                acks.append(await producer.send_batch(batch, topic, partition=partition))
                batch = producer.create_batch()
                _append(batch, record)
        batch.close()
        acks.append(await producer.send_batch(batch, topic, partition=partition))
    await asyncio.gather(*acks)


def _append(batch: Any, record: Outgoing) -> Any:
    return batch.append(
        timestamp=None, key=record.key, value=record.value, headers=record.headers or []
    )
