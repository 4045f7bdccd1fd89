"""What a commit unit owes Kafka, and how it becomes records: ``EventBatch`` encoding and splitting.

Processing a ``take()`` batch yields, per source partition, enriched events, dead letters,
changelog changes and the next offset: a :class:`Pending` unit. Pending units of the same commit
unit merge while a delivery is in flight (:mod:`streams.worker.outbox`), and only then are the
events of each source partition encoded — one ``EventBatch`` per source partition and delivery,
in input order, at most ``max_events`` events and ``max_bytes`` bytes each. Encoding late keeps
batches large under load (one record for what several small ``take()`` batches collected)
without delaying anything at low load (a delivery starts as soon as the previous one is done).

Encoding: a passed event keeps the input bytes it was decoded from, and when those were written
with the current schema of their type they *are* the event's payload in the batch, so the batch
is spliced around them (:mod:`schemas.splice`) instead of encoding every payload again; any other
batch goes through the codec's validating encoder. Both write the same bytes.

Size: an encoded batch over ``max_bytes`` is split in halves, recursively, keeping event order;
each part is a full ``EventBatch`` with its own id. Events whose input alone comes close to the
limit are dead-lettered before processing (:mod:`streams.worker.partition`), so a single event
always fits; one that still does not (an enrichment of over ``ENRICHMENT_MARGIN`` bytes) stops the
worker with :class:`OutputTooLarge` rather than being dropped.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from schemas.catalog import TopicCatalog
from schemas.codec import Codec
from schemas.splice import BatchSplicer, SplicedEvent
from streams.pipeline import build_batches
from streams.pipeline.coordinates import Coordinates

Headers = list[tuple[str, bytes]]
TPKey = tuple[str, int]
ENRICHMENT_MARGIN = 64 * 1024
"""Bytes an event may grow by when enriched and wrapped in a batch (typically a few hundred)."""


class Outgoing(NamedTuple):
    """One record to produce. ``partition`` None lets the key choose (the DLQ)."""

    topic: str
    partition: int | None
    key: bytes | None
    value: bytes | None
    headers: Headers | None = None


class Passed(NamedTuple):
    """An event that passed: where it was read, its ``EnrichedEvent``, its input bytes."""

    coordinates: Coordinates
    event: dict[str, Any]
    value: bytes


class OutputTooLarge(ValueError):
    """An enriched event does not fit in a Kafka record."""

    dlq_reason = "output-too-large"
    retriable = False


@dataclass
class Pending:
    """A commit unit's share of one or more ``take()`` batches, not yet encoded."""

    events: dict[TPKey, list[Passed]] = field(default_factory=dict)
    dead_letters: list[Outgoing] = field(default_factory=list)
    changelog: dict[tuple[str, int, bytes], bytes | None] = field(default_factory=dict)
    offsets: dict[TPKey, int] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return sum(map(len, self.events.values())) + len(self.dead_letters) + len(self.changelog)

    def add_changes(self, records: list[Outgoing]) -> None:
        """Changelog records; a later change of a key replaces an earlier one."""
        for record in records:
            assert record.partition is not None and record.key is not None
            self.changelog[(record.topic, record.partition, record.key)] = record.value

    def merge(self, later: Pending) -> None:
        """Append a later batch of the same unit (order kept, offsets moved forward)."""
        for tp, events in later.events.items():
            self.events.setdefault(tp, []).extend(events)
        self.dead_letters.extend(later.dead_letters)
        self.changelog.update(later.changelog)
        self.offsets.update(later.offsets)


@dataclass(frozen=True)
class BatchEncoder:
    """Turns a :class:`Pending` unit into records: EventBatches, dead letters, changelog."""

    codec: Codec
    catalog: TopicCatalog
    max_events: int
    max_bytes: int
    positions_topic: str
    new_batch_id: Callable[[], str] = field(default=lambda: str(uuid.uuid4()))
    splicer: BatchSplicer = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "splicer", BatchSplicer(self.codec))

    def records(self, pending: Pending, now_ms: int) -> tuple[list[Outgoing], list[Outgoing]]:
        """(records, closing records): the positions changelog closes a unit — see
        :class:`streams.worker.delivery.AtLeastOnce` for why it must go last."""
        records: list[Outgoing] = []
        for (topic, partition), events in pending.events.items():
            event_type = self.catalog.event_type_of(topic)
            assert event_type is not None
            live = self.catalog.live_topic(event_type)
            for start in range(0, len(events), self.max_events):
                passed = events[start : start + self.max_events]
                (batch,) = build_batches(
                    [(p.coordinates, p.event) for p in passed],
                    event_type=event_type,
                    created_at_ms=now_ms,
                    new_batch_id=self.new_batch_id,
                )
                parts = self.encode(batch, passed)
                records.extend(Outgoing(live, partition, None, part) for part in parts)
        records.extend(pending.dead_letters)
        closing: list[Outgoing] = []
        for (topic, partition, key), value in pending.changelog.items():
            target = closing if topic == self.positions_topic else records
            target.append(Outgoing(topic, partition, key, value))
        return records, closing

    def encode(self, batch: dict[str, Any], passed: list[Passed]) -> list[bytes]:
        """The batch of ``passed`` encoded, split in order into parts of at most ``max_bytes``."""
        data = self._write(batch, passed)
        if len(data) <= self.max_bytes:
            return [data]
        events = batch["events"]
        if len(events) == 1:
            raise OutputTooLarge(
                f"event at offset {events[0]['source_offset']} of {batch['source_topic']}/"
                f"{batch['source_partition']} is {len(data)} bytes once enriched"
            )
        half = len(events) // 2
        first = {**batch, "batch_id": self.new_batch_id(), "events": events[:half]}
        second = {**batch, "batch_id": self.new_batch_id(), "events": events[half:]}
        return [*self.encode(first, passed[:half]), *self.encode(second, passed[half:])]

    def _write(self, batch: dict[str, Any], passed: list[Passed]) -> bytes:
        """Spliced when every payload's input body can be reused, else encoded."""
        found = (self.codec.current_body(p.value) for p in passed)
        bodies = [body for body in found if body is not None]
        if len(bodies) != len(passed):
            return self.codec.encode("EventBatch", batch)
        envelope = {name: value for name, value in batch.items() if name != "events"}
        return self.splicer.encode(
            envelope,
            [
                SplicedEvent(e["source_offset"], e["payload"][0], body, e["enrichment"])
                for e, body in zip(batch["events"], bodies, strict=True)
            ],
        )
