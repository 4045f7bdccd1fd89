"""Access audit: who read what, written to ``gateway.audit`` as ``AccessAuditEntry`` records.

One function for every writer, so the CLI and the gateway record accesses the same way::

    await record_access(settings, AccessEntry("alice", Action.REPLAY, Via.CLI, topic=...))
    await record_access(producer, entry, topic=settings.audit_topic)   # a running producer

The entry is written *before* the access is served, and a failure to write it fails the access:
a replay that left no trace in the audit log must not have happened. Records are keyed by
subject, so one subject's accesses stay in order.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError
from aiokafka.structs import RecordMetadata

from schemas.codec import Codec, codec_for
from schemas.contract import ACCESS_AUDIT
from streams.kafka import BrokerUnavailable, reliable_producer
from streams.settings import Settings

RangeBound = str | Mapping[int, int] | Mapping[str, int] | None


class Action(StrEnum):
    CONNECT = "CONNECT"
    SUBSCRIBE = "SUBSCRIBE"
    REPLAY = "REPLAY"
    DISCONNECT = "DISCONNECT"
    PUBLISH = "PUBLISH"
    EXPORT = "EXPORT"


class Via(StrEnum):
    CLI = "CLI"
    GATEWAY = "GATEWAY"


@dataclass(frozen=True, slots=True)
class AccessEntry:
    """One access; ``range_from``/``range_to`` are text (as requested) or offsets per partition."""

    subject: str
    action: Action
    via: Via
    topic: str | None = None
    range_from: RangeBound = None
    range_to: RangeBound = None
    client_address: str | None = None
    details: Mapping[str, str] = field(default_factory=dict)


def _bound(value: RangeBound) -> str | dict[str, int] | None:
    if value is None or isinstance(value, str):
        return value
    return {str(partition): int(offset) for partition, offset in value.items()}


def access_record(
    entry: AccessEntry,
    *,
    source: str,
    occurred_at_ms: int | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    """The ``AccessAuditEntry`` record for ``entry`` (pure; the clock and id may be given)."""
    return {
        "metadata": {
            "event_id": event_id or str(uuid.uuid4()),
            "event_type": ACCESS_AUDIT,
            "source": source,
            "occurred_at": int(time.time() * 1000) if occurred_at_ms is None else occurred_at_ms,
            "severity": "INFO",
            "headers": {},
        },
        "subject": entry.subject,
        "action": entry.action.value,
        "via": entry.via.value,
        "topic": entry.topic,
        "from": _bound(entry.range_from),
        "to": _bound(entry.range_to),
        "client_address": entry.client_address,
        "details": dict(entry.details),
    }


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
