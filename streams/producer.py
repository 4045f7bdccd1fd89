"""The producer SDK: publish regstream events to their input topics, reliably.

- Every record is validated and Avro-encoded *before* it is handed to Kafka, so an invalid
  event fails in the caller's hands with the field at fault, never later in the pipeline.
- The producer is idempotent with ``acks=all``: a retry after a lost acknowledgement never
  writes a duplicate, and success means every in-sync replica has the record.
- Records are keyed by the entity whose order matters (``schemas.contract.partition_key_field``),
  so all events of one agent, session or simulation stay in order on one partition.

``send`` waits for the acknowledgement; ``send_many`` appends a whole batch to one Kafka record
batch per partition (:mod:`streams.batching`, keyed as ``send`` keys) and waits for all
acknowledgements together, which is what makes bulk publishing fast.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Any

from aiokafka.errors import KafkaConnectionError, KafkaError
from aiokafka.structs import RecordMetadata

from schemas.codec import AvroCodec
from schemas.contract import partition_key_field
from schemas.errors import SchemaError
from streams.batching import Outgoing, send_records
from streams.kafka import BrokerUnavailable, reliable_producer
from streams.settings import Settings

Record = Mapping[str, Any]


class EventProducer:
    """Publish events of the six regstream types; use as ``async with EventProducer(...)``."""

    def __init__(self, settings: Settings, codec: AvroCodec | None = None, **kafka: Any) -> None:
        self._settings = settings
        self._codec = codec or AvroCodec()
        self._producer = reliable_producer(settings, **kafka)

    async def start(self) -> None:
        try:
            await self._producer.start()
        except KafkaConnectionError as exc:
            await self._producer.stop()
            raise BrokerUnavailable(self._settings.bootstrap_servers, exc) from exc

    async def stop(self) -> None:
        """Flush what is pending and close the connection."""
        await self._producer.stop()

    async def __aenter__(self) -> EventProducer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def encode(self, event_type: str, record: Record) -> tuple[str, bytes, bytes]:
        """Validate and encode one event: (topic, key, value). Raises schemas.errors.EncodeError."""
        value = self._codec.encode(event_type, record)
        key = str(record[partition_key_field(event_type)]).encode()
        return self._settings.catalog.input_topic(event_type), key, value

    async def send(self, event_type: str, record: Record) -> RecordMetadata:
        """Publish one event and wait until Kafka acknowledged it."""
        topic, key, value = self.encode(event_type, record)
        try:
            return await self._producer.send_and_wait(topic, value, key=key)
        except KafkaConnectionError as exc:
            raise BrokerUnavailable(self._settings.bootstrap_servers, exc) from exc

    async def send_many(
        self, event_type: str, records: Iterable[Record]
    ) -> list[RecordMetadata | BaseException]:
        """Publish many events; one result per record, in order: its metadata or its error.

        All records are encoded first; an invalid one is reported in its slot and the valid ones
        are still sent, so one bad event never holds back the others.
        """
        results: list[RecordMetadata | BaseException | None] = []
        outgoing: list[Outgoing] = []
        for record in records:
            try:
                topic, key, value = self.encode(event_type, record)
            except SchemaError as exc:
                results.append(exc)
                continue
            results.append(None)  # filled in below, in the same order
            outgoing.append(Outgoing(topic, None, key, value))
        sent: list[RecordMetadata | BaseException] = []
        if outgoing:
            try:
                sent = await send_records(self._producer, outgoing)
            except KafkaError as exc:  # e.g. no metadata for the topic: every record failed
                sent = [exc] * len(outgoing)
        settled = iter(sent)
        return [next(settled) if result is None else result for result in results]

    async def flush(self) -> None:
        await self._producer.flush()
