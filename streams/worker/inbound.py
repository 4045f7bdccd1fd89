"""One input record as the pipeline sees it, built once from the record Kafka returned.

Keeping the raw key, value and headers beside the decoded value is what lets a dead letter be the
input *unchanged*: the DLQ copy is made from these bytes, never re-encoded from a decoded record.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from aiokafka import ConsumerRecord

from schemas.codec import Codec, Decoded
from schemas.errors import BadMagic
from streams.pipeline import Coordinates
from streams.worker.codec import Undecodable, decode_at_edge

Headers = list[tuple[str, bytes]]


class Inbound(NamedTuple):
    coordinates: Coordinates
    key: bytes | None
    value: bytes | None
    headers: Headers
    decoded: Decoded | Undecodable


def normalize_headers(headers: Any) -> Headers:
    """Headers as a list of (str, bytes) pairs, whatever sequence or mapping (or None) they came
    as; a header without a value becomes empty bytes."""
    if not headers:
        return []
    items = headers.items() if hasattr(headers, "items") else headers
    return [(str(name), bytes(value) if value is not None else b"") for name, value in items]


def from_record(record: ConsumerRecord[bytes, bytes], codec: Codec) -> Inbound:
    """Build an :class:`Inbound` from an aiokafka record, decoding its value at the edge."""
    if record.value is None:
        decoded: Decoded | Undecodable = Undecodable(
            BadMagic("the record has no value (a tombstone)")
        )
    else:
        decoded = decode_at_edge(codec, record.value)
    return Inbound(
        Coordinates(record.topic, record.partition, record.offset, record.timestamp),
        record.key,
        record.value,
        normalize_headers(record.headers),
        decoded,
    )


def group_by_partition(records: Sequence[Inbound]) -> dict[tuple[str, int], list[Inbound]]:
    """Records per (topic, partition), each list in arrival (= offset) order."""
    groups: dict[tuple[str, int], list[Inbound]] = {}
    for record in records:
        groups.setdefault(record.coordinates[:2], []).append(record)
    return groups
