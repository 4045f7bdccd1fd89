"""Load generators and the latency reader of ``make bench-pipeline``, each a process of its own.

A load generator that shares the measured process (or its event loop) takes CPU from it and adds
its own scheduling delays to every latency; so :mod:`tests.bench.pipeline` starts each of these as
``python -m tests.bench.loadgen COMMAND CONFIG_JSON`` and samples its CPU separately. Each prints
``READY`` when it is set up (if it has a setup worth waiting for) and one ``RESULT <json>`` line
when done.

- ``fill``: ``count`` events of the six types, produced ahead through the producer SDK;
- ``steady``: ``total`` events at ``rate`` per second, encoded before the start (``READY``) so
  that encoding does not slow the schedule, sent from ``delay_s`` after it without waiting for
  acknowledgements; reports when it started and how far it ever fell behind its schedule;
- ``read``: reads the output topics with ``read_committed`` from their end as of its start, and
  records for every event the time it became readable minus its input record's Kafka timestamp
  (``enrichment.ingested_at``), until ``expect`` events ingested at or after ``since_ms`` arrived.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from schemas.codec import AvroCodec
from schemas.contract import EVENT_TYPES, partition_key
from streams.kafka import committed_consumer, reliable_producer
from streams.producer import EventProducer
from streams.samples import SampleEvents
from streams.settings import Settings

RESULT = "RESULT "
READY = "READY"


def report(result: dict[str, Any]) -> None:
    print(RESULT + orjson.dumps(result).decode(), flush=True)


def _settings(config: dict[str, Any]) -> Settings:
    return Settings(bootstrap_servers=config["bootstrap"], input_prefix=config["input_prefix"])


async def fill(config: dict[str, Any]) -> None:
    settings, count = _settings(config), int(config["count"])
    samples = SampleEvents(seed=int(config.get("seed", 3)), source="bench")
    records = [samples.any() for _ in range(count)]
    async with EventProducer(settings) as sdk:
        for start in range(0, count, 5_000):
            chunk = records[start : start + 5_000]
            for event_type in EVENT_TYPES:
                await sdk.send_many(event_type, [r for t, r in chunk if t == event_type])
    report({"sent": count})


async def steady(config: dict[str, Any]) -> None:
    settings = _settings(config)
    rate, total = float(config["rate"]), int(config["total"])
    samples, codec = SampleEvents(seed=int(config.get("seed", 9)), source="latency"), AvroCodec()
    encoded = []
    for _ in range(total):
        event_type, record = samples.any()
        key = partition_key(event_type, record).encode()
        encoded.append(
            (settings.catalog.input_topic(event_type), key, codec.encode(event_type, record))
        )
    producer = reliable_producer(settings, linger_ms=0)
    await producer.start()
    try:
        print(READY, flush=True)
        start_at = time.time() + float(config.get("delay_s", 0.5))
        await asyncio.sleep(max(0.0, start_at - time.time()))
        sent, behind_s, pending = 0, 0.0, []
        while sent < total:
            due = min(total, int((time.time() - start_at) * rate) + 1)
            while sent < due:
                topic, key, value = encoded[sent]
                pending.append(await producer.send(topic, value, key=key))
                sent += 1
            behind_s = max(behind_s, time.time() - (start_at + sent / rate))
            if len(pending) >= 5_000:
                await asyncio.gather(*pending)
                pending.clear()
            await asyncio.sleep(0.001)
        finished = time.time()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    report(
        {
            "sent": sent,
            "start_at": start_at,
            "seconds": finished - start_at,
            "behind_ms": behind_s * 1000,
        }
    )


async def read(config: dict[str, Any]) -> None:
    """See the module docstring; writes ``[[ingested_at_ms, latency_ms], ...]`` to ``out``."""
    settings = Settings(bootstrap_servers=config["bootstrap"])
    expect, since_ms = int(config["expect"]), float(config["since_ms"])
    json_output = config["format"] == "json"
    codec = AvroCodec()
    consumer = committed_consumer(settings, max_partition_fetch_bytes=8 << 20)
    await consumer.start()
    samples: list[tuple[int, float]] = []
    try:
        await _assign_at_end(consumer, config["topics"])
        print(READY, flush=True)
        deadline = time.monotonic() + float(config["timeout_s"])
        counted = 0
        while counted < expect and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=200)
            now_ms = time.time() * 1000
            for messages in batches.values():
                for message in messages:
                    for ingested in _ingested_at(message.value, codec, json_output):
                        if ingested >= since_ms:
                            counted += 1
                            samples.append((ingested, now_ms - ingested))
    finally:
        await consumer.stop()
    _write(Path(config["out"]), orjson.dumps(samples))
    report({"received": counted})


def _write(path: Path, data: bytes) -> None:
    """After the measurement: blocking is harmless here."""
    path.write_bytes(data)


async def _assign_at_end(consumer: AIOKafkaConsumer, topics: list[str]) -> None:
    partitions = []
    for topic in topics:
        for _ in range(100):
            found = consumer.partitions_for_topic(topic)
            if found:
                break
            await consumer._client.force_metadata_update()
            await asyncio.sleep(0.1)
        partitions += [TopicPartition(topic, p) for p in sorted(found or ())]
    consumer.assign(partitions)
    await consumer.seek_to_end(*partitions)
    for tp in partitions:
        await consumer.position(tp)


def _ingested_at(value: bytes | None, codec: AvroCodec, json_output: bool) -> list[int]:
    if value is None:
        return []
    if json_output:
        return [orjson.loads(value)["enrichment"]["ingested_at"]]
    _, batch = codec.decode(value)
    return [event["enrichment"]["ingested_at"] for event in batch["events"]]


COMMANDS = {"fill": fill, "steady": steady, "read": read}

if __name__ == "__main__":
    asyncio.run(COMMANDS[sys.argv[1]](orjson.loads(sys.argv[2])))
