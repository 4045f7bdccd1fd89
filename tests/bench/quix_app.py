"""The same job in quix-streams, the stream processor a regstream user would otherwise pick.

Run by ``make bench-pipeline`` in a virtualenv of its own (:mod:`tests.bench.quix_env`: quix-streams
pins pydantic below the version regstream uses), with the repository on ``PYTHONPATH`` so that it
does the work the worker does with the same code:

- **decode** with regstream's codec (the same Avro single-object decoder, pre-scan and limits);
- **drop invalid**: undecodable records and records that fail :func:`streams.pipeline.checks.validate`;
- **dedupe by event_id** in quix's state (RocksDB, changelog-backed, per message key — a resend
  has the key of its first copy), remembering each id for the worker's dedupe window;
- **enrich** with :func:`streams.pipeline.enrich.build_enrichment` (severity level, risk class,
  impact score, ingestion and processing times);
- **produce** one JSON record per event (quix's idiom: it has no batching of outputs) to
  ``<output topic>``, keyed like its input.

Not done here and done by the worker: the audit hash chain, the durable ledger, the dead-letter
copies and the positions table; so this job is a little lighter than the worker's.

    python tests/bench/quix_app.py BOOTSTRAP INPUT_PREFIX OUTPUT_TOPIC GROUP GUARANTEE STATE_DIR
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

from quixstreams import Application  # type: ignore[import-not-found]
from quixstreams.context import message_context  # type: ignore[import-not-found]

from schemas.catalog import TopicCatalog
from schemas.codec import AvroCodec
from schemas.contract import EVENT_TYPES
from streams.pipeline.checks import validate
from streams.pipeline.enrich import build_enrichment
from streams.pipeline.process import DEFAULT_MAX_FUTURE_SKEW_MS

DEDUPE_WINDOW_MS = 15 * 60 * 1000
COMMIT_INTERVAL_S = 0.1
"""quix commits (offsets, and under exactly-once the transaction) on this timer; 0.1 s keeps
its outputs readable about as soon as the worker's, which commits at every delivery."""

CODEC = AvroCodec()


def decoded(value: bytes) -> tuple[str, dict[str, Any]] | None:
    try:
        return CODEC.decode(value)
    except Exception:
        return None


def is_valid(item: tuple[str, dict[str, Any]] | None) -> bool:
    if item is None:
        return False
    event_type, record = item
    now_ms = int(time.time() * 1000)
    disposition = validate(
        event_type, record, now_ms=now_ms, max_future_skew_ms=DEFAULT_MAX_FUTURE_SKEW_MS
    )
    return disposition.is_pass


def first_sighting(item: tuple[str, dict[str, Any]], state: Any) -> bool:
    """True for the first copy of an event_id within the window (and remembers it)."""
    event_id = item[1]["metadata"]["event_id"]
    now_ms = int(time.time() * 1000)
    seen = state.get(event_id)
    if seen is not None and now_ms - seen < DEDUPE_WINDOW_MS:
        return False
    state.set(event_id, now_ms)
    return True


def enriched(
    item: tuple[str, dict[str, Any]], key: Any, timestamp: int, headers: Any
) -> dict[str, Any]:
    event_type, record = item
    enrichment = build_enrichment(
        event_type, record, agents={}, ingested_at_ms=timestamp, now_ms=int(time.time() * 1000)
    )
    return {
        "source_offset": message_context().offset,
        "event_type": event_type,
        "payload": record,
        "enrichment": enrichment,
    }


def main(
    bootstrap: str, input_prefix: str, output: str, group: str, guarantee: str, state_dir: str
) -> None:
    app = Application(
        broker_address=bootstrap,
        consumer_group=group,
        auto_offset_reset="earliest",
        processing_guarantee=guarantee,
        commit_interval=COMMIT_INTERVAL_S,
        state_dir=state_dir,
        loglevel=logging.WARNING,
    )
    out = app.topic(output, value_serializer="json")
    catalog = TopicCatalog(input_prefix=input_prefix, live_prefix=f"{input_prefix}unused.")
    for event_type in EVENT_TYPES:
        topic = app.topic(catalog.input_topic(event_type), value_deserializer="bytes")
        sdf = app.dataframe(topic)
        sdf = sdf.apply(decoded).filter(is_valid)
        sdf = sdf.filter(first_sighting, stateful=True)
        sdf.apply(enriched, metadata=True).to_topic(out)
    print("QUIX-READY", flush=True)
    app.run()


if __name__ == "__main__":
    main(*sys.argv[1:7])
