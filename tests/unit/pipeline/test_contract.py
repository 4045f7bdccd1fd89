"""The pipeline's tables agree with the .avsc files (the data contract is the source of truth)."""

from __future__ import annotations

from typing import Any

from streams.pipeline.checks import ID_FIELDS
from streams.pipeline.enrich import IMPACT_LEVEL_WEIGHTS, build_enrichment
from streams.pipeline.severity import SEVERITY_LEVELS
from tests.unit.pipeline.factories import NOW, decision, load_avsc


def _field(record: dict[str, Any], name: str) -> dict[str, Any]:
    return next(f for f in record["fields"] if f["name"] == name)


def test_the_six_event_types_are_the_batch_payload_union() -> None:
    events = _field(load_avsc("EventBatch"), "events")["type"]["items"]
    union = _field(events, "payload")["type"]
    assert sorted(name.rsplit(".", 1)[1] for name in union) == sorted(ID_FIELDS)


def test_required_id_fields_exist_and_are_strings() -> None:
    for event_type, fields in ID_FIELDS.items():
        schema = load_avsc(event_type)
        for name in fields:
            assert _field(schema, name)["type"] == "string", (event_type, name)


def test_severity_levels_follow_the_enum_order() -> None:
    severity = _field(load_avsc("EventMetadata"), "severity")["type"]["symbols"]
    assert list(SEVERITY_LEVELS) == severity


def test_impact_weights_cover_the_impact_level_enum() -> None:
    levels = _field(load_avsc("RegulatoryChangeDetected"), "impact_level")["type"]["symbols"]
    assert list(IMPACT_LEVEL_WEIGHTS) == levels


def test_enrichment_has_exactly_the_schema_fields() -> None:
    events = _field(load_avsc("EventBatch"), "events")["type"]["items"]
    schema_fields = [f["name"] for f in _field(events, "enrichment")["type"]["fields"]]
    enrichment = build_enrichment(
        "DecisionMade", decision(), agents={}, ingested_at_ms=NOW, now_ms=NOW
    )
    assert list(enrichment) == schema_fields
