"""Client publishes: validate against the Avro schema, produce with acks=all, answer after the ack.

The producer is :class:`streams.producer.EventProducer` (idempotent, acks=all, keyed by the
entity whose order matters), so a ``published`` frame means every in-sync replica has the event.
A publish retried by a client after a reconnect may reach ``events.<type>`` twice (the first
attempt may have landed without its answer reaching the client); the pipeline dedupes by
``metadata.event_id``, the key the core requires on every publish, so it lands downstream once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiokafka.errors import KafkaError

from gateway.core.commands import Position
from gateway.core.errors import PublishFailed
from schemas.errors import SchemaError
from streams.kafka import BrokerUnavailable
from streams.producer import EventProducer
from streams.settings import Settings


class Publisher:
    def __init__(self, settings: Settings) -> None:
        self._producer = EventProducer(settings)

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()

    async def publish(self, event_type: str, event: Mapping[str, Any]) -> Position:
        """Produce one event and wait for the acknowledgement; ``PublishFailed`` says why not."""
        try:
            self._producer.encode(event_type, event)
        except (SchemaError, KeyError, TypeError, ValueError) as exc:
            raise PublishFailed(f"invalid {event_type}: {exc}"[:300], retriable=False) from None
        try:
            meta = await self._producer.send(event_type, event)
        except (KafkaError, BrokerUnavailable) as exc:
            raise PublishFailed(
                f"the broker did not acknowledge: {type(exc).__name__}", retriable=True
            ) from None
        return Position(event_type, meta.partition, meta.offset)
