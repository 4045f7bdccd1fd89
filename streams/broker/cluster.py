"""Start, watch and stop a local Apache Kafka cluster (1 or 3 KRaft nodes) as child JVMs.

State lives in one directory: ``cluster.json`` (nodes, ports, cluster id, processes) and a folder per
node with its configuration, data and logs. Any process can therefore ask for the status of, or
stop, a cluster another process started. Stopping is SIGTERM (Kafka's controlled shutdown), then
SIGKILL after a deadline, and a pid is only signalled while its command line still names our node
directory, so a recycled pid is never killed by mistake.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import signal
import socket
import subprocess
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

from streams.broker.config import NodeSpec, log4j2_properties, server_properties
from streams.broker.errors import BrokerError
from streams.broker.jars import ensure_classpath, require_tool

READY_MARKER = "Kafka Server started"
STATE_FILE = "cluster.json"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def new_cluster_id() -> str:
    """A KRaft cluster id: 16 random bytes, URL-safe base64 without padding.

    An id starting with "-" would be read as an option by the storage tool, so those are drawn
    again (Kafka's own generator avoids them the same way).
    """
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


@dataclass
class ClusterState:
    """What ``cluster.json`` records about a cluster."""

    cluster_id: str
    ports: list[int]
    controller_ports: list[int]
    pids: dict[str, int] = field(default_factory=dict)
    start_ticks: dict[str, int] = field(default_factory=dict)


class LocalCluster:
    """A local KRaft cluster rooted at ``directory``."""

    def __init__(self, directory: Path, heap: str = "512m") -> None:
        self.directory = directory.resolve()
        self.heap = heap

    # -- state -------------------------------------------------------------------------------
    @property
    def state_file(self) -> Path:
        return self.directory / STATE_FILE

    def load_state(self) -> ClusterState | None:
        if not self.state_file.exists():
            return None
        try:
            return ClusterState(**json.loads(self.state_file.read_text()))
        except (ValueError, TypeError) as exc:
            raise BrokerError(
                f"{self.state_file} is corrupt ({exc}); remove {self.directory} to start afresh"
            ) from exc

    def _save_state(self, state: ClusterState) -> None:
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(state), indent=2))
        tmp.replace(self.state_file)

    def nodes(self, state: ClusterState) -> list[NodeSpec]:
        return [
            NodeSpec(i + 1, port, cport, self.directory / f"node-{i + 1}")
            for i, (port, cport) in enumerate(zip(state.ports, state.controller_ports, strict=True))
        ]

    @property
    def bootstrap_servers(self) -> str:
        state = self._require_state()
        return ",".join(f"127.0.0.1:{port}" for port in state.ports)

    def _require_state(self) -> ClusterState:
        state = self.load_state()
        if state is None:
            raise BrokerError(f"no broker was ever started in {self.directory}")
        return state

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self, nodes: int = 1, port: int = 9092, timeout: float = 90.0) -> str:
        """Start the cluster (creating and formatting it on first use); return bootstrap servers.

        ``port=0`` picks free ports, which is what tests use. An existing cluster directory keeps
        its data, ports and size: restarting a stopped cluster resumes its log.
        """
        require_tool("java", "install a Java 17+ runtime (Debian: apt-get install openjdk-17-jre)")
        libs = ensure_classpath()
        state = self.load_state() or self._create(nodes, port)
        if len(state.ports) != nodes:
            raise BrokerError(
                f"{self.directory} holds a {len(state.ports)}-node cluster; "
                f"remove it or use another --data-dir for {nodes} nodes"
            )
        for node in self.nodes(state):
            if self._alive(state, node):
                continue
            if port_in_use(node.port) or port_in_use(node.controller_port):
                raise BrokerError(
                    f"port {node.port} or {node.controller_port} is already in use; "
                    "stop what listens there or choose another --port"
                )
            self._launch(node, libs, state)
        self._save_state(state)
        self.wait_ready(timeout)
        return self.bootstrap_servers

    def _create(self, nodes: int, port: int) -> ClusterState:
        if nodes not in (1, 3):
            raise BrokerError("a local cluster has 1 or 3 nodes")
        ports = [free_port() if port == 0 else port + i for i in range(nodes)]
        cports = [free_port() if port == 0 else port + 100 + i for i in range(nodes)]
        cluster_id = new_cluster_id()
        state = ClusterState(cluster_id=cluster_id, ports=ports, controller_ports=cports)
        self.directory.mkdir(parents=True, exist_ok=True)
        specs = self.nodes(state)
        libs = ensure_classpath()
        for node in specs:
            node.directory.mkdir(parents=True, exist_ok=True)
            node.properties_file.write_text(server_properties(node, specs))
            node.log4j_file.write_text(log4j2_properties(node))
            self._format(node, libs, cluster_id)
        self._save_state(state)
        return state

    def _java(self, node: NodeSpec, libs: Path, main: str, *args: str) -> list[str]:
        return [
            "java", f"-Xmx{self.heap}", "-Xms128m", "-XX:+UseG1GC", "-XX:TieredStopAtLevel=1",
            "-Djava.awt.headless=true", f"-Dlog4j2.configurationFile={node.log4j_file}",
            f"-Dkafka.logs.dir={node.directory}", "-cp", f"{libs}/*", main, *args,
        ]  # fmt: skip

    def _format(self, node: NodeSpec, libs: Path, cluster_id: str) -> None:
        command = self._java(
            node, libs, "kafka.tools.StorageTool", "format", "-t", cluster_id,
            "-c", str(node.properties_file), "--ignore-formatted",
        )  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise BrokerError(
                f"formatting {node.log_dir} failed: {result.stdout}{result.stderr}".strip()
                + f"\nremove {self.directory} (or choose another --data-dir) and start again"
            )

    def _launch(self, node: NodeSpec, libs: Path, state: ClusterState) -> None:
        if not (node.log_dir / "meta.properties").exists():
            raise BrokerError(
                f"{node.log_dir} is not a formatted Kafka log directory; "
                f"remove {self.directory} (or choose another --data-dir) and start again"
            )
        node.server_log.write_text("")
        with node.console_log.open("ab") as console:
            process = subprocess.Popen(
                self._java(node, libs, "kafka.Kafka", str(node.properties_file)),
                stdout=console,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        state.pids[str(node.node_id)] = process.pid
        state.start_ticks[str(node.node_id)] = _start_ticks(process.pid)
        # Reap the child when it exits so a killed node never lingers as a zombie.
        threading.Thread(target=process.wait, daemon=True).start()

    def wait_ready(self, timeout: float = 90.0) -> None:
        """Block until every node logged that it started and the cluster metadata lists them all."""
        state = self._require_state()
        deadline = time.monotonic() + timeout
        for node in self.nodes(state):
            while READY_MARKER not in _read(node.server_log):
                if not self._alive(state, node):
                    raise BrokerError(
                        f"broker node {node.node_id} exited during start-up; last log lines:\n"
                        + _tail(node.server_log, node.console_log)
                    )
                if time.monotonic() > deadline:
                    raise BrokerError(f"broker node {node.node_id} did not start in {timeout}s")
                time.sleep(0.2)
        remaining = max(1.0, deadline - time.monotonic())
        count = _count_brokers_sync(self.bootstrap_servers, remaining)
        if count < len(state.ports):
            raise BrokerError(f"metadata lists {count} of {len(state.ports)} brokers")

    def stop(self, timeout: float = 30.0) -> None:
        """Stop every running node: controlled shutdown, then SIGKILL after ``timeout``."""
        state = self.load_state()
        if state is None:
            return
        for node in self.nodes(state):
            self._signal(state, node, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for node in self.nodes(state):
            while self._alive(state, node) and time.monotonic() < deadline:
                time.sleep(0.1)
            if self._alive(state, node):
                self._signal(state, node, signal.SIGKILL)
                while self._alive(state, node):
                    time.sleep(0.05)
        state.pids.clear()
        state.start_ticks.clear()
        self._save_state(state)

    def kill_node(self, node_id: int) -> None:
        """SIGKILL one node (failure tests): no controlled shutdown, no flush."""
        state = self._require_state()
        node = self.nodes(state)[node_id - 1]
        self._signal(state, node, signal.SIGKILL)
        while self._alive(state, node):
            time.sleep(0.05)
        state.pids.pop(str(node_id), None)
        state.start_ticks.pop(str(node_id), None)
        self._save_state(state)

    def stop_node(self, node_id: int, timeout: float = 60.0) -> None:
        """Stop one node the way an operator does in a rolling restart: controlled shutdown
        (SIGTERM: leadership moves away first), SIGKILL only after ``timeout``."""
        state = self._require_state()
        node = self.nodes(state)[node_id - 1]
        self._signal(state, node, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while self._alive(state, node) and time.monotonic() < deadline:
            time.sleep(0.1)
        if self._alive(state, node):
            self.kill_node(node_id)
            return
        state.pids.pop(str(node_id), None)
        state.start_ticks.pop(str(node_id), None)
        self._save_state(state)

    def start_node(self, node_id: int, timeout: float = 90.0) -> None:
        """Start one stopped node again and wait until the cluster lists it."""
        state = self._require_state()
        node = self.nodes(state)[node_id - 1]
        if not self._alive(state, node):
            self._launch(node, ensure_classpath(), state)
            self._save_state(state)
        self.wait_ready(timeout)

    def running_nodes(self) -> list[int]:
        state = self.load_state()
        if state is None:
            return []
        return [n.node_id for n in self.nodes(state) if self._alive(state, n)]

    # -- processes ---------------------------------------------------------------------------
    def _alive(self, state: ClusterState, node: NodeSpec) -> bool:
        """Whether the node's recorded process still runs.

        A process is identified by pid *and* start time (which exec does not change), so a pid
        the kernel recycled for another program never counts as our broker.
        """
        key = str(node.node_id)
        pid = state.pids.get(key)
        if pid is None:
            return False
        try:
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()
        except (OSError, IndexError):
            return False
        return stat[0] != "Z" and int(stat[19]) == state.start_ticks.get(key)

    def _signal(self, state: ClusterState, node: NodeSpec, sig: signal.Signals) -> None:
        if self._alive(state, node):
            with contextlib.suppress(ProcessLookupError):
                os.kill(state.pids[str(node.node_id)], sig)


def _start_ticks(pid: int) -> int:
    """The process's start time in clock ticks since boot (field 22 of /proc/<pid>/stat)."""
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()[19])


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""


def _tail(*paths: Path, lines: int = 20) -> str:
    text = "\n".join(_read(p) for p in paths)
    return "\n".join(text.strip().splitlines()[-lines:])


def _count_brokers_sync(bootstrap: str, timeout: float) -> int:
    """Ask the cluster how many brokers its metadata lists, from a private event loop.

    It runs in its own thread so that callers inside a running event loop (async tests that
    restart a node) can use the same blocking API.
    """
    result: list[int] = []

    def run() -> None:
        result.append(asyncio.run(_count_brokers(bootstrap, timeout)))

    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    return result[0] if result else 0


async def _count_brokers(bootstrap: str, budget_s: float) -> int:
    from aiokafka import AIOKafkaClient
    from aiokafka.errors import KafkaError

    deadline = time.monotonic() + budget_s
    count = 0
    while time.monotonic() < deadline:
        client = AIOKafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
        try:
            await client.bootstrap()
            count = len(client.cluster.brokers())
        except KafkaError:
            count = 0
        finally:
            await client.close()
        if count >= len(bootstrap.split(",")):
            return count
        await asyncio.sleep(0.3)
    return count
