from __future__ import annotations

from typing import Any

import pytest

from streams.pipeline.enrich import build_enrichment, impact_score, risk_class
from tests.unit.pipeline.factories import (
    NOW,
    collaboration,
    decision,
    metadata,
    regulatory_change,
    simulation,
)

AGENTS: dict[str, Any] = {
    "agent-7": {"name": "KYC Reviewer", "team": "compliance"},
    "agent-nameless": {"team": "ops"},
    "agent-deleted": None,  # a tombstone in ref.agents
}


def enrich(event_type: str, record: dict[str, Any], now_ms: int = NOW) -> dict[str, Any]:
    return build_enrichment(
        event_type, record, agents=AGENTS, ingested_at_ms=NOW - 100, now_ms=now_ms
    )


def test_known_agent_gets_its_name() -> None:
    enrichment = enrich("DecisionMade", decision())
    assert (enrichment["agent_known"], enrichment["agent_name"]) == (True, "KYC Reviewer")


@pytest.mark.parametrize("agent_id", ["agent-unknown", "agent-deleted"])
def test_unknown_agent_is_marked_unknown_not_dropped(agent_id: str) -> None:
    enrichment = enrich("DecisionMade", decision(agent_id=agent_id))
    assert (enrichment["agent_known"], enrichment["agent_name"]) == (False, None)
    assert enrichment["risk_class"] == "LOW"  # the rest is still filled in


def test_directory_entry_without_a_name_is_known_but_nameless() -> None:
    enrichment = enrich("DecisionMade", decision(agent_id="agent-nameless"))
    assert (enrichment["agent_known"], enrichment["agent_name"]) == (True, None)


def test_collaboration_events_look_up_their_sender() -> None:
    assert enrich("CollaborationEvent", collaboration())["agent_name"] == "KYC Reviewer"
    human = enrich("CollaborationEvent", collaboration(sender_id="alice"))
    assert human["agent_known"] is False


def test_event_types_without_an_agent_are_not_known_agents() -> None:
    enrichment = enrich("SimulationUpdate", simulation())
    assert (enrichment["agent_known"], enrichment["agent_name"]) == (False, None)


def test_times_and_latency() -> None:
    record = decision(metadata=metadata("DecisionMade", occurred_at=NOW - 250))
    enrichment = enrich("DecisionMade", record)
    assert enrichment["ingested_at"] == NOW - 100
    assert enrichment["processed_at"] == NOW
    assert enrichment["pipeline_latency_ms"] == 250


def test_latency_is_clamped_at_zero_for_a_source_clock_ahead() -> None:
    record = decision(metadata=metadata("DecisionMade", occurred_at=NOW + 2_000))
    assert enrich("DecisionMade", record)["pipeline_latency_ms"] == 0


@pytest.mark.parametrize(("severity", "level"), [("DEBUG", 0), ("MEDIUM", 3), ("CRITICAL", 5)])
def test_severity_is_normalized(severity: str, level: int) -> None:
    record = decision(metadata=metadata("DecisionMade", severity=severity))
    assert enrich("DecisionMade", record)["severity_level"] == level


@pytest.mark.parametrize(
    ("score", "risk"),
    [
        (1.0, "LOW"),
        (0.9, "LOW"),
        (0.8999, "MEDIUM"),
        (0.7, "MEDIUM"),
        (0.6999, "HIGH"),
        (0, "HIGH"),
    ],
)
def test_risk_class_from_confidence(score: float, risk: str) -> None:
    assert risk_class(score) == risk
    assert enrich("DecisionMade", decision(confidence_score=score))["risk_class"] == risk


@pytest.mark.parametrize(
    ("level", "actions", "score"),
    [
        ("NONE", [], 0.0),
        ("NONE", ["a", "b", "c", "d"], 0.2),
        ("LOW", ["a"], 0.25),
        ("MEDIUM", ["a", "b"], 0.5),
        ("HIGH", [], 0.6),
        ("CRITICAL", [], 0.8),
        ("CRITICAL", ["a", "b", "c"], 0.95),
        ("CRITICAL", ["a", "b", "c", "d", "e", "f"], 1.0),
        ("HIGH", ["a", " ", ""], 0.65),  # blank actions do not count
    ],
)
def test_impact_score_formula(level: str, actions: list[str], score: float) -> None:
    assert impact_score(level, actions) == score


def test_impact_score_stays_in_0_1_and_grows_with_level_and_actions() -> None:
    levels = ["NONE", "LOW", "MEDIUM", "HIGH", "CRITICAL"]
    grid = [[impact_score(level, ["x"] * n) for n in range(7)] for level in levels]
    assert all(0.0 <= s <= 1.0 for row in grid for s in row)
    assert all(row == sorted(row) for row in grid)
    assert all(list(col) == sorted(col) for col in zip(*grid, strict=True))


def test_only_decisions_get_a_risk_class_and_only_changes_an_impact_score() -> None:
    change = enrich("RegulatoryChangeDetected", regulatory_change())
    assert (change["risk_class"], change["impact_score"]) == (None, 0.7)
    assert enrich("DecisionMade", decision())["impact_score"] is None


def test_hash_fields_are_left_for_the_chain() -> None:
    enrichment = enrich("DecisionMade", decision())
    assert (enrichment["prev_hash"], enrichment["hash"]) == (None, None)
