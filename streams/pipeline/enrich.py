"""Build the ``Enrichment`` record that travels beside each payload in ``live.<type>``.

Everything here is derived from the record, the agent directory and two clocks, so the dashboard and
the replay never recompute it (and never disagree about it):

- ``agent_name``/``agent_known``: the agent directory (compacted ``ref.agents`` → table) looked up
  by the event's agent: ``agent_id`` for AgentStatusUpdate, DecisionMade and AuditTrailEntry,
  ``sender_id`` for CollaborationEvent (a human sender is simply not a known agent). An id missing
  from the directory (or deleted, a ``None`` tombstone) gives ``agent_known=False`` and
  ``agent_name=None``; the event is never dropped for it. Types without an agent get the same.
- ``severity_level``: :func:`streams.pipeline.severity.severity_level`, 0 (DEBUG) .. 5 (CRITICAL).
- ``ingested_at``: the Kafka timestamp of the input record; ``processed_at``: now.
- ``pipeline_latency_ms``: ``processed_at - occurred_at``, clamped at 0 (source clocks may run a
  little ahead; checks already refuse events too far in the future). It includes the time before
  the event reached Kafka, which is what a person watching the dashboard waits for.
- ``risk_class`` (DecisionMade): see :func:`risk_class`. ``impact_score``
  (RegulatoryChangeDetected): see :func:`impact_score`. ``prev_hash``/``hash`` (AuditTrailEntry):
  the chain link.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from streams.pipeline.severity import severity_level

AGENT_ID_FIELD: Final[dict[str, str]] = {
    "AgentStatusUpdate": "agent_id",
    "DecisionMade": "agent_id",
    "AuditTrailEntry": "agent_id",
    "CollaborationEvent": "sender_id",
}

RISK_LOW_MIN: Final = 0.9
RISK_MEDIUM_MIN: Final = 0.7

IMPACT_LEVEL_WEIGHTS: Final[dict[str, float]] = {
    "NONE": 0.0,
    "LOW": 0.25,
    "MEDIUM": 0.5,
    "HIGH": 0.75,
    "CRITICAL": 1.0,
}
IMPACT_LEVEL_SHARE: Final = 0.8
ACTIONS_FOR_FULL_SHARE: Final = 4


def risk_class(confidence_score: float) -> str:
    """LOW when confidence ≥ 0.9, MEDIUM when ≥ 0.7, else HIGH.

    The less sure the decision engine is, the more a person should look at the decision.
    """
    if confidence_score >= RISK_LOW_MIN:
        return "LOW"
    if confidence_score >= RISK_MEDIUM_MIN:
        return "MEDIUM"
    return "HIGH"


def impact_score(impact_level: str, recommended_actions: Sequence[str]) -> float:
    """A score in [0, 1]: ``0.8 * level_weight + 0.2 * min(actions, 4) / 4``, rounded to 4 places.

    Level weights: NONE 0, LOW 0.25, MEDIUM 0.5, HIGH 0.75, CRITICAL 1. The assessed level
    dominates; the number of non-blank recommended actions (how much work the change causes) adds
    up to 0.2, saturating at four. So CRITICAL with no actions scores 0.8 and NONE with four
    actions 0.2.
    """
    actions = sum(1 for action in recommended_actions if action.strip())
    level_part = IMPACT_LEVEL_SHARE * IMPACT_LEVEL_WEIGHTS[impact_level]
    action_part = (1 - IMPACT_LEVEL_SHARE) * min(actions, ACTIONS_FOR_FULL_SHARE)
    return round(level_part + action_part / ACTIONS_FOR_FULL_SHARE, 4)


def _agent(
    event_type: str, record: Mapping[str, Any], agents: Mapping[str, Any]
) -> tuple[bool, str | None]:
    field = AGENT_ID_FIELD.get(event_type)
    entry = agents.get(record[field]) if field is not None else None
    if not isinstance(entry, Mapping):
        return False, None
    name = entry.get("name")
    return True, name if isinstance(name, str) else None


def build_enrichment(
    event_type: str,
    record: Mapping[str, Any],
    *,
    agents: Mapping[str, Any],
    ingested_at_ms: int,
    now_ms: int,
) -> dict[str, Any]:
    """The ``Enrichment`` record for a validated record of ``event_type``.

    ``agents`` maps agent_id → directory entry (a mapping with ``name``, other keys ignored).
    ``prev_hash``/``hash`` are left ``None``: the caller sets them from the chain link *after*
    everything here succeeded, so a failure cannot leave a chained entry that is never published.
    """
    metadata = record["metadata"]
    agent_known, agent_name = _agent(event_type, record, agents)
    return {
        "agent_name": agent_name,
        "agent_known": agent_known,
        "severity_level": severity_level(metadata["severity"]),
        "ingested_at": ingested_at_ms,
        "processed_at": now_ms,
        "pipeline_latency_ms": max(0, now_ms - metadata["occurred_at"]),
        "risk_class": (
            risk_class(record["confidence_score"]) if event_type == "DecisionMade" else None
        ),
        "impact_score": (
            impact_score(record["impact_level"], record["recommended_actions"])
            if event_type == "RegulatoryChangeDetected"
            else None
        ),
        "prev_hash": None,
        "hash": None,
    }


def enriched_event(
    event_type: str, record: Mapping[str, Any], source_offset: int, enrichment: dict[str, Any]
) -> dict[str, Any]:
    """An ``EnrichedEvent``; the payload is the (short type name, record) union tuple."""
    return {
        "source_offset": source_offset,
        "payload": (event_type, record),
        "enrichment": enrichment,
    }
