"""One input record as the pipeline sees it, built once from the Faust event.

Keeping the raw key, value and headers beside the decoded value is what lets a dead letter be the
input *unchanged*: the DLQ copy is made from these bytes, never re-encoded from a decoded record.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from schemas.codec import Decoded
from schemas.errors import BadMagic
from streams.pipeline import Coordinates
from streams.worker.codec import Undecodable

Headers = list[tuple[str, bytes]]


class Inbound(NamedTuple):
    coordinates: Coordinates
    key: bytes | None
    value: bytes | None
    headers: Headers
    decoded: Decoded | Undecodable


def normalize_headers(headers: Any) -> Headers:
    """Faust gives headers as a list of pairs or a mapping (or None); Kafka wants pairs."""
    if not headers:
        return []
    items = headers.items() if hasattr(headers, "items") else headers
    return [(str(name), bytes(value) if value is not None else b"") for name, value in items]


def from_faust_event(event: Any) -> Inbound:
    """Build an :class:`Inbound` from a ``faust.Event`` whose value the edge codec produced."""
    message = event.message
    decoded = event.value
    if message.value is None:  # Faust never hands a tombstone to the codec
        decoded = Undecodable(BadMagic("the record has no value (a tombstone)"))
    elif not isinstance(decoded, Decoded | Undecodable):
        decoded = Undecodable(TypeError(f"edge codec gave {type(decoded).__name__}"))
    return Inbound(
        Coordinates(
            message.topic, message.partition, message.offset, int(message.timestamp * 1000)
        ),
        message.key,
        message.value,
        normalize_headers(message.headers),
        decoded,
    )


def group_by_partition(records: Sequence[Inbound]) -> dict[tuple[str, int], list[Inbound]]:
    """Records per (topic, partition), each list in arrival (= offset) order."""
    groups: dict[tuple[str, int], list[Inbound]] = {}
    for record in records:
        groups.setdefault(record.coordinates[:2], []).append(record)
    return groups
