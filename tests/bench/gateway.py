"""make bench-gateway: the WebSocket gateway under load, each figure beside its baseline.

Scenarios (the gateway is the real subprocess; load generators are asyncio clients in this
process, spread over several 127.0.0.x source addresses so no source runs out of ports):

1. one client, replay of a prefilled topic: events/s delivered, beside a raw aiokafka consumer
   decoding the same records in the same run (alternated, median of repeats);
2. fan-out: N clients on one topic at the tail; aggregate events/s delivered and latency from
   produce to receive (p50/p99);
3. idle connections: gateway RSS per connection (no subscription, no deflate);
4. resume latency: reconnect with a token → first replayed event (p50/p99);
5. resume storm: M clients resume after a gateway restart; time until all are caught up.

Clients count events without decoding whole frames (``"position"`` occurrences), so the load
generator is not the bottleneck it would otherwise be on a small machine. Counts are scaled by
``BENCH_SCALE`` (default 1.0: the issue's 1,000 / 20,000 / 5,000 clients).
"""

from __future__ import annotations

import asyncio
import os
import re
import resource
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect

from streams.kafka import committed_consumer, reliable_producer
from streams.samples import SampleEvents
from streams.settings import Settings
from streams.topics import create_topics
from tests.bench.harness import bench_broker, median, record
from tests.integration.test_gateway_helpers import CODEC, GatewayProcess, batch_value, token

SCALE = float(os.environ.get("BENCH_SCALE", "1.0"))
TOPIC = "AgentStatusUpdate"
SOURCES = [f"127.0.0.{i}" for i in range(2, 10)]
OCCURRED = re.compile(rb'"occurred_at":(\d+)')


def raise_nofile(want: int = 200_000) -> int:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(hard, want)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


async def open_ws(url: str, jwt: str, i: int) -> ClientConnection:
    return await connect(
        url,
        additional_headers={"Authorization": f"Bearer {jwt}"},
        max_size=None,
        ping_interval=None,
        compression=None,
        local_addr=(SOURCES[i % len(SOURCES)], 0),
        open_timeout=60,
    )


async def fill(settings: Settings, records: int, per_record: int, stamp: bool = False) -> int:
    producer = reliable_producer(settings, linger_ms=10)
    await producer.start()
    samples = SampleEvents(seed=1)
    try:
        futures = []
        for i in range(records):
            events = [samples.next(TOPIC) for _ in range(per_record)]
            if stamp:
                now = int(time.time() * 1000)
                for e in events:
                    e["metadata"]["occurred_at"] = now
            value = batch_value(TOPIC, events)
            futures.append(
                await producer.send(settings.catalog.live_topic(TOPIC), value, key=str(i).encode())
            )
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return records * per_record


