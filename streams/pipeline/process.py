"""The per-record function the worker calls: checks → rules → dedupe → enrich → audit chain.

Pure apart from the stores it is handed (dedupe table, chain table, agent directory), so the whole
path of one record is unit-tested without Kafka. Decoding happens before (the codec at the edge) and
batching after (:mod:`streams.worker.output`); both report failures through the same policy.

Order matters:

1. checks first: an invalid record is dead-lettered and never touches a store;
2. rules before dedupe: a filtered record costs no table write (and a resend of it is filtered by
   the same rule again);
3. every step that can fail runs before the first write (chain head, then dedupe sighting), so an
   error cannot leave a chained audit entry that is never published. That includes ``render``,
   the caller's encoding of the output (the worker writes the event's ``EventBatch`` item here):
   an event the output cannot carry (a value out of range, too large) is dead-lettered like any
   other bad record instead of failing later, when the whole batch is written;
4. any exception is turned into a disposition by
   :func:`streams.pipeline.policy.disposition_for_error` (dead letter ``process-error`` unless it
   names its reason); only ``retriable`` ones propagate.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from streams.pipeline.checks import validate
from streams.pipeline.coordinates import Coordinates
from streams.pipeline.dedupe import Deduper, Verdict
from streams.pipeline.enrich import build_enrichment, enriched_event
from streams.pipeline.hashchain import HashChain
from streams.pipeline.policy import Disposition, disposition_for_error
from streams.pipeline.rules import PASS_ALL, StreamRules, apply_rules

DEFAULT_MAX_FUTURE_SKEW_MS = 5 * 60 * 1000
AUDIT_EVENT_TYPE = "AuditTrailEntry"


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    """Operator settings: allowed clock skew, and rules per output stream keyed by event type."""

    max_future_skew_ms: int = DEFAULT_MAX_FUTURE_SKEW_MS
    rules: Mapping[str, StreamRules] = field(default_factory=dict)
    default_rules: StreamRules = PASS_ALL

    def rules_for(self, event_type: str) -> StreamRules:
        return self.rules.get(event_type, self.default_rules)


@dataclass(frozen=True, slots=True)
class Stores:
    """The state one worker process reads and writes: changelog-backed tables in the worker
    (:mod:`streams.worker.state`), plain dicts in tests."""

    dedupe: Deduper
    chain: HashChain
    agents: Mapping[str, Any]


Render = Callable[[str, Mapping[str, Any]], bytes]
"""(event type, ``EnrichedEvent``) → the bytes the output will carry; raises if it cannot."""


@dataclass(frozen=True, slots=True)
class Result:
    """The disposition, and for PASS the ``EnrichedEvent`` dict and what ``render`` made of it."""

    disposition: Disposition
    event: dict[str, Any] | None = None
    rendered: bytes | None = None


def process_record(
    event_type: str,
    record: Mapping[str, Any],
    source: Coordinates,
    *,
    stores: Stores,
    config: PipelineConfig,
    now_ms: int,
    render: Render | None = None,
) -> Result:
    """Decide what happens to one decoded record read at ``source``; raises only retriables."""
    try:
        return _process(
            event_type, record, source, stores=stores, config=config, now_ms=now_ms, render=render
        )
    except Exception as exc:  # the policy decides; it re-raises what is not the record's fault
        return Result(disposition_for_error(exc, stage="process"))


def _process(
    event_type: str,
    record: Mapping[str, Any],
    source: Coordinates,
    *,
    stores: Stores,
    config: PipelineConfig,
    now_ms: int,
    render: Render | None,
) -> Result:
    disposition = validate(
        event_type, record, now_ms=now_ms, max_future_skew_ms=config.max_future_skew_ms
    )
    if disposition.is_pass:
        disposition = apply_rules(event_type, record, config.rules_for(event_type))
    if not disposition.is_pass:
        return Result(disposition)

    event_id = record["metadata"]["event_id"]
    lookup = stores.dedupe.check(event_id, source, now_ms)
    if lookup.verdict is Verdict.DUPLICATE:
        first = lookup.sighting.position if lookup.sighting else None
        return Result(Disposition.filtered("filtered:duplicate", f"first seen at {first}"))

    enrichment = build_enrichment(
        event_type, record, agents=stores.agents, ingested_at_ms=source.timestamp_ms, now_ms=now_ms
    )
    link = head = None
    if event_type == AUDIT_EVENT_TYPE:
        recorded = lookup.sighting.link if lookup.sighting else None
        link, head = stores.chain.next_link(record["agent_id"], record, recorded=recorded)
        enrichment["prev_hash"], enrichment["hash"] = link
    event = enriched_event(event_type, record, source.offset, enrichment)
    rendered = render(event_type, event) if render is not None else None
    if event_type == AUDIT_EVENT_TYPE:
        stores.chain.commit(record["agent_id"], head)
    if lookup.verdict is Verdict.NEW:
        stores.dedupe.remember(event_id, source, now_ms, link)
    return Result(Disposition.passed(), event, rendered)
