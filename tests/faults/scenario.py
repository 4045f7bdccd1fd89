"""One fault scenario, start to verdict: producers, workers, gateways and clients run together on
the 3-node cluster while the nemesis strikes; then the system settles and the checker compares.

1. topics (replication factor 3, min.insync.replicas 2), ``workers`` workers, ``gateways``
   gateways behind the proxy, ``clients`` dashboards (one event type each, from ``earliest``);
2. the producers start; the faults strike one after another, each once the stream has moved on
   (and again and again with ``repeat``, until the producers are done); meanwhile the proxy cuts
   a share of the client connections every second (clients reconnecting at random);
3. settle: the worker group committed past every acknowledged record, then every client holds
   every passed event of its type (bounded waits: on a timeout the checker says what is missing);
4. SIGTERM every process (each must stop within its deadline), read the end state, check.

Besides the checker's table the report says what was done (faults, client reconnects), how
long each fault took to recover from (from the strike to the first event acknowledged after it
reaching a client), and the most repeated warning of each component's log.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gzip
import json
import re
import signal
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from schemas.contract import EVENT_TYPES
from streams.broker.cluster import LocalCluster
from streams.settings import Settings
from streams.topics import create_topics
from streams.worker.runner import STOP_DEADLINE_S
from tests.faults.checker import Ack, LiveEvent, PipelineEnd, Report, check
from tests.faults.nemesis import Fault, System, supervise
from tests.faults.observe import pipeline_end, processed_all
from tests.faults.proxy import FaultyProxy
from tests.faults.workload import Producer, Watcher
from tests.integration.test_gateway_helpers import GatewayProcess, token
from tests.integration.test_worker_harness import WorkerProcess, running_workers, worker_env

PRODUCER_TYPES = (EVENT_TYPES[:3], EVENT_TYPES[3:])


@dataclass
class Scenario:
    events: int
    rate: float
    clients: int
    faults: list[Fault]
    workers: int = 2
    gateways: int = 2
    repeat: bool = False
    cut_share: float = 0.02  # of client connections, every second
    settle_s: float = 300.0
    seed: int = 1


@dataclass
class Outcome:
    report: Report
    recover_s: list[tuple[str, float | None]] = field(default_factory=list)
    log_repeats: dict[str, tuple[int, str]] = field(default_factory=dict)
    stop_s: dict[str, float] = field(default_factory=dict)
    elapsed_s: float = 0.0


async def run_scenario(
    scenario: Scenario, cluster: LocalCluster, settings: Settings, log_dir: Path
) -> Outcome:
    await create_topics(settings)
    started = time.monotonic()
    env = worker_env(settings, log_dir / "data")
    producers = [
        Producer(
            settings,
            f"producer-{i}",
            types,
            scenario.events // 2,
            scenario.rate / 2,
            scenario.seed * 10 + i,
        )
        for i, types in enumerate(PRODUCER_TYPES)
    ]
    # Behind the proxy every client comes from 127.0.0.1: no per-address cap (docs/operations.md).
    gateways = [
        GatewayProcess(settings, log_dir, max_connections_per_ip=0)
        for _ in range(scenario.gateways)
    ]
    proxy = FaultyProxy(lambda: [g.port for g in gateways if g.port], seed=scenario.seed)
    with running_workers(env, log_dir) as workers:
        for i in range(scenario.workers):
            workers.start(f"w{i}")
        try:
            for gateway in gateways:
                gateway.start()
            url = f"ws://127.0.0.1:{await proxy.start()}/ws"
            watchers = [
                Watcher(
                    f"client-{i}",
                    url,
                    token(settings, f"client-{i}"),
                    (EVENT_TYPES[i % len(EVENT_TYPES)],),
                )
                for i in range(scenario.clients)
            ]
            system = System(settings, cluster, workers, gateways, proxy, log_dir,
                            lambda: sum(len(p.acks) for p in producers),
                            lambda t: _delivered_since(t, producers, watchers))  # fmt: skip
            outcome = await _run(scenario, system, producers, watchers)
            outcome.stop_s = _stop(workers.started, gateways)
        finally:
            await proxy.stop()
            for gateway in gateways:
                gateway.stop()
    outcome.log_repeats = log_repeats(await asyncio.to_thread(read_logs, log_dir))
    outcome.elapsed_s = time.monotonic() - started
    outcome.report.notes += [
        f"{len(system.strikes)} faults: " + "; ".join(sorted({w for w, _ in system.strikes})),
        *system.notes,
        f"started again by the supervisor: {', '.join(system.restarts) or 'nothing'}",
        f"client connections: {sum(w.connections for w in watchers):,} "
        f"({proxy.cuts:,} cut by the proxy)",
        f"elapsed {outcome.elapsed_s:.0f} s; producers' failed sends "
        f"(sent again) {sum(p.failed_sends for p in producers)}",
    ]
    return outcome


async def _run(
    scenario: Scenario, system: System, producers: list[Producer], watchers: list[Watcher]
) -> Outcome:
    subscribed = [asyncio.Event() for _ in watchers]
    watching = [asyncio.create_task(w.run(e)) for w, e in zip(watchers, subscribed, strict=True)]
    cutting = asyncio.create_task(_cut_at_random(system.proxy, scenario.cut_share))
    supervising = asyncio.create_task(supervise(system))
    try:
        async with asyncio.timeout(120):
            await asyncio.gather(*(e.wait() for e in subscribed))
        producing = asyncio.gather(*(p.run() for p in producers))
        rounds = 0
        while rounds == 0 or (scenario.repeat and system.acked() < scenario.events):
            rounds += 1
            for fault in scenario.faults:
                await system.recovered()
                await system.busy(min(200, scenario.events // (4 * len(scenario.faults)) + 1))
                await fault(system)
        await system.recovered()
        for producer in producers:
            producer.enough.set()
        await producing
        acks = [a for p in producers for a in p.acks]
        await system.until("the workers processed every acknowledged record",
                           lambda: processed_all(system.settings, acks), scenario.settle_s)  # fmt: skip
        end = await pipeline_end(system.settings)
        await _settle(watchers, end.live, scenario.settle_s)
    finally:
        for task in (cutting, supervising, *watching):
            task.cancel()
        await asyncio.gather(cutting, supervising, *watching, return_exceptions=True)
    report = check(acks, [w.log for w in watchers], end)
    if not report.ok:
        await asyncio.to_thread(_keep_history, system, acks, watchers, end)
    return Outcome(report, _recovery(system, producers, watchers))


def _keep_history(
    system: System, acks: list[Ack], watchers: list[Watcher], end: PipelineEnd
) -> None:
    """What the checker was given, for a post-mortem (Jepsen keeps its histories too)."""
    path = system.log_dir / "history.json.gz"
    with gzip.open(path, "wt") as out:
        json.dump({
            "strikes": system.strikes,
            "now": [time.monotonic(), time.time()],
            "acks": [dataclasses.astuple(a) for a in acks],
            "live": [dataclasses.astuple(e) for e in end.live],
            "dead_lettered": sorted(end.dead_lettered),
            "filtered": [[*k, v] for k, v in end.filtered.items()],
            "clients": {w.name: [dataclasses.astuple(r) for r in w.log.receipts] for w in watchers[:6]},
        }, out)  # fmt: skip
    print(f"history kept in {path}", flush=True)


async def _cut_at_random(proxy: FaultyProxy, share: float) -> None:
    while share:
        await asyncio.sleep(1)  # the fault's rhythm: a share of connections each second
        proxy.cut(share)


async def _settle(watchers: list[Watcher], live: list[LiveEvent], timeout_s: float) -> None:
    owed = Counter(e.position[0] for e in live)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if all(len({r.position for r in w.log.receipts}) >= owed[w.types[0]] for w in watchers):
            return
        await asyncio.sleep(0.5)


def _delivered_since(since: float, producers: list[Producer], watchers: list[Watcher]) -> bool:
    for watcher in watchers:
        receipts, times = watcher.log.receipts, watcher.received_at
        for i in range(len(times) - 1, -1, -1):
            if times[i] < since:
                break
            if any(p.acked_at.get(receipts[i].event_id, 0.0) >= since for p in producers):
                return True
    return False


def _recovery(
    system: System, producers: list[Producer], watchers: list[Watcher]
) -> list[tuple[str, float | None]]:
    """Per fault: from the strike to the first event acknowledged after it reaching a client."""
    acked_at = {k: v for p in producers for k, v in p.acked_at.items()}
    firsts: dict[str, float] = {}
    for watcher in watchers:
        for receipt, at in zip(watcher.log.receipts, watcher.received_at, strict=True):
            if at < firsts.get(receipt.event_id, float("inf")):
                firsts[receipt.event_id] = at
    out: list[tuple[str, float | None]] = []
    for what, struck in system.strikes:
        later = [firsts[e] for e, t in acked_at.items() if t >= struck and e in firsts]
        out.append((what, min(later) - struck if later else None))
    return out


def _stop(workers: list[WorkerProcess], gateways: list[GatewayProcess]) -> dict[str, float]:
    """SIGTERM everything at once; how long each took to exit (each must meet its deadline)."""
    began = time.monotonic()
    alive = [w for w in workers if w.alive]
    for worker in alive:
        worker.process.send_signal(signal.SIGTERM)
    for gateway in gateways:
        gateway.signal(signal.SIGTERM)
    took: dict[str, float] = {}
    for worker in alive:
        worker.process.wait(STOP_DEADLINE_S + 15)
        took[worker.name] = time.monotonic() - began
    for i, gateway in enumerate(gateways):
        gateway.wait(30)
        took[f"gateway-{i}"] = time.monotonic() - began
    return took


def read_logs(log_dir: Path) -> dict[str, list[str]]:
    """Every worker and gateway log of a run, by file name."""
    paths = sorted(log_dir.glob("w*.log")) + sorted(log_dir.glob("gateway-*.log"))
    return {p.name: p.read_text(errors="replace").splitlines() for p in paths}


NOISE = re.compile(r"\d+|\[and \d+ more like this in the last \d+ s\]|0x[0-9a-f]+")


def log_repeats(logs: Mapping[str, list[str]]) -> dict[str, tuple[int, str]]:
    """Per log: the warning or error line logged most often (numbers aside), and how often.
    Info lines, traceback frames and blank lines are not counted."""
    worst: dict[str, tuple[int, str]] = {}
    for name, lines in logs.items():
        kinds: Counter[str] = Counter()
        for line in lines:
            if not line.strip() or line[0].isspace() or line.startswith("Traceback"):
                continue
            if "[INFO]" in line or '"level": "info"' in line:
                continue
            kinds[NOISE.sub("N", line)[:160]] += 1
        if kinds:
            text, count = kinds.most_common(1)[0]
            worst[name] = (count, text)
    return worst