class Counter:
    """A client that counts events (and samples latency) without decoding frames."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws, self.events, self.token = ws, 0, None
        self.token_events = -1  # events received when the last checkpoint came
        self.subscribed = False
        self.latencies: list[float] = []
        self.first_event_at: float | None = None

    async def subscribe(self, start: Any, sub_id: str = "b") -> None:
        frame = {"op": "subscribe", "id": sub_id, "topic": TOPIC, "from": start}
        await self.ws.send(orjson.dumps(frame).decode())

    async def pump(self, until: Callable[[], bool], sample: bool = False) -> None:
        while not until():
            raw = await self.ws.recv(decode=False)
            if raw.startswith((b'{"op":"batch"', b'{"op":"event"')):
                if self.first_event_at is None:
                    self.first_event_at = time.perf_counter()
                self.events += raw.count(b'"position"')
                if sample and (m := OCCURRED.search(raw)):
                    self.latencies.append(time.time() * 1000 - int(m.group(1)))
            elif raw.startswith(b'{"op":"subscribed"'):
                self.subscribed = True
            elif raw.startswith(b'{"op":"checkpoint"'):
                self.token = orjson.loads(raw)["token"]
                self.token_events = self.events


# -- 1. one client beside a raw consumer ----------------------------------------------------


async def one_client(settings: Settings, gw: GatewayProcess, total: int) -> tuple[float, float]:
    async def raw() -> float:
        consumer = committed_consumer(
            settings, settings.catalog.live_topic(TOPIC), max_partition_fetch_bytes=2 << 20
        )
        await consumer.start()
        count, started = 0, time.perf_counter()
        try:
            while count < total:
                for msgs in (await consumer.getmany(timeout_ms=500, max_records=5000)).values():
                    for msg in msgs:
                        count += len(CODEC.decode(msg.value).record["events"])
        finally:
            await consumer.stop()
        return count / (time.perf_counter() - started)

    async def gateway() -> float:
        client = Counter(await open_ws(gw.url, token(settings), 0))
        started = time.perf_counter()
        await client.subscribe("earliest")
        await client.pump(lambda: client.events >= total)
        rate = client.events / (time.perf_counter() - started)
        await client.ws.close()
        return rate

    raws, gws = [], []
    await gateway()  # warm-up: readers, connections, page cache
    for _ in range(3):
        raws.append(await raw())
        gws.append(await gateway())
    return median(gws), median(raws)


# -- 2. fan-out -----------------------------------------------------------------------------


async def fan_out(settings: Settings, gw: GatewayProcess, n: int) -> dict[str, float]:
    """Capacity (a burst far above what N clients can take: aggregate events/s delivered) and
    latency (a steady input at a quarter of that capacity: produce → receive percentiles)."""
    clients = [Counter(await open_ws(gw.url, token(settings), i)) for i in range(n)]
    for c in clients:
        await c.subscribe("latest")
    await asyncio.sleep(2.0)
    per_record = 100

    async def phase(records: int, pause_s: float) -> tuple[float, list[float], float]:
        base = [c.events for c in clients]
        for c in clients:
            c.latencies = []
        total = per_record * records
        tasks = [
            asyncio.create_task(c.pump(lambda c=c, b=b: c.events - b >= total, True))
            for c, b in zip(clients, base, strict=True)
        ]
        started = time.perf_counter()
        for _ in range(records):
            await fill(settings, 1, per_record, stamp=True)
            await asyncio.sleep(pause_s)
        done, pending = await asyncio.wait(tasks, timeout=180)
        elapsed = time.perf_counter() - started
        for t in pending:
            t.cancel()
        delivered = sum(c.events - b for c, b in zip(clients, base, strict=True))
        return delivered / elapsed, [x for c in clients for x in c.latencies], len(done) / n

    capacity, _, complete = await phase(60, 0.0)
    steady_input = max(1.0, capacity / n / 4)  # events/s per client at a quarter of capacity
    pause = per_record / steady_input
    records = max(5, int(10 / pause))
    _, lat, complete_steady = await phase(records, pause)
    await asyncio.gather(*(c.ws.close() for c in clients), return_exceptions=True)
    return {
        "clients": n,
        "events_per_s": capacity,
        "complete": min(complete, complete_steady),
        "steady_events_per_s": steady_input * n,
        "p50_ms": pct(lat, 50),
        "p99_ms": pct(lat, 99),
    }


# -- 3. idle connections --------------------------------------------------------------------


async def idle(settings: Settings, gw: GatewayProcess, n: int) -> dict[str, float]:
    assert gw.proc is not None
    jwt = token(settings)
    warm = [await open_ws(gw.url, jwt, i) for i in range(200)]  # allocator and caches warm
    await asyncio.sleep(1.0)
    before = rss_kb(gw.proc.pid)
    conns: list[ClientConnection] = []
    sem = asyncio.Semaphore(200)

    async def one(i: int) -> None:
        async with sem:
            conns.append(await open_ws(gw.url, jwt, i))

    await asyncio.gather(*(one(i) for i in range(n)))
    await asyncio.sleep(3.0)
    after = rss_kb(gw.proc.pid)
    await asyncio.gather(*(c.close() for c in conns + warm), return_exceptions=True)
    return {"connections": n, "rss_before_mb": before / 1024, "rss_after_mb": after / 1024,
            "kb_per_conn": (after - before) / n}  # fmt: skip


# -- 4. resume latency ----------------------------------------------------------------------


async def resume_latency(settings: Settings, gw: GatewayProcess, rounds: int) -> dict[str, float]:
    jwt = token(settings)
    client = Counter(await open_ws(gw.url, jwt, 0))
    await client.subscribe("latest")
    await client.pump(lambda: client.subscribed)
    await fill(settings, 1, 1)
    await client.pump(lambda: client.events >= 1 and client.token is not None)
    await client.ws.close()
    samples = []
    for i in range(rounds):
        await fill(settings, 1, 1)  # something to replay
        started = time.perf_counter()
        c = Counter(await open_ws(gw.url, jwt, i))
        await c.subscribe({"token": client.token})
        await c.pump(lambda c=c: c.events >= 1)
        samples.append((c.first_event_at or 0) - started)
        await c.pump(lambda c=c: c.token is not None)
        client.token = c.token
        await c.ws.close()
    ms = [s * 1000 for s in samples]
    return {"rounds": rounds, "p50_ms": pct(ms, 50), "p99_ms": pct(ms, 99)}


# -- 5. resume storm ------------------------------------------------------------------------


async def resume_storm(settings: Settings, gw: GatewayProcess, n: int) -> dict[str, float]:
    jwt = token(settings)
    sem = asyncio.Semaphore(200)
    clients: list[Counter] = []

    async def join(i: int) -> None:
        async with sem:
            c = Counter(await open_ws(gw.url, jwt, i))
            await c.subscribe("latest")
            clients.append(c)

    await asyncio.gather(*(join(i) for i in range(n)))
    await asyncio.sleep(2.0)
    await fill(settings, 2, 5)
    await asyncio.gather(*(c.pump(lambda c=c: c.token_events >= 10) for c in clients))
    gw.kill()
    for c in clients:
        if c.ws.transport is not None:
            c.ws.transport.abort()
    missed = await fill(settings, 20, 5)
    gw.start(port=gw.port)
    started = time.perf_counter()

    async def back(i: int, c: Counter) -> float:
        async with sem:
            fresh = Counter(await open_ws(gw.url, jwt, i))
            await fresh.subscribe({"token": c.token})
        await fresh.pump(lambda: fresh.events >= missed)
        await fresh.ws.close()
        return time.perf_counter() - started

    times = await asyncio.gather(*(back(i, c) for i, c in enumerate(clients)))
    return {
        "clients": n,
        "events_each": missed,
        "all_caught_up_s": max(times),
        "p50_s": pct(list(times), 50),
    }


# -- main -----------------------------------------------------------------------------------


async def main(bootstrap: str) -> None:
    limit = raise_nofile()
    suffix = uuid.uuid4().hex[:6]
    settings = Settings(
        bootstrap_servers=bootstrap,
        input_prefix=f"b{suffix}.events.",
        live_prefix=f"b{suffix}.live.",
        audit_topic=f"b{suffix}.gateway.audit",
        dlq_topic=f"b{suffix}.dlq",
        agents_topic=f"b{suffix}.agents",
    )
    await create_topics(settings)
    n_fan, n_idle, n_storm = (int(x * SCALE) for x in (1000, 20_000, 5_000))
    capped = n_idle > limit - 1000  # both processes hold one descriptor per connection
    n_idle = min(n_idle, limit - 1000)
    logs = Path(tempfile.mkdtemp(prefix="bench-gw-"))
    results: dict[str, Any] = {}
    replay_events = await fill(settings, 2_000, 50)
    for name, run, options in (
        ("one", lambda gw: one_client(settings, gw, replay_events), {}),
        ("fan", lambda gw: fan_out(settings, gw, n_fan), {"send_high_bytes": 16 << 20}),
        ("idle", lambda gw: idle(settings, gw, n_idle), {"audit": False}),
        ("resume", lambda gw: resume_latency(settings, gw, 200), {}),
        ("storm", lambda gw: resume_storm(settings, gw, n_storm), {}),
    ):
        uncapped = {"max_connections_per_subject": 0, "max_connections_per_ip": 0}
        gw = GatewayProcess(settings, logs, **uncapped, **options).start()
        try:
            results[name] = await run(gw)
            print(name, results[name], flush=True)
        finally:
            gw.stop()
    gw_rate, raw_rate = results["one"]
    fan, idle_r, res, storm = results["fan"], results["idle"], results["resume"], results["storm"]
    record(
        "gateway",
        "make bench-gateway",
        f"""
