"""Client publishes: validate against the Avro schema, produce with acks=all, answer after the ack.

The producer is idempotent with acks=all (``streams.kafka.reliable_producer``) and keys each
event by the entity whose order matters (``schemas.contract.partition_key``), like the producer
SDK, so a ``published`` frame means every in-sync replica has the event.
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
from schemas.codec import AvroCodec
from schemas.contract import partition_key
from schemas.errors import SchemaError
from streams.kafka import reliable_producer, start_client
from streams.settings import Settings


class Publisher:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._codec = AvroCodec()
        self._producer = reliable_producer(settings)

    async def start(self) -> None:
        await start_client(self._producer, self._settings)

    async def stop(self) -> None:
        await self._producer.stop()

    async def publish(self, event_type: str, event: Mapping[str, Any]) -> Position:
        """Produce one event and wait for the acknowledgement; ``PublishFailed`` says why not."""
        try:
            value = self._codec.encode(event_type, event)
            key = partition_key(event_type, event).encode()
        except (SchemaError, KeyError, TypeError, ValueError) as exc:
            raise PublishFailed(f"invalid {event_type}: {exc}"[:300], retriable=False) from None
        topic = self._settings.catalog.input_topic(event_type)
        try:
            meta = await self._producer.send_and_wait(topic, value, key=key)
        except KafkaError as exc:
            raise PublishFailed(
                f"the broker did not acknowledge: {type(exc).__name__}", retriable=True
            ) from None
        return Position(event_type, meta.partition, meta.offset)
