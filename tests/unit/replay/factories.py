"""Records for replay and audit tests: events, pipeline-built batches, chained audit batches.

Batches hold what the pipeline's own functions build (enrichment, hash chain) in the worker's
`EventBatch` shape, so the tests read what the Faust worker writes. Integration tests import these too.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from schemas.codec import AvroCodec
from streams.pipeline.coordinates import Coordinates
from streams.pipeline.enrich import build_enrichment, enriched_event
from streams.pipeline.hashchain import HashChain
from streams.samples import SampleEvents

NOW = 1_764_000_000_000
CODEC = AvroCodec()


@dataclass
class FakeRecord:
    """A consumed Kafka record, as far as rows and the verifier look at it."""

    topic: str
    partition: int
    offset: int
    value: bytes | None
    key: bytes | None = None
    timestamp: int = NOW


def events(event_type: str, count: int, seed: int = 3) -> list[dict[str, Any]]:
    samples = SampleEvents(seed=seed)
    return [samples.next(event_type) for _ in range(count)]


def batch(
    event_type: str,
    records: list[dict[str, Any]],
    *,
    source_partition: int = 0,
    first_offset: int = 0,
    chain: HashChain | None = None,
) -> dict[str, Any]:
    """One EventBatch as the worker builds it (audit entries chained when ``chain`` is given)."""
    items = []
    for number, record in enumerate(records):
        source = Coordinates(f"events.{event_type}", source_partition, first_offset + number, NOW)
        enrichment = build_enrichment(
            event_type, record, agents={}, ingested_at_ms=NOW, now_ms=NOW + 5
        )
        if chain is not None:
            link = chain.append(record["agent_id"], record)
            enrichment["prev_hash"], enrichment["hash"] = link.prev_hash, link.hash
        items.append((source, enriched_event(event_type, record, source.offset, enrichment)))
    return {
        "batch_id": str(uuid.uuid4()),
        "event_type": event_type,
        "source_topic": f"events.{event_type}",
        "source_partition": source_partition,
        "created_at": NOW + 5,
        "events": [event for _, event in items],
    }


def audit_batches(
    agents: list[str], per_agent: int, batch_size: int, seed: int = 11
) -> list[dict[str, Any]]:
    """Chained audit entries of ``agents``, interleaved, cut into batches of ``batch_size``."""
    samples = SampleEvents(seed=seed)
    entries = []
    for _ in range(per_agent):
        for agent in agents:
            entries.append({**samples.next("AuditTrailEntry"), "agent_id": agent})
    chain = HashChain({})
    return [
        batch("AuditTrailEntry", entries[i : i + batch_size], first_offset=i, chain=chain)
        for i in range(0, len(entries), batch_size)
    ]


def encode(event_type: str, record: dict[str, Any]) -> bytes:
    return CODEC.encode(event_type, record)
