"""The whole broker goes away while a worker, a gateway and a dashboard client run, then comes
back (regression: the worker logged about a hundred lines a second and took a minute to obey
SIGTERM).

While it is gone the worker and the gateway log a bounded number of lines (a repeating message
is one line per window, with the count it held back) and reconnect with backoff; when it returns
they carry on by themselves and the delivery checker finds every event delivered once, in order,
without a gap. And with the broker gone SIGTERM stops each of them within its deadline.

The broker is one of its own: the session's brokers are shared by every other test.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from streams.broker.cluster import LocalCluster
from streams.settings import Settings
from streams.topics import create_topics
from streams.worker.runner import STOP_DEADLINE_S
from tests.conftest import unique_settings
from tests.faults.checker import check
from tests.faults.observe import pipeline_end, processed_all
from tests.faults.scenario import log_repeats, read_logs
from tests.faults.workload import Producer, Watcher
from tests.integration.test_gateway_helpers import GatewayProcess, token
from tests.integration.test_worker_harness import WorkerProcess, running_workers, worker_env

TOPIC = "AgentStatusUpdate"
REPEATS_HELD = "more like this"
MOST_REPEATS = 3  # once, then once per window with its count: the first window plus slack


@pytest.fixture(scope="module")
def lone_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    cluster = LocalCluster(tmp_path_factory.mktemp("lone-broker"))
    try:
        cluster.start(nodes=1, port=0)
        yield cluster
    finally:
        cluster.stop()


def lines(path: Path) -> list[str]:
    return path.read_text(errors="replace").splitlines() if path.exists() else []


async def produce(settings: Settings, name: str, count: int) -> Producer:
    producer = Producer(settings, name, (TOPIC,), count, rate=100, seed=len(name))
    producer.enough.set()
    await producer.run()
    return producer


@asynccontextmanager
async def running_system(
    broker: LocalCluster, log_dir: Path
) -> AsyncIterator[tuple[Settings, WorkerProcess, GatewayProcess]]:
    """A worker and a gateway on the lone broker (started again if a test left it down)."""
    if not broker.running_nodes():
        broker.start_node(1)
    settings = unique_settings(broker.bootstrap_servers)
    await create_topics(settings)
    gateway = GatewayProcess(settings, log_dir)
    with running_workers(worker_env(settings, log_dir / "data"), log_dir) as workers:
        worker = workers.start()
        try:
            yield settings, worker, gateway.start()
        finally:
            gateway.stop()


async def test_broker_lost_and_back(lone_broker: LocalCluster, tmp_path: Path) -> None:
    async with running_system(lone_broker, tmp_path) as (settings, worker, gateway):
        watcher = Watcher("dashboard", gateway.url, token(settings), (TOPIC,))
        subscribed = asyncio.Event()
        watching = asyncio.create_task(watcher.run(subscribed))
        try:
            await asyncio.wait_for(subscribed.wait(), 60)
            before = await produce(settings, "before", 30)
            await wait_until(lambda: processed_all(settings, before.acks), "the first events")

            lone_broker.kill_node(1)
            since = {name: len(text) for name, text in read_logs(tmp_path).items()}
            worker_from = since[worker.log.name]
            down_at = time.monotonic()
            # The first window closes 30 s after the kill: then the held-back count shows.
            while not any(REPEATS_HELD in line for line in lines(worker.log)[worker_from:]):
                flood = len(lines(worker.log)) - worker_from
                assert flood < 500, (
                    f"log flood: {flood} lines in {time.monotonic() - down_at:.0f} s"
                )
                assert time.monotonic() - down_at < 120, "no repeat was held back"
                await asyncio.sleep(0.5)
            logs = {n: text[since.get(n, 0) :] for n, text in read_logs(tmp_path).items()}
            repeats = log_repeats(logs)
            assert all(count <= MOST_REPEATS for count, _ in repeats.values()), repeats

            lone_broker.start_node(1)
            after = await produce(settings, "after", 20)
            acks = before.acks + after.acks
            await wait_until(lambda: processed_all(settings, acks), "the worker to catch up")
            end = await pipeline_end(settings)
            await wait_until(
                lambda: len({r.position for r in watcher.log.receipts}) >= len(end.live),
                "every passed event at the client",
            )
            report = check(acks, [watcher.log], end)
            assert report.ok and report.passed > 40, report.table()
        finally:
            watching.cancel()
            await asyncio.gather(watching, return_exceptions=True)


async def test_sigterm_stops_worker_and_gateway_with_the_broker_gone(
    lone_broker: LocalCluster, tmp_path: Path
) -> None:
    async with running_system(lone_broker, tmp_path) as (settings, worker, gateway):
        producer = await produce(settings, "first", 10)
        await wait_until(lambda: processed_all(settings, producer.acks), "the worker running")
        lone_broker.kill_node(1)
        stopping = time.monotonic()
        worker.process.send_signal(signal.SIGTERM)
        gateway.signal(signal.SIGTERM)
        await asyncio.to_thread(worker.process.wait, STOP_DEADLINE_S + 15)
        gateway.wait(30)
        assert time.monotonic() - stopping < STOP_DEADLINE_S + 15


async def wait_until(
    condition: Callable[[], bool | Awaitable[bool]], what: str, timeout_s: float = 180.0
) -> None:
    """Poll ``condition`` until it holds."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = condition()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        assert time.monotonic() < deadline, f"not within {timeout_s:.0f} s: {what}"
        await asyncio.sleep(0.5)
