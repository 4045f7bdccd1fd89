"""The one way tests get a real Kafka broker (STYLE.md §7).

In order of preference:
1. ``REGSTREAM_TEST_BOOTSTRAP`` names an external cluster: use it as it is;
2. a Docker engine answers: testcontainers' ``KafkaContainer``;
3. otherwise the embedded local broker (real Apache Kafka from Maven Central jars, KRaft mode),
   started on free loopback ports in a temporary directory and stopped at the end of the session,
   even when tests fail.

No integration test is ever skipped for want of a broker: if none can be provided, the fixture
fails with the reason.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from streams.broker.cluster import LocalCluster


@dataclass
class BrokerHandle:
    """A running cluster: its bootstrap address and, when we run it, the means to hurt it."""

    bootstrap_servers: str
    kind: str
    cluster: LocalCluster | None = None


def docker_engine_answers() -> bool:
    """True when a Docker engine answers ``GET /_ping`` (a docker client alone is not enough).

    Asked over the engine's unix socket with a plain HTTP request, so a missing engine costs
    one failed connect and leaves no client object with half-open sockets behind.
    """
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if not host.startswith("unix://"):
        return True  # a remote engine was configured on purpose: let testcontainers use it
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(3)
            sock.connect(host.removeprefix("unix://"))
            sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            reply = sock.recv(64)
        return reply.startswith(b"HTTP/1.") and b" 200 " in reply
    except OSError:
        return False


@contextmanager
def provide_broker(directory: Path, nodes: int = 1) -> Iterator[BrokerHandle]:
    external = os.environ.get("REGSTREAM_TEST_BOOTSTRAP")
    if external and nodes == 1:
        yield BrokerHandle(external, "external")
        return
    if nodes == 1 and docker_engine_answers():
        from testcontainers.kafka import KafkaContainer  # type: ignore[import-untyped]

        with KafkaContainer().with_kraft() as container:
            yield BrokerHandle(container.get_bootstrap_server(), "testcontainers")
        return
    cluster = LocalCluster(directory)
    try:
        # Three JVMs starting at once on a small, busy machine can take minutes.
        bootstrap = cluster.start(nodes=nodes, port=0, timeout=90.0 * nodes)
        yield BrokerHandle(bootstrap, "local", cluster)
    finally:
        cluster.stop()
