"""Where a record sits in Kafka.

Every stage that must say *which* record it is talking about (dead-letter headers, dedupe
redelivery detection, batching by partition, enrichment's ingest time) takes this one value, so the
Faust agent builds it once per message from ``event.message``.
"""

from __future__ import annotations

from typing import NamedTuple


class Coordinates(NamedTuple):
    """Topic, partition and offset of an input record, plus its Kafka timestamp (epoch ms)."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int

    @property
    def position(self) -> tuple[str, int, int]:
        """(topic, partition, offset): identifies the record; the timestamp does not."""
        return (self.topic, self.partition, self.offset)
