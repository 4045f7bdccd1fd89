"""One source partition's slice of a ``take()`` batch: every record gets exactly one disposition.

The records arrive in offset order. Each is decoded-or-not (the edge codec ran already), checked
against its topic's type and size, and handed to :func:`streams.pipeline.process_record`;
failures become dispositions through :func:`streams.pipeline.disposition_for_error`, so this
module decides nothing itself. A passed event is written as its ``EventBatch`` item on the spot
(the pipeline's ``render`` step, :meth:`streams.worker.output.BatchEncoder.item`), so an event the
output cannot carry is dead-lettered here like any bad record; the items are kept, in order, for
the partition's next batch. Dead letters are copies of the input bytes with the reason headers —
without the body when the copy would exceed the record limit (:func:`fit_dead_letter`): a dead
letter that cannot be written would stop the worker on the very record it was meant to set aside.
Nothing here talks to Kafka.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
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
from streams.pipeline.policy import H_BODY_OMITTED, H_BODY_SHA256, HEADER_PREFIX
from streams.worker.codec import Undecodable
from streams.worker.inbound import Inbound
from streams.worker.output import BatchEncoder, Outgoing, Passed
from streams.worker.suspects import QUARANTINED

QUARANTINE_CLASS = "streams.worker.suspects.Suspect"
"""The error-class header of a quarantined record (its detail names the original error)."""

RECORD_OVERHEAD_BYTES = 512
"""Kafka's per-record framing, counted generously when sizing a dead letter."""


def record_size(record: Outgoing) -> int:
    """An upper bound of what ``record`` weighs in a produce request."""
    headers = sum(len(name) + len(value) for name, value in record.headers or ())
    return len(record.key or b"") + len(record.value or b"") + headers + RECORD_OVERHEAD_BYTES


def fit_dead_letter(letter: Outgoing, limit: int) -> Outgoing:
    """``letter`` as it is when it fits ``limit`` bytes, else without the body (and, if needed,
    without the key and the input's own headers): the reason and source position always stay.

    The omitted body is described by ``regstream.dlq.body-omitted`` (its size) and
    ``regstream.dlq.body-sha256``; the original stays readable at its source position for as long
    as the input topic's retention keeps it.
    """
    if record_size(letter) <= limit:
        return letter
    body = letter.value or b""
    described = [
        (H_BODY_OMITTED, str(len(body)).encode()),
        (H_BODY_SHA256, hashlib.sha256(body).hexdigest().encode()),
    ]
    headers = (letter.headers or []) + described
    smaller = letter._replace(value=None, headers=headers)
    if record_size(smaller) <= limit:
        return smaller
    ours = [(n, v) for n, v in headers if n.startswith(HEADER_PREFIX)]
    return smaller._replace(key=None, headers=ours)


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
    encoder: BatchEncoder

    def process(
        self,
        topic: str,
        partition: int,
        records: Sequence[Inbound],
        stores: Stores,
        now_ms: int,
        set_aside: Mapping[int, str] | None = None,
    ) -> PartitionOutcome:
        """``set_aside`` maps offsets of quarantined records (:mod:`streams.worker.suspects`) to
        the error they stopped the worker with: those are dead-lettered unprocessed."""
        event_type = self.catalog.event_type_of(topic)
        if event_type is None or self.catalog.is_live(topic):
            raise ValueError(f"{topic!r} is not an input topic of the catalog")
        outcome = PartitionOutcome(next_offset=records[-1].coordinates.offset + 1)
        for record in records:
            error = set_aside.get(record.coordinates.offset) if set_aside else None
            if error is not None:
                disposition, item = (
                    Disposition.dead_letter(
                        QUARANTINED, error_class=QUARANTINE_CLASS, detail=error
                    ),
                    None,
                )
            else:
                disposition, item = self._one(event_type, record, stores, now_ms)
            outcome.dispositions.append(disposition)
            if item is not None:
                outcome.events.append(Passed(record.coordinates, item))
            elif disposition.outcome is Outcome.DEAD_LETTER:
                outcome.dead_letters.append(self._dead_letter(record, disposition, now_ms))
        return outcome

    def _one(
        self, event_type: str, record: Inbound, stores: Stores, now_ms: int
    ) -> tuple[Disposition, bytes | None]:
        decoded = record.decoded
        if isinstance(decoded, Undecodable):
            return disposition_for_error(decoded.error, stage="decode"), None
        try:
            expect(event_type, decoded.event_type)
        except SchemaMismatch as exc:
            return disposition_for_error(exc, stage="decode"), None
        value = record.value or b""

        def render(event_type: str, event: Mapping[str, Any]) -> bytes:
            return self.encoder.item(event_type, event, value)

        result = process_record(
            event_type,
            decoded.record,
            record.coordinates,
            stores=stores,
            config=self.config,
            now_ms=now_ms,
            render=render,
        )
        return result.disposition, result.rendered

    def _dead_letter(self, record: Inbound, disposition: Disposition, now_ms: int) -> Outgoing:
        """The input bytes unchanged; earlier dead-letter headers replaced by this verdict's."""
        kept = [(n, v) for n, v in record.headers if not n.startswith(HEADER_PREFIX)]
        headers = kept + dead_letter_headers(disposition, record.coordinates, now_ms=now_ms)
        letter = Outgoing(self.catalog.dlq, None, record.key, record.value, headers)
        return fit_dead_letter(letter, self.encoder.max_bytes)
