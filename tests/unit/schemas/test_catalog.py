"""Topic names and specs come from one catalog."""

from __future__ import annotations

import pytest

from schemas.catalog import DAY_MS, TopicCatalog, snake_case
from schemas.contract import EVENT_TYPES

SNAKE = {
    "AgentStatusUpdate": "agent_status_update",
    "DecisionMade": "decision_made",
    "RegulatoryChangeDetected": "regulatory_change_detected",
    "CollaborationEvent": "collaboration_event",
    "SimulationUpdate": "simulation_update",
    "AuditTrailEntry": "audit_trail_entry",
}


@pytest.mark.parametrize(("event_type", "snake"), SNAKE.items())
def test_default_names(event_type: str, snake: str) -> None:
    catalog = TopicCatalog()
    assert snake_case(event_type) == snake
    assert catalog.input_topic(event_type) == f"events.{snake}"
    assert catalog.live_topic(event_type) == f"live.{snake}"
    assert catalog.event_type_of(f"events.{snake}") == event_type
    assert catalog.event_type_of(f"live.{snake}") == event_type
    assert catalog.is_live(f"live.{snake}") and not catalog.is_live(f"events.{snake}")


def test_other_topics_have_no_event_type() -> None:
    catalog = TopicCatalog()
    for topic in ("events.dlq", "ref.agents", "gateway.audit", "events.unknown", "live."):
        assert catalog.event_type_of(topic) is None
    with pytest.raises(KeyError):
        catalog.input_topic("EventBatch")


def test_specs_with_defaults() -> None:
    specs = {spec.name: spec for spec in TopicCatalog(replication_factor=3).all_specs()}
    assert len(specs) == 6 + 6 + 3
    for event_type in EVENT_TYPES:
        for prefix in ("events.", "live."):
            spec = specs[prefix + snake_case(event_type)]
            assert spec.partitions == 6
            assert spec.replication_factor == 3
            assert spec.config["retention.ms"] == str(7 * DAY_MS)
            assert spec.config["cleanup.policy"] == "delete"
            assert spec.config["min.insync.replicas"] == "2"
    assert specs["events.dlq"].config["retention.ms"] == str(30 * DAY_MS)
    assert specs["ref.agents"].config["cleanup.policy"] == "compact"
    assert specs["ref.agents"].partitions == 1
    assert "retention.ms" not in specs["ref.agents"].config
    assert specs["gateway.audit"].config["retention.ms"] == str(365 * DAY_MS)


def test_single_broker_keeps_writes_possible() -> None:
    for spec in TopicCatalog(replication_factor=1).all_specs():
        assert spec.replication_factor == 1
        assert spec.config["min.insync.replicas"] == "1"


def test_specs_are_immutable() -> None:
    spec = TopicCatalog().all_specs()[0]
    with pytest.raises(TypeError):
        spec.config["retention.ms"] = "1"  # type: ignore[index]


def test_custom_prefixes() -> None:
    catalog = TopicCatalog(
        input_prefix="prod.in.", live_prefix="prod.out.", dlq="prod.dlq", agents="prod.agents"
    )
    assert catalog.input_topic("DecisionMade") == "prod.in.decision_made"
    assert catalog.live_topic("regstream.events.DecisionMade") == "prod.out.decision_made"
    assert catalog.event_type_of("prod.out.audit_trail_entry") == "AuditTrailEntry"
    names = {spec.name for spec in catalog.all_specs()}
    assert {"prod.dlq", "prod.agents", "gateway.audit"} <= names


@pytest.mark.parametrize(
    "kwargs",
    [
        {"input_prefix": "x.", "live_prefix": "x."},
        {"dlq": "events.decision_made"},
        {"input_prefix": "bad prefix/"},
        {"audit": ""},
        {"replication_factor": 0},
        {"partitions": 0},
    ],
)
def test_invalid_catalogs_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        TopicCatalog(**kwargs)  # type: ignore[arg-type]
