"""Realistic events of all six types, from a seeded generator.

The demo producer, the benchmarks and the round-trip tests all draw from here, so what a newcomer
sees in `make dev` is exactly what the tests prove the pipeline handles.
"""

from __future__ import annotations

import random
import time
import uuid
from typing import Any

from schemas.contract import EVENT_TYPES

AGENT_DIRECTORY: dict[str, dict[str, Any]] = {
    "agent-kyc": {"name": "KYC screening", "team": "onboarding"},
    "agent-aml": {"name": "AML transaction monitoring", "team": "financial crime"},
    "agent-sanctions": {"name": "Sanctions screening", "team": "financial crime"},
    "agent-gdpr": {"name": "GDPR privacy review", "team": "data protection"},
    "agent-mifid": {"name": "MiFID II reporting", "team": "markets"},
    "agent-basel": {"name": "Basel capital", "team": "risk"},
    "agent-sox": {"name": "SOX controls", "team": "finance"},
}
"""The demo's agents as ``make dev`` loads them into the agent directory (``ref.agents``)."""
AGENTS = list(AGENT_DIRECTORY)
REGULATORS = ["EBA", "ESMA", "FCA", "SEC", "FINRA", "BaFin", "AMF"]
SEVERITIES = ["DEBUG", "INFO", "INFO", "INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL"]
ACTIVITIES = ["document_review", "policy_check", "transaction_screening", "risk_scoring"]


class SampleEvents:
    """Generate valid records; ``next(event_type)`` or ``any()`` for a random type."""

    def __init__(self, seed: int = 7, source: str = "regstream-demo") -> None:
        self._random = random.Random(seed)
        self._source = source
        self._progress: dict[str, float] = {}

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self._random.getrandbits(128), version=4))

    def metadata(self, event_type: str, severity: str | None = None) -> dict[str, Any]:
        return {
            "event_id": self._uuid(),
            "event_type": event_type,
            "source": self._source,
            "occurred_at": int(time.time() * 1000),
            "severity": severity or self._random.choice(SEVERITIES),
            "headers": {"tenant": "acme-bank"},
        }

    def any(self) -> tuple[str, dict[str, Any]]:
        event_type = self._random.choice(EVENT_TYPES)
        return event_type, self.next(event_type)

    def next(self, event_type: str) -> dict[str, Any]:
        build = getattr(self, f"_{event_type}")
        record: dict[str, Any] = build()
        return record

    def _AgentStatusUpdate(self) -> dict[str, Any]:
        status = self._random.choice(["ACTIVE", "IDLE", "BUSY", "DEGRADED", "ERROR"])
        severity = {"ERROR": "HIGH", "DEGRADED": "MEDIUM"}.get(status, "INFO")
        return {
            "metadata": self.metadata("AgentStatusUpdate", severity),
            "agent_id": self._random.choice(AGENTS),
            "status": status,
            "attributes": {"version": "2.4.1", "queue_depth": self._random.randint(0, 50)},
        }

    def _DecisionMade(self) -> dict[str, Any]:
        return {
            "metadata": self.metadata("DecisionMade"),
            "decision_id": self._uuid(),
            "agent_id": self._random.choice(AGENTS),
            "decision_type": self._random.choice(["approve", "escalate", "reject", "hold"]),
            "confidence_score": round(self._random.random(), 3),
            "decision_details": {"case": f"CASE-{self._random.randint(1000, 9999)}", "rule": "R12"},
        }

    def _RegulatoryChangeDetected(self) -> dict[str, Any]:
        regulator = self._random.choice(REGULATORS)
        return {
            "metadata": self.metadata("RegulatoryChangeDetected", "MEDIUM"),
            "change_id": self._uuid(),
            "source": regulator,
            "change_type": self._random.choice(["amendment", "new_rule", "guidance", "repeal"]),
            "impact_level": self._random.choice(["LOW", "MEDIUM", "HIGH", "CRITICAL"]),
            "change_details": {"document": f"{regulator}/2026/{self._random.randint(1, 400)}"},
            "recommended_actions": ["review affected policies", "notify compliance officer"],
        }

    def _CollaborationEvent(self) -> dict[str, Any]:
        agent = self._random.choice(AGENTS)
        return {
            "metadata": self.metadata("CollaborationEvent", "INFO"),
            "session_id": f"session-{self._random.randint(1, 20)}",
            "kind": self._random.choice(["MESSAGE", "INTERVENTION_REQUEST", "FEEDBACK"]),
            "sender_id": agent,
            "receiver_id": "analyst-1",
            "participant_ids": [agent, "analyst-1"],
            "message_type": "TEXT",
            "status": "SENT",
            "content": self._random.choice(
                ["Please confirm the sanctions hit.", "Escalating case to level 2.", "Approved."]
            ),
            "attributes": {},
        }

    def _SimulationUpdate(self) -> dict[str, Any]:
        simulation = f"sim-{self._random.randint(1, 5)}"
        progress = min(100.0, self._progress.get(simulation, 0.0) + self._random.uniform(1, 15))
        done = progress >= 100.0
        self._progress[simulation] = 0.0 if done else progress
        return {
            "metadata": self.metadata("SimulationUpdate", "INFO"),
            "simulation_id": simulation,
            "status": "COMPLETED" if done else "RUNNING",
            "progress_percent": round(progress, 1),
            "intermediate_results": {"scenarios_run": int(progress * 10)},
            "final_outcomes": {"breaches": self._random.randint(0, 3)} if done else None,
        }

    def _AuditTrailEntry(self) -> dict[str, Any]:
        return {
            "metadata": self.metadata("AuditTrailEntry"),
            "agent_id": self._random.choice(AGENTS),
            "activity_type": self._random.choice(ACTIVITIES),
            "title": "Screening completed",
            "description": "Customer batch screened against consolidated sanctions list.",
            "attributes": {"records": self._random.randint(1, 500)},
        }
