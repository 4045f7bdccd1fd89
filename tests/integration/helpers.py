"""Small helpers for integration tests: read back what landed in a topic."""

from __future__ import annotations

import time

from aiokafka import AIOKafkaConsumer, ConsumerRecord

from streams.kafka import committed_consumer
from streams.settings import Settings


async def read_all(
    settings: Settings, topic: str, expected: int, timeout_s: float = 60.0
) -> list[ConsumerRecord[bytes, bytes]]:
    """Read a topic from the beginning until ``expected`` records arrived or the timeout passed."""
    consumer: AIOKafkaConsumer = committed_consumer(
        settings, topic, max_partition_fetch_bytes=4 << 20
    )
    await consumer.start()
    records: list[ConsumerRecord[bytes, bytes]] = []
    deadline = time.monotonic() + timeout_s
    try:
        while len(records) < expected and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=500, max_records=10_000)
            for batch in batches.values():
                records.extend(batch)
    finally:
        await consumer.stop()
    return records


def settings_env(settings: Settings) -> dict[str, str]:
    """Environment variables that make a child process use the same settings."""
    import os

    env = dict(os.environ)
    for name in ("bootstrap_servers", "input_prefix", "live_prefix", "dlq_topic",
                 "agents_topic", "audit_topic", "partitions"):  # fmt: skip
        env[f"REGSTREAM_{name.upper()}"] = str(getattr(settings, name))
    return env
