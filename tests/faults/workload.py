"""The workload around the checker: producers that log what Kafka acknowledged, and dashboard
clients (the Python client SDK) that log what they received.

Producers go through the product's SDK (idempotent, acks=all), at a steady rate, in chunks
(``send_many``): one chunk is acknowledged before the next is sent, so the acknowledged offsets of
a key follow its send order. Each producer owns its event types, so no two producers share a key.
Mixed in on purpose: an event with a timestamp a day ahead now and then (the worker dead-letters
it), an earlier event sent again (the worker filters it as a duplicate), and DecisionMade events
below the worker's INFO threshold (filtered). A send that fails is sent again later and logged
as ``uncertain``: its first attempt may have landed too.

Clients subscribe from ``earliest`` to their event types and keep every event and gap the SDK
yields, with the time it came (for time-to-recover).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from gateway.client import Backoff, Client, Event, Gap
from schemas.contract import partition_key
from streams.producer import EventProducer
from streams.samples import SampleEvents
from streams.settings import Settings
from tests.faults.checker import Ack, ClientLog, GapSeen, Receipt

DAY_MS = 86_400_000
CHUNK_S = 0.1


@dataclass
class Producer:
    """At least ``count`` events of ``types`` at ``rate`` per second, and on until ``enough`` is
    set (the faults strike a system in the middle of a stream); ``acks`` is its log."""

    settings: Settings
    name: str
    types: tuple[str, ...]
    count: int
    rate: float
    seed: int
    enough: asyncio.Event = field(default_factory=asyncio.Event)
    acks: list[Ack] = field(default_factory=list)
    acked_at: dict[str, float] = field(default_factory=dict)
    failed_sends: int = 0

    async def run(self) -> None:
        rng = random.Random(self.seed)
        samples = SampleEvents(seed=self.seed, source=self.name)
        sent: list[tuple[str, dict[str, Any]]] = []
        retry: list[tuple[str, dict[str, Any]]] = []
        per_chunk = max(1, round(self.rate * CHUNK_S))
        started, made = time.monotonic(), 0
        async with EventProducer(self.settings, request_timeout_ms=60_000) as producer:
            while made < self.count or not self.enough.is_set() or retry:
                chunk, retry = retry, []
                uncertain = {id(record) for _, record in chunk}
                while len(chunk) < per_chunk and (made < self.count or not self.enough.is_set()):
                    chunk.append(self._next(rng, samples, sent))
                    made += 1
                await self._send(producer, chunk, uncertain, retry)
                await asyncio.sleep(max(0.0, started + made / self.rate - time.monotonic()))

    def _next(
        self, rng: random.Random, samples: SampleEvents, sent: list[tuple[str, dict[str, Any]]]
    ) -> tuple[str, dict[str, Any]]:
        roll = rng.random()
        if roll < 0.02 and sent:
            return rng.choice(sent)  # sent again: the worker's dedupe filters it
        event_type = rng.choice(self.types)
        record = samples.next(event_type)
        if roll < 0.04:
            record["metadata"]["occurred_at"] += DAY_MS  # from the future: dead-lettered
        else:
            sent.append((event_type, record))
        return event_type, record

    async def _send(
        self,
        producer: EventProducer,
        chunk: list[tuple[str, dict[str, Any]]],
        uncertain: set[int],
        retry: list[tuple[str, dict[str, Any]]],
    ) -> None:
        by_type: dict[str, list[dict[str, Any]]] = {}
        for event_type, record in chunk:
            by_type.setdefault(event_type, []).append(record)
        for event_type, records in by_type.items():
            results = await producer.send_many(event_type, records)
            now = time.monotonic()
            for record, result in zip(records, results, strict=True):
                if isinstance(result, BaseException):
                    self.failed_sends += 1
                    retry.append((event_type, record))
                    continue
                event_id = record["metadata"]["event_id"]
                key = f"{event_type}:{partition_key(event_type, record)}"
                self.acks.append(Ack(event_id, event_type, key, result.partition, result.offset,
                                     id(record) in uncertain))  # fmt: skip
                self.acked_at.setdefault(event_id, now)


@dataclass
class Watcher:
    """A dashboard: the client SDK subscribed from ``earliest`` to ``types``, logging."""

    name: str
    url: str
    jwt: str
    types: tuple[str, ...]
    log: ClientLog = field(init=False)
    received_at: list[float] = field(default_factory=list)
    connections: int = 0

    def __post_init__(self) -> None:
        self.log = ClientLog(self.name, frozenset(self.types))

    async def run(self, subscribed: asyncio.Event) -> None:
        backoff = Backoff(base_s=0.05, cap_s=1.0, stable_s=2.0)
        client = Client(self.url, token=self.jwt, backoff=backoff, open_timeout_s=5)
        try:
            feeds = [client.subscribe(t, start="earliest", id=t) for t in self.types]
            readers = [asyncio.create_task(self._read(feed)) for feed in feeds]
            await asyncio.gather(*(feed.subscribed.wait() for feed in feeds))
            subscribed.set()
            await asyncio.gather(*readers)
        finally:
            self.connections = client.connections
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.close(), 5)

    async def _read(self, feed: Any) -> None:
        async for item in feed:
            if isinstance(item, Event):
                p = item.position
                where = (p.topic, p.partition, p.offset, p.index)
                self.log.receipts.append(Receipt(sys.intern(item.event_id), where))
                self.received_at.append(time.monotonic())
            elif isinstance(item, Gap):
                self.log.gaps.append(GapSeen(item.topic, item.partition, item.range, item.reason))
