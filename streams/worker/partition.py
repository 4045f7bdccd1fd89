"""One source partition's slice of a ``take()`` batch: every record gets exactly one disposition.

The records arrive in offset order. Each is decoded-or-not (the edge codec ran already), checked
against its topic's type and size, and handed to :func:`streams.pipeline.process_record`;
failures become dispositions through :func:`streams.pipeline.disposition_for_error`, so this
module decides nothing itself. Passed events are kept, in order, for the partition's next
``EventBatch`` (encoded at delivery, :mod:`streams.worker.output`); dead letters become copies of
the input bytes with the reason headers. Nothing here talks to Kafka.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from schemas.catalog import TopicCatalog
from schemas.codec import expect
from schemas.errors import SchemaMismatch
from streams.pipeline import (
    Disposition,
    Outcome,
    PipelineConfig,
    Stores,
    dead_letter_headers,
    disposition_for_error,
    process_record,
)
from streams.pipeline.policy import HEADER_PREFIX
from streams.worker.codec import Undecodable
from streams.worker.inbound import Inbound
from streams.worker.output import ENRICHMENT_MARGIN, Outgoing, OutputTooLarge, Passed


@dataclass
class PartitionOutcome:
    """What one partition's records turned into; ``dispositions`` align with the records."""

    events: list[Passed] = field(default_factory=list)
    dead_letters: list[Outgoing] = field(default_factory=list)
    dispositions: list[Disposition] = field(default_factory=list)
    next_offset: int = 0


@dataclass(frozen=True)
class PartitionProcessor:
    """Turns one partition's records into events and dead letters (see the module docstring)."""

    catalog: TopicCatalog
    config: PipelineConfig
    max_batch_bytes: int

    def process(
        self, topic: str, partition: int, records: Sequence[Inbound], stores: Stores, now_ms: int
    ) -> PartitionOutcome:
        event_type = self.catalog.event_type_of(topic)
        if event_type is None or self.catalog.is_live(topic):
            raise ValueError(f"{topic!r} is not an input topic of the catalog")
        outcome = PartitionOutcome(next_offset=records[-1].coordinates.offset + 1)
        for record in records:
            disposition, event = self._one(event_type, record, stores, now_ms)
            outcome.dispositions.append(disposition)
            if event is not None:
                outcome.events.append(Passed(record.coordinates, event, record.value or b""))
            elif disposition.outcome is Outcome.DEAD_LETTER:
                outcome.dead_letters.append(self._dead_letter(record, disposition, now_ms))
        return outcome

    def _one(
        self, event_type: str, record: Inbound, stores: Stores, now_ms: int
    ) -> tuple[Disposition, dict[str, Any] | None]:
        decoded = record.decoded
        if isinstance(decoded, Undecodable):
            return disposition_for_error(decoded.error, stage="decode"), None
        try:
            expect(event_type, decoded.event_type)
        except SchemaMismatch as exc:
            return disposition_for_error(exc, stage="decode"), None
        size = len(record.value or b"")
        if size + ENRICHMENT_MARGIN > self.max_batch_bytes:
            # Checked before any store is touched: nothing is remembered or chained for it.
            error = OutputTooLarge(f"{size} bytes leave no room for enrichment in an EventBatch")
            return disposition_for_error(error, stage="process"), None
        result = process_record(
            event_type,
            decoded.record,
            record.coordinates,
            stores=stores,
            config=self.config,
            now_ms=now_ms,
        )
        return result.disposition, result.event

    def _dead_letter(self, record: Inbound, disposition: Disposition, now_ms: int) -> Outgoing:
        """The input bytes unchanged; earlier dead-letter headers replaced by this verdict's."""
        kept = [(n, v) for n, v in record.headers if not n.startswith(HEADER_PREFIX)]
        headers = kept + dead_letter_headers(disposition, record.coordinates, now_ms=now_ms)
        return Outgoing(self.catalog.dlq, None, record.key, record.value, headers)
