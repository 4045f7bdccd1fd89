"""One source partition's slice of a ``take()`` batch: every record gets exactly one disposition.

The records arrive in offset order. Each is decoded-or-not (the edge codec ran already), checked
against its topic's type, and handed to :func:`streams.pipeline.process_record`; failures become
dispositions through :func:`streams.pipeline.disposition_for_error`, so this module decides
nothing itself. Passed events become one ``EventBatch`` for this partition (split if large),
dead letters become copies of the input bytes with the reason headers. Nothing here talks to
Kafka: the result is a list of :class:`~streams.worker.output.Outgoing` records and the next offset.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from schemas.catalog import TopicCatalog
from schemas.codec import Codec, expect
from schemas.errors import SchemaMismatch
from streams.pipeline import (
    Disposition,
    Outcome,
    PipelineConfig,
    Stores,
    build_batches,
    dead_letter_headers,
    disposition_for_error,
    process_record,
)
from streams.pipeline.policy import HEADER_PREFIX
from streams.worker.codec import Undecodable
from streams.worker.inbound import Inbound
from streams.worker.output import Outgoing, OutputTooLarge, encode_batches


@dataclass
class PartitionOutcome:
    """What one partition's records turned into; ``dispositions`` align with the records."""

    outgoing: list[Outgoing] = field(default_factory=list)
    dispositions: list[Disposition] = field(default_factory=list)
    next_offset: int = 0


@dataclass(frozen=True)
class PartitionProcessor:
    """Turns one partition's records into outgoing records (see the module docstring)."""

    codec: Codec
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
        passed: list[tuple[int, dict[str, Any]]] = []
        for index, record in enumerate(records):
            disposition, event = self._one(event_type, record, stores, now_ms)
            outcome.dispositions.append(disposition)
            if event is not None:
                passed.append((index, event))
        if passed:
            self._batch(topic, partition, event_type, records, passed, outcome, now_ms)
        for record, disposition in zip(records, outcome.dispositions, strict=True):
            if disposition.outcome is Outcome.DEAD_LETTER:
                outcome.outgoing.append(self._dead_letter(record, disposition, now_ms))
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
        result = process_record(
            event_type,
            decoded.record,
            record.coordinates,
            stores=stores,
            config=self.config,
            now_ms=now_ms,
        )
        return result.disposition, result.event

    def _batch(
        self,
        topic: str,
        partition: int,
        event_type: str,
        records: Sequence[Inbound],
        passed: list[tuple[int, dict[str, Any]]],
        outcome: PartitionOutcome,
        now_ms: int,
    ) -> None:
        """One EventBatch to the live partition that mirrors the source partition."""
        (batch,) = build_batches(
            [(records[index].coordinates, event) for index, event in passed],
            event_type=event_type,
            created_at_ms=now_ms,
        )
        parts, too_large = encode_batches(batch, self.codec, self.max_batch_bytes)
        live = self.catalog.live_topic(event_type)
        outcome.outgoing.extend(Outgoing(live, partition, None, part) for part in parts)
        for position in too_large:
            index = passed[position][0]
            error = OutputTooLarge(f"event at offset {records[index].coordinates.offset} alone "
                                   f"exceeds {self.max_batch_bytes} bytes once enriched")  # fmt: skip
            outcome.dispositions[index] = disposition_for_error(error, stage="process")

    def _dead_letter(self, record: Inbound, disposition: Disposition, now_ms: int) -> Outgoing:
        """The input bytes unchanged; earlier dead-letter headers replaced by this verdict's."""
        kept = [
            (name, value) for name, value in record.headers if not name.startswith(HEADER_PREFIX)
        ]
        headers = kept + dead_letter_headers(disposition, record.coordinates, now_ms=now_ms)
        return Outgoing(self.catalog.dlq, None, record.key, record.value, headers)
