"""Realistic records of every message type, shared by the schema tests."""

from __future__ import annotations

import io
import json
import random
import shutil
import uuid
from pathlib import Path
from typing import Any

from fastavro import schemaless_writer

from schemas import contract
from schemas.catalog import snake_case
from schemas.contract import Contract

OCCURRED_AT = 1_732_550_400_000  # 2024-11-25T16:00:00Z in epoch milliseconds


def metadata(event_type: str, rng: random.Random | None = None, **overrides: Any) -> dict[str, Any]:
    rng = rng or random.Random(7)
    return {
        "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "event_type": event_type,
        "source": "decision-engine-7f9c",
        "occurred_at": OCCURRED_AT,
        "severity": "HIGH",
        "headers": {"trace_id": "4bf92f3577b34da6", "tenant": "acme-bank"},
        **overrides,
    }


def sample(event_type: str, rng: random.Random | None = None) -> dict[str, Any]:
    """A full, realistic record of ``event_type`` (every field set); any non-batch type."""
    meta = metadata(event_type, rng)
    records: dict[str, dict[str, Any]] = {
        "AgentStatusUpdate": {
            "metadata": meta,
            "agent_id": "agent-aml-03",
            "status": "DEGRADED",
            "attributes": {
                "reason": "upstream latency",
                "queue_depth": 412,
                "cpu": 0.87,
                "healthy": False,
                "last_error": None,
            },
        },
        "DecisionMade": {
            "metadata": meta,
            "decision_id": "dec-2024-11-25-000187",
            "agent_id": "agent-aml-03",
            "decision_type": "TRANSACTION_HOLD",
            "confidence_score": 0.93,
            "decision_details": {"transaction_id": "tx-99812", "amount_eur": 125000.0},
        },
        "RegulatoryChangeDetected": {
            "metadata": meta,
            "change_id": "chg-esma-2024-1187",
            "source": "ESMA",
            "change_type": "AMENDMENT",
            "impact_level": "HIGH",
            "change_details": {"regulation": "MiCA", "article": "Art. 68", "effective": True},
            "recommended_actions": ["Update custody policy", "Notify compliance officer"],
        },
        "CollaborationEvent": {
            "metadata": meta,
            "session_id": "sess-5521",
            "kind": "INTERVENTION_REQUEST",
            "sender_id": "agent-aml-03",
            "receiver_id": "user-jdoe",
            "participant_ids": ["agent-aml-03", "user-jdoe"],
            "message_type": "TEXT",
            "status": "DELIVERED",
            "content": "Please review the hold on tx-99812 — naïve rule matched 3 times.",
            "attributes": {"priority": 2},
        },
        "SimulationUpdate": {
            "metadata": meta,
            "simulation_id": "sim-basel-iv-42",
            "status": "COMPLETED",
            "progress_percent": 100.0,
            "intermediate_results": {"scenarios_done": 120},
            "final_outcomes": {"capital_ratio": 0.145, "passed": True},
        },
        "AccessAuditEntry": {
            "metadata": meta,
            "subject": "analyst-jdoe",
            "action": "REPLAY",
            "via": "GATEWAY",
            "topic": "live.decision_made",
            "from": {"0": 1200, "1": 980},
            "to": "2024-11-25T17:00:00Z",
            "client_address": "10.0.4.17:51544",
            "details": {"filter": "severity>=HIGH"},
        },
        "AuditTrailEntry": {
            "metadata": meta,
            "agent_id": "agent-aml-03",
            "activity_type": "DECISION_OVERRIDE",
            "title": "Hold released",
            "description": "Compliance officer released hold on tx-99812 after review.",
            "attributes": {"officer": "user-jdoe"},
        },
    }
    return records[event_type]


def sample_batch(event_type: str, count: int = 3, seed: int = 11) -> dict[str, Any]:
    """An ``EventBatch`` of ``count`` enriched ``event_type`` events."""
    rng = random.Random(seed)
    events = []
    for offset in range(count):
        events.append(
            {
                "source_offset": 1000 + offset,
                "payload": (event_type, sample(event_type, rng)),
                "enrichment": {
                    "agent_name": "AML screening agent",
                    "agent_known": True,
                    "severity_level": 4,
                    "ingested_at": OCCURRED_AT + 5,
                    "processed_at": OCCURRED_AT + 12,
                    "pipeline_latency_ms": 12,
                    "risk_class": "HIGH" if event_type == "DecisionMade" else None,
                    "impact_score": None,
                    "prev_hash": None,
                    "hash": None,
                },
            }
        )
    return {
        "batch_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "event_type": event_type,
        "source_topic": f"events.{snake_case(event_type)}",
        "source_partition": 2,
        "created_at": OCCURRED_AT + 20,
        "events": events,
    }


def evolved_contract(directory: Path) -> Contract:
    """The contract of a next release: ``DecisionMade`` gained ``rationale`` (default "")."""
    current = directory / "avro"
    shutil.copytree(Path(contract.__file__).parent / "avro", current)
    path = current / "DecisionMade.avsc"
    schema = json.loads(path.read_text())
    schema["fields"].append({"name": "rationale", "type": "string", "default": ""})
    path.write_text(json.dumps(schema))
    return contract.load_contract(current)


def written_around_the_encoder(name: str, record: dict[str, Any]) -> bytes:
    """``record`` single-object encoded by fastavro alone, as a producer that skips regstream's
    value rules and size limit (kcat, another Avro library) would write it."""
    entry = contract.default_contract().entry(name)
    out = io.BytesIO(b"\xc3\x01" + entry.fingerprint)
    out.seek(0, io.SEEK_END)
    schemaless_writer(out, entry.parsed, record)
    return out.getvalue()
