"""The faults (Jepsen's *nemesis*) and the running system they are done to.

:class:`System` holds the processes of one scenario: the 3-node cluster, the workers, the
gateways behind the :class:`~tests.faults.proxy.FaultyProxy`, and the producers' progress. Each
fault is an ``async`` function of a :class:`System`; it records when it struck (for time to
recover) and a note for the report. Faults wait on conditions (a new leader elected, every
replica back in sync, the worker group rebalanced), never on a guess of how long that takes;
the only fixed durations are how long a fault lasts (a pause, a delay).
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from schemas.contract import EVENT_TYPES
from streams.broker.cluster import LocalCluster
from streams.settings import Settings
from tests.faults.proxy import FaultyProxy
from tests.integration.test_gateway_helpers import GatewayProcess
from tests.integration.test_worker_harness import WorkerProcess, Workers, group_members

START_S = 240.0  # a broker starting again on a small, busy machine


@dataclass
class System:
    settings: Settings
    cluster: LocalCluster
    workers: Workers
    gateways: list[GatewayProcess]
    proxy: FaultyProxy
    log_dir: Path
    acked: Callable[[], int]  # acknowledged sends so far
    delivered_since: Callable[[float], bool]  # an event acknowledged after then reached a client
    strikes: list[tuple[str, float]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    restarts: list[str] = field(default_factory=list)  # by the supervisor: name (exit status)

    def strike(self, what: str) -> None:
        self.strikes.append((what, time.monotonic()))
        print(f"{time.strftime('%H:%M:%S')} strike: {what}", flush=True)

    async def recovered(self, timeout_s: float = 300.0) -> None:
        """Wait until an event acknowledged after the last strike reached a client."""
        if self.strikes:
            struck = self.strikes[-1][1]

            async def through() -> bool:
                return self.delivered_since(struck)

            await self.until(f"recovery from: {self.strikes[-1][0]}", through, timeout_s)

    def live_workers(self) -> list[WorkerProcess]:
        return [w for w in self.workers.started if w.alive]

    async def busy(self, sends: int, timeout_s: float = 300.0) -> None:
        """Wait until the producers had ``sends`` more sends acknowledged (so a fault strikes a
        system in the middle of a stream)."""
        target = self.acked() + sends

        async def moved_on() -> bool:
            return self.acked() >= target

        await self.until(f"{sends} more sends acknowledged", moved_on, timeout_s)

    async def describe(self) -> list[dict[str, Any]]:
        """Partitions of the input topics: leader, replicas, in-sync replicas."""
        admin = AIOKafkaAdminClient(bootstrap_servers=self.settings.bootstrap_servers)
        try:
            await admin.start()
            topics = [self.settings.catalog.input_topic(t) for t in EVENT_TYPES]
            return [p for t in await admin.describe_topics(topics) for p in t["partitions"]]
        finally:
            await admin.close()

    async def until(
        self, what: str, condition: Callable[[], Awaitable[bool]], timeout_s: float = 180.0
    ) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                if await condition():
                    return
            except KafkaError:
                pass  # the cluster is in the middle of the fault; ask again
            if time.monotonic() > deadline:
                raise AssertionError(f"not within {timeout_s:.0f} s: {what}")
            await asyncio.sleep(0.5)

    async def fully_replicated(self) -> None:
        async def in_sync() -> bool:
            parts = await self.describe()
            return bool(parts) and all(len(p["isr"]) == len(p["replicas"]) for p in parts)

        await self.until("every replica back in sync", in_sync)


Fault = Callable[[System], Awaitable[None]]


async def kill_busy_leader(system: System) -> None:
    """SIGKILL the broker leading most input partitions mid-stream; restart it once others lead."""
    parts = await system.describe()
    leaders = [p["leader"] for p in parts]
    node = max(set(leaders), key=leaders.count)
    system.strike(f"SIGKILL broker {node} (leader of {leaders.count(node)} input partitions)")
    await asyncio.to_thread(system.cluster.kill_node, node)

    async def moved() -> bool:
        return all(p["leader"] not in (node, -1) for p in await system.describe())

    await system.until(f"new leaders for broker {node}'s partitions", moved)
    await asyncio.to_thread(system.cluster.start_node, node, START_S)
    await system.fully_replicated()


async def rolling_restart(system: System) -> None:
    """Each broker in turn: controlled shutdown, start, every replica in sync before the next."""
    system.strike("rolling restart of the 3 brokers")
    for node in (1, 2, 3):
        await asyncio.to_thread(system.cluster.stop_node, node)
        await system.busy(20)  # the stream goes on without it
        await asyncio.to_thread(system.cluster.start_node, node, START_S)
        await system.fully_replicated()


async def stop_one_broker(system: System) -> None:
    """One broker stopped for a while, then started: everyone reconnects on their own."""
    system.strike("broker 2 stopped, restarted")
    await asyncio.to_thread(system.cluster.stop_node, 2)
    await system.busy(100)
    await asyncio.to_thread(system.cluster.start_node, 2, START_S)
    await system.fully_replicated()


async def kill_worker(system: System) -> None:
    """SIGKILL a worker; its supervisor (:func:`supervise`) starts it again."""
    victim = system.live_workers()[0]
    system.strike(f"SIGKILL worker {victim.name}")
    victim.kill()


async def kill_gateway(system: System) -> None:
    """SIGKILL a gateway; its supervisor starts it again on the same port."""
    gateway = system.gateways[len(system.strikes) % len(system.gateways)]
    system.strike(f"SIGKILL gateway on port {gateway.port}")
    gateway.signal(signal.SIGKILL)


async def pause_worker(system: System) -> None:
    """SIGSTOP a worker past its session timeout: the group moves its partitions; resumed, it
    must be fenced (a transaction of its is refused), never write."""
    victim = system.live_workers()[0]
    before = len(await group_members(system.settings))
    system.strike(f"SIGSTOP worker {victim.name} past its session timeout")
    os.killpg(victim.process.pid, signal.SIGSTOP)

    async def rebalanced() -> bool:
        return len(await group_members(system.settings)) < before

    await system.until("the group to drop the stopped worker", rebalanced)
    await system.busy(50)
    os.killpg(victim.process.pid, signal.SIGCONT)

    async def settled() -> bool:
        return not victim.alive or len(await group_members(system.settings)) >= before

    await system.until("the resumed worker to rejoin or stop", settled)
    outcome = "rejoined" if victim.alive else f"stopped (exit {victim.process.returncode})"
    system.notes.append(f"worker {victim.name}, resumed after the group moved on, {outcome}")


async def supervise(system: System) -> None:
    """What systemd or Kubernetes does for a deployment: start again a worker or gateway that
    exited, whoever killed it (a worker stops by design when its transactions were fenced)."""
    while True:
        latest = {w.name: w for w in system.workers.started}
        for name, worker in latest.items():
            if not worker.alive:
                system.restarts.append(f"{name} ({worker.process.returncode})")
                system.workers.start(name)
        for gateway in system.gateways:
            if gateway.proc is not None and gateway.proc.poll() is not None:
                system.restarts.append(f"gateway :{gateway.port} ({gateway.proc.returncode})")
                await asyncio.to_thread(gateway.start, port=gateway.port)
        await asyncio.sleep(0.5)  # the supervisor's polling rhythm


async def cut_connections(system: System) -> None:
    system.strike("half the client connections cut")
    system.notes.append(f"cut {system.proxy.cut(0.5)} client connections")


async def pause_connections(system: System) -> None:
    system.strike("client connections paused 3 s")
    system.proxy.pause()
    await asyncio.sleep(3)  # how long the fault lasts
    system.proxy.resume()


async def delay_connections(system: System) -> None:
    system.strike("client connections delayed 200 ms for 5 s")
    system.proxy.delay_s = 0.2
    await asyncio.sleep(5)  # how long the fault lasts
    system.proxy.delay_s = 0.0


EVERY_FAULT: list[Fault] = [
    kill_busy_leader,
    kill_worker,
    cut_connections,
    kill_gateway,
    pause_connections,
    pause_worker,
    delay_connections,
    stop_one_broker,
    rolling_restart,
]
