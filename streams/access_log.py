"""Write an access-audit entry before serving the access (the CLI's replays and exports).

One function for every command-line writer::

    await record_access(settings, AccessEntry("alice", Action.REPLAY, Via.CLI, topic=...))
    await record_access(producer, entry, topic=settings.audit_topic)   # a running producer

The entry is written *before* the access is served, and a failure to write it fails the access:
a replay that left no trace in the audit log must not have happened. Records are keyed by
subject, so one subject's accesses stay in order. The record itself is ``schemas.access``.
"""

from __future__ import annotations

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError
from aiokafka.structs import RecordMetadata

from schemas.access import AccessEntry, access_record
from schemas.codec import Codec
from schemas.contract import ACCESS_AUDIT
from schemas.formats import codec_for
from streams.kafka import BrokerUnavailable, reliable_producer
from streams.settings import Settings


async def record_access(
    target: Settings | AIOKafkaProducer,
    entry: AccessEntry,
    *,
    topic: str | None = None,
    codec: Codec | None = None,
    source: str | None = None,
) -> RecordMetadata:
    """Write ``entry`` to the audit topic and wait until every in-sync replica has it.

    ``target`` is either the settings (a short-lived idempotent producer is used) or a running
    producer, then ``topic`` is required. Raises ``BrokerUnavailable``/``KafkaError`` on failure.
    """
    if isinstance(target, Settings):
        settings = target
        codec = codec or codec_for(settings.wire_format, settings.schema_registry_url)
        producer = reliable_producer(settings)
        try:
            await producer.start()
        except KafkaConnectionError as exc:
            await producer.stop()
            raise BrokerUnavailable(settings.bootstrap_servers, exc) from exc
        try:
            return await record_access(
                producer,
                entry,
                topic=topic or settings.audit_topic,
                codec=codec,
                source=source or settings.client_id,
            )
        finally:
            await producer.stop()
    if topic is None:
        raise ValueError("record_access with a producer needs the audit topic")
    codec = codec or codec_for("single-object")
    value = codec.encode(
        ACCESS_AUDIT, access_record(entry, source=source or "regstream"), topic=topic
    )
    return await target.send_and_wait(topic, value, key=entry.subject.encode())
