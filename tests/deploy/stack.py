"""The compose cluster of deploy/compose/compose.yaml, driven through podman-compose for a test.

:func:`running_stack` brings it up under a project name of its own, with every published port a
free loopback port, and tears it down when the block exits, even when the test failed:
containers with their anonymous volumes, named volumes, the network. The health checks the
compose file declares are run on demand (``podman healthcheck run``), since podman schedules
them only under systemd.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from streams.broker.cluster import free_port
from streams.settings import Settings

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "deploy" / "compose" / "compose.yaml"
KAFKA = ("kafka-1", "kafka-2", "kafka-3")
REGSTREAM = ("worker-1", "worker-2", "gateway-1", "gateway-2")
# Everything but the profiles a registry would be needed for (grafana) or that only run a
# command (cli); the demo producer runs, as a user's cluster would.
SERVICES = (*KAFKA, *REGSTREAM, "lb", "prometheus", "demo")


def run(command: list[str], env: dict[str, str] | None = None, timeout: float = 300) -> str:
    """Run ``command``; its output, or an AssertionError carrying that output."""
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise AssertionError(
            f"{' '.join(command)} exited {done.returncode}:\n{done.stdout}{done.stderr}"
        )
    return done.stdout


@dataclass
class Stack:
    project: str
    env: dict[str, str]
    ports: dict[str, int]

    def compose(self, *args: str, timeout: float = 600) -> str:
        return run(
            ["podman-compose", "-p", self.project, "-f", str(COMPOSE), *args], self.env, timeout
        )

    def container(self, service: str) -> str:
        names = run(
            ["podman", "ps", "-a", "--format", "{{.Names}}",
             "--filter", f"label=io.podman.compose.project={self.project}",
             "--filter", f"label=com.docker.compose.service={service}"]
        ).split()  # fmt: skip
        assert len(names) == 1, f"service {service}: containers {names}"
        return names[0]

    def healthy(self, service: str) -> bool:
        """The service's own health check (the image's or the compose file's) passes now."""
        check = subprocess.run(
            ["podman", "healthcheck", "run", self.container(service)],
            capture_output=True, timeout=60, check=False,
        )  # fmt: skip
        return check.returncode == 0

    def wait_healthy(self, services: tuple[str, ...], timeout_s: float) -> None:
        """Return once every service's health check passes; fail with their logs after."""
        deadline = time.monotonic() + timeout_s
        pending = list(services)
        while pending:
            pending = [s for s in pending if not self.healthy(s)]
            if pending and time.monotonic() > deadline:
                logs = "\n".join(f"--- {s} ---\n{self.logs(s)}" for s in pending)
                raise AssertionError(f"not healthy after {timeout_s:.0f} s: {pending}\n{logs}")
            if pending:
                time.sleep(2)  # between polls of the health checks

    def kill(self, service: str) -> None:
        run(["podman", "kill", "--signal", "KILL", self.container(service)])

    def start(self, service: str) -> None:
        run(["podman", "start", self.container(service)])

    def logs(self, service: str, lines: int = 30) -> str:
        done = subprocess.run(
            ["podman", "logs", "--tail", str(lines), self.container(service)],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        return done.stdout + done.stderr

    def all_logs(self, lines: int = 30) -> str:
        return "\n".join(f"--- {s} ---\n{self.logs(s, lines)}" for s in SERVICES)

    def memory_bytes(self) -> dict[str, int]:
        """Memory charged to each running container now (podman stats: includes page cache)."""
        stats = json.loads(run(["podman", "stats", "--no-stream", "--format", "json"], timeout=120))
        prefix = f"{self.project}_"
        return {
            row["name"].removeprefix(prefix): _size(row["mem_usage"].split("/")[0])
            for row in stats
            if row["name"].startswith(prefix)
        }

    def http(self, port_name: str, path: str) -> tuple[int, bytes]:
        url = f"http://127.0.0.1:{self.ports[port_name]}{path}"
        try:
            with urllib.request.urlopen(url, timeout=10) as answer:
                return answer.status, answer.read()
        except urllib.error.HTTPError as refused:
            return refused.code, refused.read()
        except OSError:
            return 0, b""

    @property
    def settings(self) -> Settings:
        """Settings for clients on this machine: the brokers' published HOST listeners."""
        kafka = ",".join(f"127.0.0.1:{self.ports[name]}" for name in KAFKA)
        return Settings(
            bootstrap_servers=kafka,
            replication_factor=3,
            jwt_secret=SecretStr(self.env["REGSTREAM_JWT_SECRET"]),
            resume_secret=SecretStr(self.env["REGSTREAM_RESUME_SECRET"]),
        )

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.ports['lb']}/ws"

    def tear_down(self) -> None:
        """Remove everything of the project, whatever state it is in: containers with their
        anonymous volumes first (compose's down would leave those behind), then the named
        volumes and the network."""
        label = f"label=io.podman.compose.project={self.project}"
        for listing, remove in (
            (
                ["podman", "ps", "-a", "-q", "--filter", label],
                ["podman", "rm", "-f", "-v", "-t", "5"],
            ),
            (["podman", "volume", "ls", "-q", "--filter", label], ["podman", "volume", "rm", "-f"]),
        ):
            ids = subprocess.run(
                listing, capture_output=True, text=True, check=False
            ).stdout.split()
            if ids:
                subprocess.run([*remove, *ids], capture_output=True, timeout=300, check=False)
        subprocess.run(["podman", "network", "rm", "-f", f"{self.project}_default"],
                       capture_output=True, timeout=60, check=False)  # fmt: skip


