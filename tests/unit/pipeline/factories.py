"""Valid decoded records of the six event types (plain dicts, as the codec returns them)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import fastavro

from streams.pipeline.coordinates import Coordinates

NOW = 1_700_000_000_000
AVRO_DIR = Path(__file__).resolve().parents[3] / "schemas" / "avro"


def event_id(n: int) -> str:
    return str(uuid.UUID(int=n))


def metadata(event_type: str, n: int = 1, **over: Any) -> dict[str, Any]:
    return {
        "event_id": event_id(n),
        "event_type": event_type,
        "source": "agent-runtime-1",
        "occurred_at": NOW - 250,
        "severity": "INFO",
        "headers": {},
    } | over


def agent_status(n: int = 1, **over: Any) -> dict[str, Any]:
    return {
        "metadata": metadata("AgentStatusUpdate", n),
        "agent_id": "agent-7",
        "status": "ACTIVE",
        "attributes": {"version": "1.2"},
    } | over


def decision(n: int = 1, **over: Any) -> dict[str, Any]:
    return {
        "metadata": metadata("DecisionMade", n),
        "decision_id": f"dec-{n}",
        "agent_id": "agent-7",
        "decision_type": "transaction-review",
        "confidence_score": 0.95,
        "decision_details": {"amount": 1200.5},
    } | over


def regulatory_change(n: int = 1, **over: Any) -> dict[str, Any]:
    return {
        "metadata": metadata("RegulatoryChangeDetected", n),
        "change_id": f"chg-{n}",
        "source": "EBA",
        "change_type": "amendment",
        "impact_level": "HIGH",
        "change_details": {},
        "recommended_actions": ["update policy", "notify compliance"],
    } | over


def collaboration(n: int = 1, **over: Any) -> dict[str, Any]:
    return {
        "metadata": metadata("CollaborationEvent", n),
        "session_id": "sess-1",
        "kind": "MESSAGE",
        "sender_id": "agent-7",
        "receiver_id": None,
        "participant_ids": ["agent-7", "alice"],
        "message_type": "TEXT",
        "status": "SENT",
        "content": "Grüße — review done",
        "attributes": {},
    } | over


def simulation(n: int = 1, **over: Any) -> dict[str, Any]:
    return {
        "metadata": metadata("SimulationUpdate", n),
        "simulation_id": "sim-1",
        "status": "RUNNING",
        "progress_percent": 42.0,
        "intermediate_results": {"scenarios": 12},
        "final_outcomes": None,
    } | over


def audit_entry(n: int = 1, agent_id: str = "agent-7", **over: Any) -> dict[str, Any]:
    return {
        "metadata": metadata("AuditTrailEntry", n),
        "agent_id": agent_id,
        "activity_type": "decision",
        "title": f"entry {n}",
        "description": "approved après revue",
        "attributes": {"score": 0.5, "flag": True, "note": None, "count": 3},
    } | over


RECORDS = {
    "AgentStatusUpdate": agent_status,
    "DecisionMade": decision,
    "RegulatoryChangeDetected": regulatory_change,
    "CollaborationEvent": collaboration,
    "SimulationUpdate": simulation,
    "AuditTrailEntry": audit_entry,
}


def at(offset: int, partition: int = 0, topic: str = "events.test") -> Coordinates:
    """Coordinates of an input record read at ``offset``, ingested 100 ms before NOW."""
    return Coordinates(topic, partition, offset, NOW - 100)


def load_avsc(name: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((AVRO_DIR / f"{name}.avsc").read_text())
    return result


def event_batch_schema() -> Any:
    """The parsed EventBatch schema, with the records it names parsed first."""
    named: dict[str, Any] = {}
    for name in ["EventMetadata", *RECORDS]:
        fastavro.parse_schema(load_avsc(name), named_schemas=named)
    return fastavro.parse_schema(load_avsc("EventBatch"), named_schemas=named)
