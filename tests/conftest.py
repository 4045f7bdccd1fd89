"""Fixtures shared by every test tier."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from streams.settings import Settings
from tests.kafka_broker import BrokerHandle, provide_broker


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerHandle]:
    """A real Kafka broker for the whole session (see tests/kafka_broker.py)."""
    with provide_broker(tmp_path_factory.mktemp("kafka")) as handle:
        yield handle


@pytest.fixture(scope="session")
def kafka_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerHandle]:
    """A real 3-node cluster (replication factor 3, min.insync.replicas 2) for the fault
    scenarios, one for the whole session: local broker processes, so that tests can kill them."""
    with provide_broker(tmp_path_factory.mktemp("kafka3"), nodes=3) as handle:
        yield handle


def unique_settings(bootstrap: str, **options: object) -> Settings:
    """Settings with topic prefixes unique to one test.

    Unique prefixes keep tests independent on a shared broker without deleting topics.
    """
    suffix = uuid.uuid4().hex[:8]
    return Settings(
        bootstrap_servers=bootstrap,
        input_prefix=f"t{suffix}.events.",
        live_prefix=f"t{suffix}.live.",
        dlq_topic=f"t{suffix}.events.dlq",
        agents_topic=f"t{suffix}.ref.agents",
        audit_topic=f"t{suffix}.gateway.audit",
        partitions=3,
        **options,  # type: ignore[arg-type]
    )


@pytest.fixture
def settings(kafka_broker: BrokerHandle) -> Settings:
    """Settings pointing at the test broker, with topic prefixes unique to this test."""
    return unique_settings(kafka_broker.bootstrap_servers)


@pytest.fixture
def cluster_settings(kafka_cluster: BrokerHandle) -> Settings:
    """Settings for the 3-node cluster: topics replicated 3 times, unique to this test."""
    return unique_settings(kafka_cluster.bootstrap_servers, replication_factor=3)