Load generators: asyncio clients in one process bound to {len(SOURCES)} source addresses
127.0.0.2-9; the gateway is the real `regstream gateway` subprocess; RLIMIT_NOFILE raised to
{limit:,} (the hard limit here{"; it caps the idle scenario" if capped else ""}). Clients count
events without decoding frames. Scale factor {SCALE}.

| scenario | result | target |
|---|---|---|
| one client replaying {replay_events:,} events (median of 3) | gateway {gw_rate:,.0f} events/s vs raw aiokafka consumer + Avro decode {raw_rate:,.0f} events/s: ratio **{gw_rate / raw_rate:.2f}** | ≥ 0.8 |
| fan-out to {fan["clients"]:,} clients, batches of 100 | **{fan["events_per_s"]:,.0f} events/s** delivered in aggregate (burst); at a steady {fan["steady_events_per_s"]:,.0f} events/s aggregate, latency produce → receive p50 {fan["p50_ms"]:.0f} ms, p99 **{fan["p99_ms"]:.0f} ms**; {fan["complete"]:.0%} of clients got everything | ≥ 100k events/s |
| {idle_r["connections"]:,} idle connections, no deflate | gateway RSS {idle_r["rss_before_mb"]:.0f} → {idle_r["rss_after_mb"]:.0f} MB: **{idle_r["kb_per_conn"]:.1f} KB per connection** | ≤ 20 KB |
| resume latency, reconnect + handshake + subscribe(token) → first replayed event, {res["rounds"]} rounds | p50 {res["p50_ms"]:.1f} ms, p99 **{res["p99_ms"]:.1f} ms** | ≤ 20 ms |
| resume storm: {storm["clients"]:,} clients resume after a SIGKILL + restart, {storm["events_each"]} missed events each | all caught up **{storm["all_caught_up_s"]:.1f} s** after the restart (median client {storm["p50_s"]:.1f} s) | (recorded) |
""",
    )


if __name__ == "__main__":
    with bench_broker() as bootstrap_servers:
        asyncio.run(main(bootstrap_servers))
