"""The raw aiokafka baseline of ``make bench-pipeline``: copy the input bytes, nothing else.

Run as a process of its own (``python -m tests.bench.rawcopy CONFIG_JSON``). It reads every input
topic from the start in a fresh group and copies each record's key and value, unchanged, to the
same partition number of one sink topic:

- at-least-once: idempotent producer (acks=all), offsets committed per fetched batch after its
  sends are acknowledged;
- exactly-once: one transaction per fetched batch, with the offsets in it.

Timed from its first fetched record to its last commit; prints ``RESULT {"events", "first",
"last"}`` (epoch seconds), so the orchestrator can look up the CPU every process spent meanwhile.
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from schemas.contract import EVENT_TYPES
from streams.kafka import reliable_producer
from streams.settings import Settings
from tests.bench.loadgen import report


async def copy(config: dict[str, Any]) -> None:
    settings = Settings(bootstrap_servers=config["bootstrap"], input_prefix=config["input_prefix"])
    count, sink = int(config["count"]), config["sink"]
    transactional = config["guarantee"] == "exactly_once"
    group = f"raw-{uuid.uuid4().hex[:8]}"
    consumer = AIOKafkaConsumer(
        *(settings.catalog.input_topic(t) for t in EVENT_TYPES),
        bootstrap_servers=settings.bootstrap_servers,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        max_partition_fetch_bytes=4 << 20,
    )
    producer: AIOKafkaProducer = reliable_producer(
        settings, transactional_id=f"{group}-tx" if transactional else None
    )
    await consumer.start()
    await producer.start()
    copied, first = 0, 0.0
    try:
        while copied < count:
            batches = await consumer.getmany(timeout_ms=500, max_records=2_000)
            if not batches:
                continue
            first = first or time.time()
            if transactional:
                await producer.begin_transaction()
            futures = [
                await producer.send(sink, m.value, key=m.key, partition=tp.partition)
                for tp, messages in batches.items()
                for m in messages
            ]
            await asyncio.gather(*futures)
            offsets = {tp: messages[-1].offset + 1 for tp, messages in batches.items()}
            if transactional:
                await producer.send_offsets_to_transaction(offsets, group)
                await producer.commit_transaction()
            else:
                await consumer.commit(offsets)
            copied += sum(len(m) for m in batches.values())
        last = time.time()
    finally:
        await consumer.stop()
        await producer.stop()
    report({"events": copied, "first": first, "last": last})


if __name__ == "__main__":
    asyncio.run(copy(orjson.loads(sys.argv[1])))
