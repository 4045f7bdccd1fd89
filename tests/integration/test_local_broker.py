"""The embedded broker tooling: clear errors for the common mistakes, and a 3-node cluster that
keeps every acknowledged write when a node is SIGKILLed mid-stream (the session's 3-node
cluster, shared with the fault scenarios)."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from schemas.codec import AvroCodec
from streams.broker.cluster import LocalCluster
from streams.broker.errors import BrokerError
from streams.producer import EventProducer
from streams.samples import SampleEvents
from streams.settings import Settings
from streams.topics import create_topics
from tests.integration.helpers import read_all
from tests.kafka_broker import BrokerHandle


def test_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        with pytest.raises(BrokerError, match=f"port {port} .* already in use"):
            LocalCluster(tmp_path / "cluster").start(port=port)
    assert LocalCluster(tmp_path / "cluster").running_nodes() == []


def test_corrupt_data_directory_is_a_clear_error(tmp_path: Path) -> None:
    directory = tmp_path / "cluster"
    directory.mkdir()
    (directory / "cluster.json").write_text("{not json")
    with pytest.raises(BrokerError, match=r"corrupt.*remove"):
        LocalCluster(directory).start(port=0)


def test_missing_java_is_reported_by_the_cli(tmp_path: Path) -> None:
    env = dict(os.environ, PATH=str(Path(sys.executable).parent))
    result = subprocess.run(
        [sys.executable, "-m", "streams.cli.main", "broker", "start",
         "--data-dir", str(tmp_path / "c"), "--port", "0"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert "java is not on PATH" in result.stderr


async def test_three_nodes_keep_acknowledged_writes_when_one_is_killed(
    kafka_cluster: BrokerHandle, cluster_settings: Settings
) -> None:
    cluster, settings = kafka_cluster.cluster, cluster_settings
    assert cluster is not None
    try:
        await create_topics(settings)
        samples = SampleEvents(seed=9)
        records = [samples.next("AgentStatusUpdate") for _ in range(3_000)]
        acknowledged: list[str] = []
        async with EventProducer(settings, request_timeout_ms=60_000) as producer:
            for index in range(0, len(records), 300):
                if index == 1_500:
                    await asyncio.to_thread(cluster.kill_node, 2)
                chunk = records[index : index + 300]
                results = await producer.send_many("AgentStatusUpdate", chunk)
                for record, result in zip(chunk, results, strict=True):
                    if not isinstance(result, BaseException):
                        acknowledged.append(record["metadata"]["event_id"])
        assert len(acknowledged) == len(records), "writes failed while one of three nodes was down"
        landed = await read_all(settings, settings.catalog.input_topic("AgentStatusUpdate"), 3_000)
        codec = AvroCodec()
        ids = [codec.decode(m.value).record["metadata"]["event_id"] for m in landed]
        assert sorted(ids) == sorted(acknowledged), "lost or duplicated acknowledged writes"
        assert cluster.running_nodes() == [1, 3]
    finally:
        await asyncio.to_thread(cluster.start_node, 2, 240.0)  # the cluster is shared: whole again
