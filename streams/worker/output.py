"""Records the worker sends, and ``EventBatch`` encoding that stays under Kafka's size limit.

Everything a batch produces — EventBatch records, dead letters, changelog records — becomes an
:class:`Outgoing` first, so delivery is one loop over one list whatever the guarantee.

Size: ``take(max_events)`` bounds a batch by count, Kafka bounds a record by bytes (1 MiB by
default). An encoded batch over ``max_bytes`` is split in halves, recursively, keeping event order;
each part is a full ``EventBatch`` with its own id. A single event too large even alone cannot be
published: it is reported back so the caller dead-letters it (never dropped, never a crash loop).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, NamedTuple

from schemas.codec import Codec

Headers = list[tuple[str, bytes]]


class Outgoing(NamedTuple):
    """One record to produce. ``partition`` None lets the key choose (the DLQ)."""

    topic: str
    partition: int | None
    key: bytes | None
    value: bytes | None
    headers: Headers | None = None


class OutputTooLarge(ValueError):
    """An enriched event does not fit in a Kafka record even alone; dead-lettered, not retried."""

    dlq_reason = "output-too-large"
    retriable = False


def encode_batches(
    batch: dict[str, Any],
    codec: Codec,
    max_bytes: int,
    *,
    new_batch_id: Callable[[], str] = lambda: str(uuid.uuid4()),
) -> tuple[list[bytes], list[int]]:
    """Encode ``batch``, split as needed; return (encoded parts, indexes of events too large).

    Indexes refer to ``batch["events"]``; those events are left out of every part.
    """
    parts: list[bytes] = []
    too_large: list[int] = []

    def encode(events: list[tuple[int, dict[str, Any]]], batch_id: str) -> None:
        data = codec.encode(
            "EventBatch", {**batch, "batch_id": batch_id, "events": [e for _, e in events]}
        )
        if len(data) <= max_bytes:
            parts.append(data)
        elif len(events) == 1:
            too_large.append(events[0][0])
        else:
            half = len(events) // 2
            encode(events[:half], new_batch_id())
            encode(events[half:], new_batch_id())

    encode(list(enumerate(batch["events"])), batch["batch_id"])
    return parts, too_large
