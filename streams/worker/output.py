"""What a commit unit owes Kafka, and how it becomes records: ``EventBatch`` items and framing.

Each passed event is written as its ``EventBatch`` item (``EnrichedEvent``: source offset,
payload, enrichment) *while it is processed* (:meth:`BatchEncoder.item`, the pipeline's
``render`` step), so whatever the output cannot carry — an enrichment value out of Avro's range,
an event too large for a batch — fails in that record's own error handling and becomes its dead
letter. What is left for delivery cannot fail on data: framing items into batches is copying
bytes.

Processing a ``take()`` batch yields, per source partition, these items, dead letters, changelog
changes and the next offset: a :class:`Pending` unit. Pending units of the same commit unit merge
while a delivery is in flight (:mod:`streams.worker.outbox`), and only then are the items of each
source partition framed — one ``EventBatch`` per source partition and delivery, in input order, at
most ``max_events`` events and ``max_bytes`` bytes each. Framing late keeps batches large under
load (one record for what several small ``take()`` batches collected) without delaying anything at
low load (a delivery starts as soon as the previous one is done).

Items: a passed event keeps the input bytes it was decoded from, and when those were written with
the current schema of its type they *are* the event's payload in the batch (:mod:`schemas.splice`);
an input written with an older schema is encoded again with the current one, through the
validating encoder. Both give the same bytes fastavro would write for the whole batch.

Size: a framed batch over ``max_bytes`` is split in halves, recursively, keeping event order; each
part is a full ``EventBatch`` with its own id. An item that cannot fit a batch alone was refused
when it was written, so a split always ends.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from schemas.catalog import TopicCatalog
from schemas.codec import Codec
from schemas.splice import BatchSplicer, SplicedEvent
from streams.batching import Outgoing
from streams.errors import StreamsError
from streams.pipeline.coordinates import Coordinates

Headers = list[tuple[str, bytes]]
TPKey = tuple[str, int]
ENVELOPE_MAX_BYTES = 1024
"""Room kept for an ``EventBatch``'s header, envelope fields and item count around its items."""


class Passed(NamedTuple):
    """An event that passed: where it was read, and its ``EventBatch`` item bytes."""

    coordinates: Coordinates
    item: bytes


class OutputTooLarge(StreamsError, ValueError):
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
    starts: dict[TPKey, int] = field(default_factory=dict)
    """The first source offset per partition: with ``offsets``, the range the unit covers."""

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
        for tp, first in later.starts.items():
            self.starts.setdefault(tp, first)


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

    def item(self, event_type: str, event: Mapping[str, Any], value: bytes) -> bytes:
        """The ``EventBatch`` item of a passed ``event`` decoded from ``value`` (see the module
        docstring); raises when the output cannot carry it, :class:`OutputTooLarge` for size."""
        body: bytes | memoryview | None = self.codec.current_body(value) if value else None
        if body is None:
            body = self.codec.current_body(self.codec.encode(event_type, event["payload"][1]))
            assert body is not None, "the codec's own output is written with the current schema"
        item = self.splicer.item(
            SplicedEvent(event["source_offset"], event_type, body, event["enrichment"])
        )
        if len(item) + ENVELOPE_MAX_BYTES > self.max_bytes:
            raise OutputTooLarge(
                f"the event is {len(item)} bytes once enriched; a batch holds at most "
                f"{self.max_bytes - ENVELOPE_MAX_BYTES}"
            )
        return item

    def records(self, pending: Pending, now_ms: int) -> tuple[list[Outgoing], list[Outgoing]]:
        """(records, closing records): the positions changelog closes a unit — see
        :class:`streams.worker.delivery.AtLeastOnce` for why it must go last."""
        records: list[Outgoing] = []
        for (topic, partition), events in pending.events.items():
            event_type = self.catalog.event_type_of(topic)
            assert event_type is not None
            live = self.catalog.live_topic(event_type)
            envelope = {
                "event_type": event_type,
                "source_topic": topic,
                "source_partition": partition,
                "created_at": now_ms,
            }
            for start in range(0, len(events), self.max_events):
                items = [passed.item for passed in events[start : start + self.max_events]]
                parts = self.frame(envelope, items)
                records.extend(Outgoing(live, partition, None, part) for part in parts)
        records.extend(pending.dead_letters)
        closing: list[Outgoing] = []
        for (topic, partition, key), value in pending.changelog.items():
            target = closing if topic == self.positions_topic else records
            target.append(Outgoing(topic, partition, key, value))
        return records, closing

    def frame(self, envelope: Mapping[str, Any], items: list[bytes]) -> list[bytes]:
        """``items`` framed as batches of a new id each, split in order to at most ``max_bytes``."""
        data = self.splicer.frame({"batch_id": self.new_batch_id(), **envelope}, items)
        if len(data) <= self.max_bytes:
            return [data]
        if len(items) == 1:  # refused by item(); reaching here is a defect, not data
            raise OutputTooLarge(f"a batch of one event is {len(data)} bytes")
        half = len(items) // 2
        return [*self.frame(envelope, items[:half]), *self.frame(envelope, items[half:])]
