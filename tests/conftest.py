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


@pytest.fixture
def settings(kafka_broker: BrokerHandle, request: pytest.FixtureRequest) -> Settings:
    """Settings pointing at the test broker, with topic prefixes unique to this test.

    Unique prefixes keep tests independent on a shared broker without deleting topics.
    """
    suffix = uuid.uuid4().hex[:8]
    return Settings(
        bootstrap_servers=kafka_broker.bootstrap_servers,
        input_prefix=f"t{suffix}.events.",
        live_prefix=f"t{suffix}.live.",
        dlq_topic=f"t{suffix}.events.dlq",
        agents_topic=f"t{suffix}.ref.agents",
        audit_topic=f"t{suffix}.gateway.audit",
        partitions=3,
    )
