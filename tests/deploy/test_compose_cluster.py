"""`make test-deploy`: the compose cluster, built from this repository's images, loses nothing
when a gateway and a broker are killed.

Events with known ids go into Kafka through the brokers' published listeners; a WebSocket
client (the Python SDK, resuming from its tokens) reads every live topic through the load
balancer. One gateway and one broker are SIGKILLed while events flow, then started again.
Every event must reach the client exactly once, with no gap; Prometheus must be scraping every
regstream process, and every query of the Grafana board must evaluate there (with data, but for
dead letters and refusals, which this run has none of). The run prints its cost: wall time and the memory the containers hold.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable

import pytest

from gateway.client import Client, Event, Gap, State
from schemas.contract import EVENT_TYPES
from streams.producer import EventProducer
from streams.samples import SampleEvents
from tests.deploy.stack import REGSTREAM, Stack, running_stack
from tests.deploy.test_grafana_board import board_queries
from tests.integration.test_gateway_helpers import token
from tests.integration.test_worker_harness import read_outputs

pytestmark = [pytest.mark.deploy, pytest.mark.timeout(1200)]

EVENTS = 3000  # produced at RATE per second, so the faults land while events flow
RATE = 100
READY_TIMEOUT_S = 300
DELIVERY_TIMEOUT_S = 300


async def wait_until(
    condition: Callable[[], bool], timeout_s: float, what: Callable[[], str]
) -> None:
    """Poll ``condition`` (it may block briefly) until true, or fail saying ``what()``."""
    deadline = time.monotonic() + timeout_s
    while not await asyncio.to_thread(condition):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s: {what()}")
        await asyncio.sleep(1)


class Reader:
    """Reads every live topic through the load balancer; counts what arrives per event id."""

    def __init__(self, stack: Stack) -> None:
        self.seen: Counter[str] = Counter()
        self.gaps: list[Gap] = []
        jwt = token(stack.settings, "deploy-test", lifetime_s=3600)
        self.reconnects = 0
        self.client = Client(stack.ws_url, token=jwt, on_state=self._state)

    def _state(self, state: State) -> None:
        if state is State.RECONNECTING:
            self.reconnects += 1

    async def follow(self, event_type: str) -> None:
        async for item in self.client.subscribe(event_type, start="earliest"):
            if isinstance(item, Gap):
                self.gaps.append(item)
            elif isinstance(item, Event):
                self.seen[item.event_id] += 1


async def delivered(stack: Stack, reader: Reader, ids: list[str], when: str) -> None:
    """Wait until the client has every event in ``ids`` (or was told of a gap); if it does not
    within DELIVERY_TIMEOUT_S, fail saying where the missing ones are: not in ``live.*`` (the
    workers or Kafka lost or hold them) or there (the gateways or the client did not deliver)."""

    def missing() -> list[str]:
        return [i for i in ids if reader.seen[i] == 0]

    try:
        await wait_until(lambda: not missing() or bool(reader.gaps), DELIVERY_TIMEOUT_S, str)
    except AssertionError:
        lost = missing()
        in_live = {e.event_id for e in await read_outputs(stack.settings)}
        not_out = [i for i in lost if i not in in_live]
        raise AssertionError(
            f"{when}: {len(lost)} of {len(ids)} events never reached the client: {len(not_out)} "
            f"are not in live.* (workers, Kafka), {len(lost) - len(not_out)} are (gateways, "
            f"client); client {reader.client.state} after {reader.reconnects} reconnects\n"
            + stack.all_logs(80)
        ) from None


async def produce(
    stack: Stack, ids: list[str], count: int, faults: dict[int, Callable[[], None]]
) -> None:
    """``count`` events at RATE per second, each tick's share sent at once (acks=all, each
    awaited); ``faults[n]`` runs once n events have been sent."""
    samples = SampleEvents(seed=random.randrange(2**32))
    async with EventProducer(stack.settings, request_timeout_ms=60_000) as producer:
        started = time.monotonic()
        sent = 0
        while sent < count:
            due = min(count, int((time.monotonic() - started) * RATE) + 1)
            for n in range(sent, due):
                if n in faults:
                    await asyncio.to_thread(faults[n])
            batch = [samples.any() for _ in range(due - sent)]
            await asyncio.gather(*(producer.send(t, record) for t, record in batch))
            ids.extend(record["metadata"]["event_id"] for _, record in batch)
            sent = due
            await asyncio.sleep(0.1)  # the pace of the ticks


async def test_compose_cluster_survives_a_gateway_and_a_broker_kill() -> None:
    began = time.monotonic()
    with running_stack(READY_TIMEOUT_S) as stack:
        await asyncio.to_thread(stack.wait_healthy, REGSTREAM, READY_TIMEOUT_S)
        await wait_until(lambda: stack.http("lb", "/")[0] == 200, 60, lambda: stack.logs("lb"))
        up_s = time.monotonic() - began

        reader = Reader(stack)
        follows = [asyncio.create_task(reader.follow(t)) for t in EVENT_TYPES]
        ids: list[str] = []
        memory: dict[str, int] = {}
        try:
            faults = {
                EVENTS // 3: lambda: stack.kill("gateway-1"),
                EVENTS // 2: lambda: stack.kill("kafka-2"),
            }
            await produce(stack, ids, EVENTS, faults)

            await delivered(stack, reader, ids, "while a gateway and a broker were down")
            # The killed ones come back and catch up; events sent now arrive too.
            stack.start("kafka-2")
            stack.start("gateway-1")
            await asyncio.to_thread(stack.wait_healthy, ("kafka-2", "gateway-1"), READY_TIMEOUT_S)
            await produce(stack, ids, 200, {})
            await delivered(stack, reader, ids, "after the restarts")
            memory.update(await asyncio.to_thread(stack.memory_bytes))  # everything up again
            targets = await prometheus_targets(stack)
            board = await asyncio.to_thread(board_series, stack)
        finally:
            for follow in follows:
                follow.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(*follows, return_exceptions=True)
            await reader.client.close()

        assert not reader.gaps, f"the client was told of lost events: {reader.gaps[:3]}"
        twice = {i: n for i, n in reader.seen.items() if n > 1}
        assert not twice, f"{len(twice)} events reached the client more than once"
        assert len(set(ids)) == len(ids) == EVENTS + 200
        down = {job: health for job, health in targets.items() if health != "up"}
        assert not down, f"Prometheus targets not up: {down}"
        assert len(targets) == 6, f"scraped: {sorted(targets)}"  # 2 gateways, 2 workers, lb, itself
        blank = [q for q, n in board.items() if n == 0 and not q.startswith(MAY_BE_EMPTY)]
        assert not blank, f"board queries without data: {blank}"
        total_s = time.monotonic() - began
        mib = sum(memory.values()) / 2**20
        print(
            f"\ncompose cluster: {len(ids)} events, none lost or doubled across a gateway and a "
            f"broker SIGKILL; up and healthy in {up_s:.0f} s, whole run {total_s:.0f} s; "
            f"containers held {mib:.0f} MiB (podman stats, page cache included): "
            + ", ".join(f"{name} {size / 2**20:.0f}" for name, size in sorted(memory.items()))
        )


MAY_BE_EMPTY = ("Dead letters", "Filtered and refused")


def board_series(stack: Stack) -> dict[str, int]:
    """ "<panel>: <query>" → how many series Prometheus answers (it must answer each)."""
    series = {}
    for title, expr in board_queries():
        query = urllib.parse.quote(expr.replace("$__rate_interval", "1m"))
        status, body = stack.http("prometheus", f"/api/v1/query?query={query}")
        assert status == 200, f"{title}: {expr}: {status} {body[:300]!r}"
        series[f"{title}: {expr}"] = len(json.loads(body)["data"]["result"])
    return series


async def prometheus_targets(stack: Stack) -> dict[str, str]:
    """``instance`` → health of every active scrape target, once none is unknown or down (or
    the wait is over: the caller reports what is not up)."""
    targets: dict[str, str] = {}

    def settled() -> bool:
        status, body = stack.http("prometheus", "/api/v1/targets?state=active")
        if status == 200:
            active = json.loads(body)["data"]["activeTargets"]
            targets.clear()
            targets.update({t["labels"]["instance"]: t["health"] for t in active})
        return bool(targets) and set(targets.values()) == {"up"}

    with contextlib.suppress(AssertionError):
        await wait_until(settled, 60, lambda: "")
    return targets
