"""Clients that stop reading cost the gateway a bounded amount of memory and are disconnected in a
bounded time, and a client closed for being slow loses nothing when it resumes (docs/security.md,
"Memory and slow clients"). The gateway is the real ``regstream gateway`` subprocess; its memory
and sockets are observed from outside, through ``/proc``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka import TopicPartition

from gateway.io.catchup import FETCH_MAX_BYTES
from gateway.io.connection import CLOSE_TIMEOUT_S
from streams.kafka import committed_consumer, reliable_producer
from streams.samples import SampleEvents
from streams.settings import Settings
from streams.topics import create_topics
from tests.integration.never_reading import NeverReader, held_peers, rss_bytes
from tests.integration.test_gateway_helpers import (
    GatewayProcess,
    WsClient,
    batch_value,
    positions_of,
    token,
)

TOPICS = ("DecisionMade", "SimulationUpdate")
CLIENTS, SUBSCRIPTIONS = 20, 8
RECORDS, PER_RECORD = 1000, 50  # per topic: about 40 MB of JSON, far above any budget below
MiB = 1 << 20
# Budgets scaled down so the test is quick; the bound below is the documented formula.
BUDGETS: dict[str, Any] = {
    "send_high_bytes": 1 * MiB,
    "send_low_bytes": MiB // 4,
    "send_budget_bytes": 8 * MiB,
    "slow_close_s": 2,
    "ping_interval_s": 4,
    "ping_timeout_s": 4,
    "decode_cache_events": 2000,
    "tail_history_events": 1000,
}
BOUND_S = BUDGETS["ping_interval_s"] + BUDGETS["ping_timeout_s"]  # after the last read
GRACE_S = 20.0  # a loaded test machine: the promise is checked, not the scheduler
# docs/security.md, "What the gateway process may use in all", with the budgets above
CATCHUP_CONSUMERS, EVENT_BYTES, CONNECTION_BYTES, ALLOCATOR_SLACK = 4, 3 * 1024, 64 * 1024, 16 * MiB
ALLOWANCE = (
    BUDGETS["send_budget_bytes"]
    + CATCHUP_CONSUMERS * (FETCH_MAX_BYTES + 3 * BUDGETS["send_high_bytes"])
    + (BUDGETS["decode_cache_events"] + BUDGETS["tail_history_events"] * len(TOPICS)) * EVENT_BYTES
    + CLIENTS * CONNECTION_BYTES
    + ALLOCATOR_SLACK
)


async def fill(settings: Settings, topics: tuple[str, ...], records: int) -> dict[str, int]:
    """``records`` EventBatch records of ``PER_RECORD`` events per topic (a few distinct bodies
    sent again and again: the gateway neither knows nor cares); returns records per topic."""
    samples = SampleEvents(seed=3)
    bodies = {
        t: [batch_value(t, [samples.next(t) for _ in range(PER_RECORD)]) for _ in range(4)]
        for t in topics
    }
    producer = reliable_producer(settings, linger_ms=20)
    await producer.start()
    try:
        futures = []
        for i in range(records):
            for t in topics:
                futures.append(
                    await producer.send(
                        settings.catalog.live_topic(t), bodies[t][i % 4], key=str(i).encode()
                    )
                )
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return dict.fromkeys(topics, records)


@contextlib.asynccontextmanager
async def flowing(settings: Settings, topics: tuple[str, ...]) -> Any:
    """Events keep arriving at the tail while the body runs (a record per topic every 50 ms)."""
    stop = asyncio.Event()

    async def produce() -> None:
        while not stop.is_set():
            await fill(settings, topics, 1)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.05)

    task = asyncio.create_task(produce())
    try:
        yield
    finally:
        stop.set()
        await task


def metric(gw: GatewayProcess, name: str) -> float:
    with urllib.request.urlopen(gw.http("/metrics", ops=True), timeout=10) as response:
        text = response.read().decode()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name) and not line.startswith("#")
    )


async def wait_for(
    what: str, check: Any, timeout_s: float, every_s: float = 0.2, state: Any = str
) -> float:
    """Poll ``check()`` until true; return the seconds it took, fail after ``timeout_s`` saying
    ``state()``."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < timeout_s, f"not within {timeout_s}s: {what}; {state()}"
        await asyncio.sleep(every_s)
    return time.monotonic() - started


