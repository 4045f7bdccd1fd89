"""Kafka client construction in one place, so every component talks to the cluster the same way."""

from __future__ import annotations

from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaConnectionError

from streams.errors import StreamsError
from streams.settings import Settings


class BrokerUnavailable(StreamsError, ConnectionError):
    """Kafka could not be reached at the configured bootstrap address."""

    def __init__(self, bootstrap: str, cause: BaseException) -> None:
        super().__init__(
            f"cannot reach Kafka at {bootstrap} ({cause.__class__.__name__}: {cause}); "
            "is a broker running? `regstream broker start` runs a local one, "
            "REGSTREAM_BOOTSTRAP_SERVERS points at another"
        )
        self.bootstrap = bootstrap


async def start_client(client: AIOKafkaConsumer | AIOKafkaProducer, settings: Settings) -> None:
    """Start an aiokafka client; when no broker answers, close it and raise BrokerUnavailable.

    Closing it matters: a client left half-started is reported as "Unclosed" when it is
    collected, after the clean message and long after anyone could act on it.
    """
    try:
        await client.start()
    except KafkaConnectionError as exc:
        await client.stop()
        raise BrokerUnavailable(settings.bootstrap_servers, exc) from exc


def reliable_producer(settings: Settings, **overrides: Any) -> AIOKafkaProducer:
    """An idempotent producer that only reports success once every in-sync replica has the record."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap_servers,
        "client_id": settings.client_id,
        "enable_idempotence": True,
        "acks": "all",
        "linger_ms": 5,
        "max_batch_size": 256 * 1024,
        "request_timeout_ms": settings.request_timeout_ms,
    }
    options.update(overrides)
    return AIOKafkaProducer(**options)


def committed_consumer(settings: Settings, *topics: str, **overrides: Any) -> AIOKafkaConsumer:
    """A consumer that only sees committed records (transactional outputs, aborted writes hidden)."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap_servers,
        "client_id": settings.client_id,
        "isolation_level": "read_committed",
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "request_timeout_ms": settings.request_timeout_ms,
    }
    options.update(overrides)
    return AIOKafkaConsumer(*topics, **options)


def admin_client(settings: Settings) -> AIOKafkaAdminClient:
    return AIOKafkaAdminClient(
        bootstrap_servers=settings.bootstrap_servers,
        client_id=settings.client_id,
        request_timeout_ms=settings.request_timeout_ms,
    )
