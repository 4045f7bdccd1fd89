"""The demo producer of `make dev`: realistic events of all six types at a steady rate."""

from __future__ import annotations

import asyncio
import time

from streams.producer import EventProducer
from streams.samples import SampleEvents
from streams.settings import Settings


async def run_demo(settings: Settings, rate: float, limit: int | None = None) -> int:
    """Publish ``rate`` events per second (all types mixed) until cancelled or ``limit`` is sent."""
    samples = SampleEvents(seed=int(time.time()))
    interval = 1.0 / rate
    sent = 0
    async with EventProducer(settings) as producer:
        next_at = time.monotonic()
        while limit is None or sent < limit:
            event_type, record = samples.any()
            await producer.send(event_type, record)
            sent += 1
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
    return sent
