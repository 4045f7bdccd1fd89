"""Inbound records for worker unit tests: real encoded bytes, no broker."""

from __future__ import annotations

from typing import Any

from schemas.codec import AvroCodec
from schemas.contract import partition_key
from streams.pipeline import Coordinates
from streams.worker.codec import decode_at_edge
from streams.worker.inbound import Inbound

CODEC = AvroCodec()
TOPIC = "events.decision_made"


def inbound(
    record: dict[str, Any] | None = None,
    *,
    offset: int = 0,
    partition: int = 0,
    topic: str = TOPIC,
    value: bytes | None = None,
    headers: list[tuple[str, bytes]] | None = None,
    event_type: str = "DecisionMade",
) -> Inbound:
    """An input record as the transport hands it over: raw bytes plus the edge decoder's verdict."""
    if value is None:
        assert record is not None
        value = CODEC.encode(event_type, record)
    key = partition_key(event_type, record).encode() if record is not None else b"k"
    return Inbound(
        Coordinates(topic, partition, offset, 1_700_000_000_000 - 100),
        key,
        value,
        headers or [],
        decode_at_edge(CODEC, value),
    )
