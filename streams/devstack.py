"""`regstream dev`: the whole system on one machine, started in order, kept running, stopped as one.

Order matters: the broker first (everything needs it), then the topics and the demo's agents in
the agent directory, then the long-running processes. Each child runs in its own process group.

Supervision: a child that exits while nobody asked it to is started again, after a delay that
doubles with each quick failure (1 s up to 30 s, back to 1 s once it stayed up a minute), and
the terminal says so; a broker node that dies is started again the same way. The dashboard
recovers by itself: its client reconnects and resumes when the gateway is back on its port.

One per directory: a second `regstream dev` on the same broker directory says where the first
one runs and exits with status 1, touching nothing (:mod:`streams.devlock`).

Ctrl-C or SIGTERM stops the children (SIGTERM, then SIGKILL after a deadline) and then the
broker, so no process outlives the command.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from streams.agents import load_agents
from streams.broker.cluster import LocalCluster
from streams.broker.errors import BrokerError
from streams.devlock import DevLock
from streams.samples import AGENT_DIRECTORY
from streams.settings import load_settings
from streams.topics import create_topics

STOP_DEADLINE_S = 15.0
RESTART_FIRST_S, RESTART_CAP_S, STABLE_S = 1.0, 30.0, 60.0
TICK_S = 0.2


@dataclass(frozen=True)
class DevProcess:
    name: str
    argv: list[str]


CLI = [sys.executable, "-m", "streams.cli.main"]


def dev_processes(demo_rate: float, gateway_port: int) -> list[DevProcess]:
    """The long-running processes of the dev system, in start order."""
    return [
        DevProcess("worker", [*CLI, "worker"]),
        DevProcess("gateway", [*CLI, "gateway", "--port", str(gateway_port)]),
        DevProcess("demo", [*CLI, "demo", "--rate", str(demo_rate)]),
    ]


def mint_dev_token() -> str:
    """A day-long dev token that may read every topic and answer agents (CollaborationEvent)."""
    command = [*CLI, "token", "mint", "--sub", "dev", "--publish", "CollaborationEvent"]
    result = subprocess.run(
        [*command, "--ttl", "86400"], capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


@dataclass
class Restarts:
    """When a component that keeps failing may start again (see the module docstring)."""

    delay_s: float = RESTART_FIRST_S
    count: int = 0
    due: float | None = None

    def failed(self, up_s: float, now: float) -> float:
        if up_s >= STABLE_S:
            self.delay_s = RESTART_FIRST_S
        delay, self.delay_s = self.delay_s, min(RESTART_CAP_S, self.delay_s * 2)
        self.count += 1
        self.due = now + delay
        return delay


@dataclass
class Child:
    spec: DevProcess
    process: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    restarts: Restarts = field(default_factory=Restarts)

    def start(self) -> None:
        self.process = subprocess.Popen(self.spec.argv, start_new_session=True)
        self.started = time.monotonic()
        self.restarts.due = None
        say(f"started {self.spec.name} (pid {self.process.pid})")


def say(text: str) -> None:
    print(text, flush=True)


def run_dev(data_dir: Path, port: int, demo_rate: float, gateway_port: int = 8080) -> None:
    """Run until Ctrl-C/SIGTERM; raises AlreadyRunning when another run holds ``data_dir``."""
    lock = DevLock(data_dir)
    lock.acquire()  # raises AlreadyRunning before anything is touched
    cluster = LocalCluster(data_dir)
    children = [Child(spec) for spec in dev_processes(demo_rate, gateway_port)]
    stopping = False

    def request_stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        say("starting Kafka (KRaft) ...")
        bootstrap = cluster.start(nodes=1, port=port)
        os.environ["REGSTREAM_BOOTSTRAP_SERVERS"] = bootstrap
        report = asyncio.run(create_topics(load_settings()))
        asyncio.run(load_agents(load_settings(), AGENT_DIRECTORY))  # before the worker reads it
        say(f"kafka at {bootstrap}; topics created {len(report.created)}, "
            f"existing {len(report.existing)}")  # fmt: skip
        for child in children:
            child.start()
        dashboard = f"http://127.0.0.1:{gateway_port}/"
        lock.publish(dashboard=dashboard, bootstrap=bootstrap)
        token = mint_dev_token()
        say(f"\ndashboard: {dashboard}#token={token}\ndev token (valid 24 h):\n{token}\n\n"
            "running; Ctrl-C stops everything")  # fmt: skip
        broker = Restarts()
        while not stopping:
            supervise(children, cluster, broker, port)
            time.sleep(TICK_S)
    finally:
        say("stopping ...")
        stop_children([c.process for c in children if c.process is not None])
        cluster.stop()
        lock.release()
        say("stopped")


def supervise(children: list[Child], cluster: LocalCluster, broker: Restarts, port: int) -> None:
    """One look at every component: note what died, start again what is due."""
    now = time.monotonic()
    if not cluster.running_nodes():
        if broker.due is None:
            delay = broker.failed(0.0, now)
            say(f"kafka broker exited; starting it again in {delay:.0f} s")
        elif now >= broker.due:
            try:
                cluster.start(nodes=1, port=port)
                broker.due = None
                say("kafka broker started again")
            except BrokerError as exc:
                delay = broker.failed(0.0, time.monotonic())
                say(f"kafka broker did not start ({exc}); trying again in {delay:.0f} s")
    for child in children:
        process = child.process
        if process is not None and process.poll() is not None:
            delay = child.restarts.failed(now - child.started, now)
            say(f"{child.spec.name} exited with {process.returncode}; starting it again in "
                f"{delay:.0f} s (restart {child.restarts.count})")  # fmt: skip
            child.process = None
        elif process is None and child.restarts.due is not None and now >= child.restarts.due:
            child.start()


def stop_children(children: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM every child's process group, then SIGKILL whatever is left after the deadline."""
    for child in children:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_DEADLINE_S
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
