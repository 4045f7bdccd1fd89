"""`regstream dev`: the whole system on one machine, started in order and stopped as one.

Order matters: the broker first (everything needs it), then the topics and the demo's agents
in the agent directory, then the long-running processes. Each child runs in its own process group; Ctrl-C or SIGTERM stops the children
(SIGTERM, then SIGKILL after a deadline) and then the broker, so no process outlives the command.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from streams.agents import load_agents
from streams.broker.cluster import LocalCluster
from streams.samples import AGENT_DIRECTORY
from streams.settings import load_settings
from streams.topics import create_topics

STOP_DEADLINE_S = 15.0


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


def run_dev(data_dir: Path, port: int, demo_rate: float, gateway_port: int = 8080) -> None:
    cluster = LocalCluster(data_dir)
    children: list[tuple[DevProcess, subprocess.Popen[bytes]]] = []
    stopping = False

    def request_stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        print("starting Kafka (KRaft) ...", flush=True)
        bootstrap = cluster.start(nodes=1, port=port)
        os.environ["REGSTREAM_BOOTSTRAP_SERVERS"] = bootstrap
        report = asyncio.run(create_topics(load_settings()))
        asyncio.run(load_agents(load_settings(), AGENT_DIRECTORY))  # before the worker reads it
        print(f"kafka at {bootstrap}; topics created {len(report.created)}, "
              f"existing {len(report.existing)}", flush=True)  # fmt: skip
        for process in dev_processes(demo_rate, gateway_port):
            child = subprocess.Popen(process.argv, start_new_session=True)
            children.append((process, child))
            print(f"started {process.name} (pid {child.pid})", flush=True)
        token = mint_dev_token()
        print(
            f"\ndashboard: http://127.0.0.1:{gateway_port}/#token={token}\n"
            f"dev token (valid 24 h):\n{token}\n\nrunning; Ctrl-C stops everything",
            flush=True,
        )
        while not stopping:
            for process, child in children:
                if child.poll() is not None:
                    print(f"{process.name} exited with {child.returncode}; stopping", flush=True)
                    stopping = True
            time.sleep(0.2)
    finally:
        print("stopping ...", flush=True)
        stop_children([child for _, child in children])
        cluster.stop()
        print("stopped", flush=True)


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