@contextlib.contextmanager
def started(settings: Settings, log_dir: Path, **gateway: Any) -> Iterator[GatewayProcess]:
    gw = GatewayProcess(settings, log_dir, **gateway).start()
    try:
        yield gw
    finally:
        gw.stop()


@pytest.fixture
def loaded(settings: Settings) -> Settings:
    asyncio.run(create_topics(settings))
    asyncio.run(fill(settings, TOPICS, RECORDS))
    return settings


@pytest.fixture
def gateway(loaded: Settings, tmp_path: Path) -> Iterator[GatewayProcess]:
    with started(loaded, tmp_path, **BUDGETS) as gw:
        yield gw


def subscriptions(n: int) -> list[dict[str, Any]]:
    return [
        {"op": "subscribe", "id": f"s{i}", "topic": TOPICS[i % len(TOPICS)], "from": "earliest"}
        for i in range(n)
    ]


async def test_never_reading_clients_cost_a_bounded_amount_and_are_disconnected(
    loaded: Settings, gateway: GatewayProcess
) -> None:
    """20 clients subscribe 8 times from `earliest` on topics holding ~80 MB of JSON, then never
    read. The gateway's RSS growth stays within the send budget plus the documented fixed
    allowance, and every connection is gone (socket closed by the gateway) within
    PING_INTERVAL_S + PING_TIMEOUT_S of its last read."""
    assert gateway.proc is not None
    pid, jwt = gateway.proc.pid, token(loaded)
    warm = await WsClient.open(gateway.url, jwt)  # tail readers and consumers started
    for frame in subscriptions(len(TOPICS)):
        await warm.send({**frame, "from": "latest"})
        await warm.until("subscribed")
    await warm.close()
    await wait_for("warm-up connection gone", lambda: not held_peers(pid, gateway.port), 30)
    before = peak = rss_bytes(pid)
    async with flowing(loaded, TOPICS):
        started = time.monotonic()
        clients = [
            NeverReader(gateway.port, jwt, subscriptions(SUBSCRIPTIONS)) for _ in range(CLIENTS)
        ]
        ports = {c.port for c in clients}
        try:

            def all_gone() -> bool:
                nonlocal peak
                peak = max(peak, rss_bytes(pid))
                return not held_peers(pid, gateway.port) & ports

            def state() -> str:
                held = len(held_peers(pid, gateway.port) & ports)
                return f"{held} still open, RSS growth {(peak - before) / MiB:.0f} MiB"

            took = await wait_for(
                "every never-reading client disconnected",
                all_gone,
                BOUND_S + GRACE_S,
                0.1,
                state,
            )
            assert metric(gateway, "regstream_gateway_connections ") == 0
        finally:
            for c in clients:
                c.close()
    growth = peak - before
    print(
        f"\nRSS before {before / MiB:.1f} MiB, peak {peak / MiB:.1f} MiB, growth "
        f"{growth / MiB:.1f} MiB (allowed {ALLOWANCE / MiB:.0f} MiB); all {CLIENTS} closed "
        f"{took:.1f}s after connecting (documented bound {BOUND_S}s after the last read, "
        f"{time.monotonic() - started:.1f}s in all)"
    )
    assert growth <= ALLOWANCE, f"RSS grew {growth / MiB:.1f} MiB"


