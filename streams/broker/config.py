"""Render the configuration files of one local KRaft node.

Every node is a combined broker+controller on 127.0.0.1. A single node gets replication factor 1
everywhere, including the transaction state log (whose defaults of 3/2 would make transactions fail
on one node). Three nodes get the settings a failure test needs to mean anything: replication
factor 3, min.insync.replicas 2 and no unclean leader election, so an acknowledged write survives
the loss of any one node.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class NodeSpec:
    """Identity and addresses of one node of a local cluster."""

    node_id: int
    port: int
    controller_port: int
    directory: Path

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log_dir(self) -> Path:
        return self.directory / "data"

    @property
    def properties_file(self) -> Path:
        return self.directory / "server.properties"

    @property
    def log4j_file(self) -> Path:
        return self.directory / "log4j2.properties"

    @property
    def server_log(self) -> Path:
        return self.directory / "server.log"

    @property
    def console_log(self) -> Path:
        return self.directory / "console.log"


def server_properties(node: NodeSpec, nodes: list[NodeSpec]) -> str:
    """server.properties for ``node`` in a cluster made of ``nodes``."""
    voters = ",".join(f"{n.node_id}@127.0.0.1:{n.controller_port}" for n in nodes)
    replicas = min(len(nodes), 3)
    min_isr = 2 if replicas >= 3 else 1
    lines = {
        "process.roles": "broker,controller",
        "node.id": str(node.node_id),
        "controller.quorum.voters": voters,
        "listeners": f"PLAINTEXT://127.0.0.1:{node.port},CONTROLLER://127.0.0.1:{node.controller_port}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{node.port}",
        "controller.listener.names": "CONTROLLER",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "inter.broker.listener.name": "PLAINTEXT",
        "log.dirs": str(node.log_dir),
        "num.partitions": "1",
        "default.replication.factor": str(replicas),
        "min.insync.replicas": str(min_isr),
        "offsets.topic.replication.factor": str(replicas),
        "transaction.state.log.replication.factor": str(replicas),
        "transaction.state.log.min.isr": str(min_isr),
        "unclean.leader.election.enable": "false",
        "auto.create.topics.enable": "false",
        "group.initial.rebalance.delay.ms": "0",
        # Small segments so retention tests can delete old data within seconds.
        "log.segment.bytes": str(16 * 1024 * 1024),
        "log.retention.check.interval.ms": "5000",
        "log.segment.delete.delay.ms": "1000",
    }
    return "".join(f"{key}={value}\n" for key, value in lines.items())


def log4j2_properties(node: NodeSpec) -> str:
    """A log4j2 configuration writing the broker's log to its node directory."""
    return (
        "status = warn\n"
        "appender.file.type = File\n"
        "appender.file.name = file\n"
        f"appender.file.fileName = {node.server_log}\n"
        "appender.file.layout.type = PatternLayout\n"
        "appender.file.layout.pattern = [%d] %p %m (%c)%n\n"
        "rootLogger.level = INFO\n"
        "rootLogger.appenderRef.file.ref = file\n"
        "logger.kafka.name = kafka\nlogger.kafka.level = INFO\n"
        "logger.state.name = state.change.logger\nlogger.state.level = WARN\n"
    )
