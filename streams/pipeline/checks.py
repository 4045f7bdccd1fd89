"""Validity checks the Avro schema cannot express; a failing record is dead-lettered.

The schema guarantees types and enum symbols. It cannot say that an id is non-empty, that a
confidence is a probability, or that an event did not happen an hour from now. A record failing
one of these is wrong at its source, so it goes to the DLQ with a reason code (below) that
``regstream dlq inspect`` shows and metrics count. The first failing check wins: one reason per
record keeps the counts adding up to the number of records.

Reason codes (``invalid:*``):

=================================  =========================================================
``invalid:unknown-event-type``     the topic's event type is not one of the six
``invalid:event-type-mismatch``    ``metadata.event_type`` differs from the record's type
``invalid:missing-id``             a required id is empty or blank (detail names the field)
``invalid:severity``               ``metadata.severity`` is not a known symbol
``invalid:event-id``               ``metadata.event_id`` is not a canonical lowercase UUID
``invalid:timestamp-range``        ``occurred_at`` before 1970 or after 9999 (``schemas.values``)
``invalid:future-timestamp``       ``occurred_at`` is more than the allowed skew ahead of now
``invalid:confidence-score``       DecisionMade ``confidence_score`` outside [0, 1] or NaN
``invalid:progress-percent``       SimulationUpdate ``progress_percent`` outside [0, 100] or NaN
``invalid:final-outcomes``         SimulationUpdate ``final_outcomes`` set while RUNNING
``invalid:non-finite-number``      a number anywhere in the record is NaN or Infinity
=================================  =========================================================

``event-id``, ``timestamp-range`` and ``non-finite-number`` are the contract's value rules
(:mod:`schemas.values`), the same ones the encoder enforces for the producer SDK and the
gateway's ``publish``: a record refused here could only have been written around them (kcat,
another Avro producer). Non-finite numbers would break what follows: JSON has no NaN, and the
hash chain's canonical JSON writes them as ``null``, so a NaN could be swapped for a null without
breaking the chain.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from schemas.values import check_event_values
from streams.pipeline.policy import Disposition
from streams.pipeline.severity import SEVERITY_LEVELS

ERROR_CLASS: Final = "streams.pipeline.checks.InvalidRecord"
"""The error-class header of check failures (no exception is raised for them)."""

ID_FIELDS: Final[dict[str, tuple[str, ...]]] = {
    "AgentStatusUpdate": ("agent_id",),
    "DecisionMade": ("decision_id", "agent_id"),
    "RegulatoryChangeDetected": ("change_id",),
    "CollaborationEvent": ("session_id",),
    "SimulationUpdate": ("simulation_id",),
    "AuditTrailEntry": ("agent_id",),
}
"""Required non-empty ids per event type; its keys are the six event types."""

METADATA_ID_FIELDS: Final = ("event_id", "source")
FINAL_STATUSES: Final = frozenset({"COMPLETED", "FAILED"})

Record = Mapping[str, Any]


def _invalid(reason: str, detail: str) -> Disposition:
    return Disposition.dead_letter(f"invalid:{reason}", error_class=ERROR_CLASS, detail=detail)


def _blank(value: object) -> bool:
    return not isinstance(value, str) or not value.strip()


def _in_range(value: object, low: float, high: float) -> bool:
    """True for a real number within [low, high]; NaN and non-numbers are out of range."""
    return isinstance(value, int | float) and low <= value <= high


def validate(
    event_type: str, record: Record, *, now_ms: int, max_future_skew_ms: int
) -> Disposition:
    """Return PASS, or DEAD_LETTER with the first failing check's reason.

    ``event_type`` is the short record name the input topic carries (``DecisionMade``);
    ``now_ms`` is the processing time, passed in so tests and replays control the clock.
    """
    if event_type not in ID_FIELDS:
        return _invalid("unknown-event-type", f"event type {event_type!r} is not known")
    metadata = record.get("metadata") or {}
    if metadata.get("event_type") != event_type:
        found = metadata.get("event_type")
        return _invalid("event-type-mismatch", f"metadata.event_type {found!r} != {event_type!r}")
    for name in METADATA_ID_FIELDS:
        if _blank(metadata.get(name)):
            return _invalid("missing-id", f"metadata.{name} is empty")
    for name in ID_FIELDS[event_type]:
        if _blank(record.get(name)):
            return _invalid("missing-id", f"{name} is empty")
    if metadata.get("severity") not in SEVERITY_LEVELS:
        return _invalid("severity", f"metadata.severity {metadata.get('severity')!r} is unknown")
    violation = check_event_values(record)
    if violation is not None:
        return _invalid(violation.reason, f"{violation.path}: {violation.detail}")
    occurred_at = metadata.get("occurred_at")
    if not isinstance(occurred_at, int) or occurred_at > now_ms + max_future_skew_ms:
        ahead = occurred_at - now_ms if isinstance(occurred_at, int) else occurred_at
        return _invalid(
            "future-timestamp",
            f"occurred_at {occurred_at!r} is {ahead!r} ms ahead (allowed {max_future_skew_ms})",
        )
    return _validate_fields(event_type, record)


def _validate_fields(event_type: str, record: Record) -> Disposition:
    """Per-type value checks, after the envelope is known to be sound."""
    if event_type == "DecisionMade" and not _in_range(record.get("confidence_score"), 0.0, 1.0):
        return _invalid(
            "confidence-score", f"confidence_score {record.get('confidence_score')!r} not in [0, 1]"
        )
    if event_type == "SimulationUpdate":
        if not _in_range(record.get("progress_percent"), 0.0, 100.0):
            return _invalid(
                "progress-percent",
                f"progress_percent {record.get('progress_percent')!r} not in [0, 100]",
            )
        status = record.get("status")
        if record.get("final_outcomes") is not None and status not in FINAL_STATUSES:
            return _invalid("final-outcomes", f"final_outcomes set while status is {status!r}")
    return Disposition.passed()