CLOSERS = {
    # 4003 after SLOW_CLOSE_S; the close frame cannot be delivered: aborted CLOSE_TIMEOUT_S later
    "slow-consumer close": (
        {"slow_close_s": 1, "ping_interval_s": 600, "ping_timeout_s": 600},
        1 + CLOSE_TIMEOUT_S,
        'regstream_gateway_aborts_total{reason="close_timeout"}',
    ),
    # a ping that cannot even be written out times out like one that is not answered
    "keepalive": (
        {"slow_close_s": 600, "ping_interval_s": 1, "ping_timeout_s": 2},
        1 + 2,
        'regstream_gateway_aborts_total{reason="keepalive_timeout"}',
    ),
}


@pytest.mark.parametrize("closer", CLOSERS)
async def test_a_peer_that_never_reads_is_disconnected_in_bounded_time(
    settings: Settings, tmp_path: Path, closer: str
) -> None:
    """The close (or the keepalive) completes although the peer never reads: the gateway
    aborts the connection, and its socket is gone."""
    options, bound_s, counter = CLOSERS[closer]
    await create_topics(settings)
    await fill(settings, TOPICS[:1], 200)  # ~8 MB of frames: far more than SEND_HIGH_BYTES
    with started(settings, tmp_path, send_high_bytes=MiB, send_low_bytes=MiB // 4, **options) as gw:
        assert gw.proc is not None
        reader = NeverReader(gw.port, token(settings), subscriptions(1))
        try:
            took = await wait_for(
                f"the never-reading peer disconnected by the {closer}",
                lambda: reader.port not in held_peers(gw.proc.pid, gw.port),  # type: ignore[union-attr]
                bound_s + GRACE_S,
            )
        finally:
            reader.close()
        assert metric(gw, counter) == 1
    print(f"\n{closer}: disconnected {took:.1f}s after connecting (bound {bound_s}s)")


async def test_a_client_closed_as_slow_resumes_from_its_token_and_loses_nothing(
    settings: Settings, tmp_path: Path
) -> None:
    """A client stops reading (its library's queue and the socket fill up), is demoted and then
    closed with 4003; it reads what it had, gets the close with a fresh token, resumes from it
    and ends with every event exactly once, no gap."""
    await create_topics(settings)
    await fill(settings, TOPICS[:1], 300)
    ends = await end_offsets(settings, TOPICS[0])
    expected = {(p, o, i) for p, end in ends.items() for o in range(end) for i in range(PER_RECORD)}
    options = {"send_high_bytes": MiB, "send_low_bytes": MiB // 4, "slow_close_s": 1}
    with started(settings, tmp_path, **options) as gw:
        jwt = token(settings)
        first = await WsClient.open(gw.url, jwt, max_queue=2)
        await first.send(subscriptions(1)[0])
        await wait_for(
            "a slow-consumer close",
            lambda: metric(gw, 'regstream_gateway_closes_total{reason="slow_consumer"}') >= 1,
            60,
        )
        code, _ = await first.closed(30)  # now read everything it was sent, then the close
        assert code == 4003
        checkpoint = [f for f in first.frames if f["op"] == "checkpoint"][-1]
        seen = set(positions_of(first.events()))
        assert seen < expected
        second = await WsClient.open(gw.url, jwt)
        start = {"token": checkpoint["token"]}
        await second.send({**subscriptions(1)[0], "from": start})
        resumed_at = (await second.until("subscribed"))["positions"]
        deadline = time.monotonic() + 120
        while not expected <= seen | set(positions_of(second.events())):
            assert time.monotonic() < deadline, "the resumed client did not get everything"
            await second.next(30)
        await second.close()
    received = positions_of(first.events()) + positions_of(second.events())
    assert set(received) == expected
    assert not [f for f in first.frames + second.frames if f["op"] in ("gap", "error")]
    assert all((int(p), o, 0) in seen for p, end in resumed_at.items() for o in range(end))


async def end_offsets(settings: Settings, topic: str) -> dict[int, int]:
    consumer = committed_consumer(settings)
    await consumer.start()
    try:
        tps = [TopicPartition(settings.catalog.live_topic(topic), p) for p in range(3)]
        return {tp.partition: o for tp, o in (await consumer.end_offsets(tps)).items()}
    finally:
        await consumer.stop()
