"""Group enriched events into ``EventBatch`` records, one batch per input partition.

A Faust agent's ``stream.take(max_events, within=...)`` hands over events from every partition the
worker owns, interleaved. Order is only promised per key, and a key lives in one partition, so a
batch must hold events of one partition in the order they were read: mixing partitions would let
an output partition carry one key's events interleaved with another partition's stream, and
sorting would reorder them. Grouping keeps each partition's events in input order and emits the
groups in the order their first event arrived.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import Any

from streams.pipeline.coordinates import Coordinates


def _new_batch_id() -> str:
    return str(uuid.uuid4())


def build_batches(
    items: Iterable[tuple[Coordinates, dict[str, Any]]],
    *,
    event_type: str,
    created_at_ms: int,
    new_batch_id: Callable[[], str] = _new_batch_id,
) -> list[dict[str, Any]]:
    """EventBatch dicts for ``(source coordinates, EnrichedEvent)`` pairs of one event type.

    Each batch has one (topic, partition); its ``events`` keep input order. ``new_batch_id`` is
    there for tests; batch ids are random, so clients dedupe by position and event_id, not batch.
    """
    groups: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for source, event in items:
        groups.setdefault((source.topic, source.partition), []).append(event)
    return [
        {
            "batch_id": new_batch_id(),
            "event_type": event_type,
            "source_topic": topic,
            "source_partition": partition,
            "created_at": created_at_ms,
            "events": events,
        }
        for (topic, partition), events in groups.items()
    ]