def _size(text: str) -> int:
    text = text.strip()
    units = {
        "kB": 10**3,
        "MB": 10**6,
        "GB": 10**9,
        "KiB": 2**10,
        "MiB": 2**20,
        "GiB": 2**30,
        "B": 1,
    }
    for unit, factor in units.items():
        if text.endswith(unit):
            return int(float(text.removesuffix(unit)) * factor)
    return int(float(text or 0))


def remove_abandoned() -> None:
    """Tear down clusters of earlier runs whose test process is gone (killed before its own
    tear-down): their containers would hold ports, memory and CPU for nothing."""
    projects = subprocess.run(
        ["podman", "ps", "-a", "--format", '{{index .Labels "io.podman.compose.project"}}'],
        capture_output=True, text=True, timeout=60, check=False,
    ).stdout.split()  # fmt: skip
    for project in set(projects):
        pid = project.split("-")[2] if project.startswith("regstream-test-") else ""
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            Stack(project, dict(os.environ), {}).tear_down()


@contextmanager
def running_stack(ready_timeout_s: float) -> Iterator[Stack]:
    """The cluster up, then gone. The brokers start first and the rest once they answer, as
    `depends_on: service_healthy` orders it where compose honours it (podman-compose 1.0.3
    does not): regstream processes started earlier would only exit and restart until then."""
    ports = {name: free_port() for name in (*KAFKA, "lb", "prometheus")}
    env = dict(os.environ)
    env.update(
        {
            "REGSTREAM_JWT_SECRET": secrets.token_hex(32),
            "REGSTREAM_RESUME_SECRET": secrets.token_hex(32),
            "REGSTREAM_KAFKA_PORT_1": str(ports["kafka-1"]),
            "REGSTREAM_KAFKA_PORT_2": str(ports["kafka-2"]),
            "REGSTREAM_KAFKA_PORT_3": str(ports["kafka-3"]),
            "REGSTREAM_LISTEN": "127.0.0.1",
            "REGSTREAM_PORT": str(ports["lb"]),
            "REGSTREAM_PUBLIC_URL": f"http://127.0.0.1:{ports['lb']}",
            "REGSTREAM_PROMETHEUS_PORT": str(ports["prometheus"]),
            "REGSTREAM_DEMO_RATE": "5",
            # Quicker JVM start on a shared machine; the brokers' throughput is not under test.
            "REGSTREAM_KAFKA_JVM_OPTS": "-XX:TieredStopAtLevel=1",
        }
    )
    remove_abandoned()
    stack = Stack(f"regstream-test-{os.getpid()}-{int(time.time())}", env, ports)
    try:
        stack.compose("up", "-d", *KAFKA)
        stack.wait_healthy(KAFKA, ready_timeout_s)
        stack.compose("up", "-d", *(s for s in SERVICES if s not in KAFKA))
        yield stack
    finally:
        stack.tear_down()
