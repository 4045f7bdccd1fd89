"""Chaos, short variant (runs in `make test`): clients drop and resume at random while events
flow and the gateway is SIGKILLed and restarted; every client must end with every event exactly
once after dedupe by position, per-partition order kept, and no gap. The long variant (50
clients, 2k events/s, 60 s, two SIGKILLs) is tests/chaos/test_gateway_chaos.py, on the same code.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from streams.kafka import reliable_producer
from streams.samples import SampleEvents
from streams.settings import Settings
from streams.topics import create_topics
from tests.integration.test_gateway_helpers import GatewayProcess, batch_value, token

TOPIC = "SimulationUpdate"
Pos = tuple[int, int, int]


@dataclass
class ChaosClient:
    """One dashboard that keeps dropping its connection and resuming from its last token."""

    index: int
    jwt: str
    rng: random.Random
    seen: set[Pos] = field(default_factory=set)
    last: dict[int, tuple[int, int]] = field(default_factory=dict)
    disorder: list[str] = field(default_factory=list)
    gaps: list[dict[str, Any]] = field(default_factory=list)
    fatal: list[str] = field(default_factory=list)
    token: str | None = None
    sessions: int = 0
    subscribed: asyncio.Event = field(default_factory=asyncio.Event)

    def take(self, events: list[dict[str, Any]]) -> None:
        for e in events:
            pos = e["position"]
            key = (pos["partition"], pos["offset"], pos["index"])
            if key in self.seen:
                continue  # a duplicate after resume: dedupe by position
            prev = self.last.get(key[0])
            if prev is not None and (key[1], key[2]) <= prev:
                self.disorder.append(f"{key} after {prev}")
            self.last[key[0]] = (key[1], key[2])
            self.seen.add(key)

    def frame(self, raw: str | bytes) -> None:
        f = orjson.loads(raw)
        op = f["op"]
        if op == "batch":
            self.take(f["events"])
        elif op == "event":
            self.take([f["event"]])
        elif op == "checkpoint":
            self.token = f["token"]
        elif op == "subscribed":
            self.subscribed.set()
        elif op == "gap":
            self.gaps.append(f)
        elif op == "error":
            self.fatal.append(f"error frame {f}")

    async def run(self, url: list[str], calm: asyncio.Event, done: asyncio.Event) -> None:
        while not done.is_set():
            try:
                ws = await asyncio.wait_for(
                    connect(
                        url[0],
                        additional_headers={"Authorization": f"Bearer {self.jwt}"},
                        max_size=None,
                    ),
                    5,
                )
            except (OSError, TimeoutError, Exception):
                await asyncio.sleep(0.2)
                continue
            self.sessions += 1
            start: Any = {"token": self.token} if self.token else "earliest"
            cut_at = time.monotonic() + self.rng.uniform(0.5, 3.0)
            try:
                await ws.send(
                    orjson.dumps(
                        {"op": "subscribe", "id": "c", "topic": TOPIC, "from": start}
                    ).decode()
                )
                while not done.is_set():
                    left = 0.5 if calm.is_set() else cut_at - time.monotonic()
                    if left <= 0:
                        break
                    with contextlib.suppress(TimeoutError):
                        self.frame(await asyncio.wait_for(ws.recv(), left))
            except ConnectionClosed as closed:
                code = closed.rcvd.code if closed.rcvd else None
                if code is not None and 4500 <= code < 5000:
                    self.fatal.append(f"terminal close {code} {closed.rcvd}")
                    return
            finally:
                if self.rng.random() < 0.5 and ws.transport is not None:
                    ws.transport.abort()  # vanish without a close frame
                else:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(ws.close(), 2)


async def produce(settings: Settings, rate: int, duration_s: float, per_record: int) -> set[Pos]:
    """``rate`` events/s for ``duration_s`` in records of ``per_record`` events; all positions."""
    producer = reliable_producer(settings, linger_ms=5)
    await producer.start()
    expected: set[Pos] = set()
    samples = SampleEvents(seed=5)
    futures = []
    try:
        started = time.monotonic()
        sent = 0
        while (elapsed := time.monotonic() - started) < duration_s:
            due = int(elapsed * rate / per_record) - sent
            for _ in range(max(0, due)):
                events = [samples.next(TOPIC) for _ in range(per_record)]
                value = batch_value(TOPIC, events)
                futures.append(
                    await producer.send(
                        settings.catalog.live_topic(TOPIC), value, key=str(sent).encode()
                    )
                )
                sent += 1
            await asyncio.sleep(0.02)
        for meta in await asyncio.gather(*futures):
            expected.update((meta.partition, meta.offset, i) for i in range(per_record))
    finally:
        await producer.stop()
    return expected


async def run_chaos(
    settings: Settings,
    log_dir: Path,
    *,
    clients: int,
    rate: int,
    duration_s: float,
    kills: int,
    per_record: int = 20,
    settle_s: float = 120.0,
    cache_events: int = 200_000,
) -> None:
    await create_topics(settings)
    gw = GatewayProcess(settings, log_dir, decode_cache_events=cache_events).start()
    url = [gw.url]
    calm, done = asyncio.Event(), asyncio.Event()
    crowd = [
        ChaosClient(i, token(settings, f"user-{i % 7}"), random.Random(i)) for i in range(clients)
    ]
    tasks = [asyncio.create_task(c.run(url, calm, done)) for c in crowd]
    try:
        async with asyncio.timeout(60):  # everyone subscribed from earliest on the empty topic
            await asyncio.gather(*(c.subscribed.wait() for c in crowd))
        producing = asyncio.create_task(produce(settings, rate, duration_s, per_record))
        for _ in range(kills):
            await asyncio.sleep(duration_s / (kills + 1))
            gw.kill()
            gw.start(port=gw.port)  # same port: clients reconnect where they were
        expected = await producing
        calm.set()
        deadline = time.monotonic() + settle_s
        while time.monotonic() < deadline:
            behind = [c.index for c in crowd if c.seen != expected and not c.fatal]
            if not behind:
                break
            await asyncio.sleep(0.5)
    finally:
        done.set()
        await asyncio.wait(tasks, timeout=10)
        for task in tasks:
            task.cancel()
        gw.stop()
    assert expected, "the producer wrote nothing"
    problems = []
    for c in crowd:
        missing, extra = expected - c.seen, c.seen - expected
        if missing or extra or c.disorder or c.gaps or c.fatal:
            problems.append(
                f"client {c.index} ({c.sessions} sessions): missing {len(missing)} "
                f"e.g. {sorted(missing)[:3]}, unexpected {len(extra)}, "
                f"disorder {c.disorder[:2]}, gaps {c.gaps[:2]}, fatal {c.fatal[:2]}"
            )
    assert gw.starts == kills + 1
    assert all(c.sessions > 1 for c in crowd), "every client reconnected at least once"
    assert not problems, f"{len(problems)} of {clients} clients went wrong:\n" + "\n".join(
        problems[:10]
    )


async def test_short_chaos_every_event_exactly_once(settings: Settings, tmp_path: Path) -> None:
    await run_chaos(
        settings, tmp_path, clients=10, rate=500, duration_s=15, kills=1, per_record=10, settle_s=90
    )
