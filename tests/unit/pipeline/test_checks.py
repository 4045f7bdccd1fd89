from __future__ import annotations

from typing import Any

import pytest

from streams.pipeline.checks import ERROR_CLASS, ID_FIELDS, validate
from streams.pipeline.policy import Outcome
from tests.unit.pipeline.factories import NOW, RECORDS, audit_entry, decision, metadata, simulation

SKEW = 60_000


def reason(event_type: str, record: dict[str, Any]) -> str:
    disposition = validate(event_type, record, now_ms=NOW, max_future_skew_ms=SKEW)
    if disposition.is_pass:
        return "pass"
    assert disposition.outcome is Outcome.DEAD_LETTER
    assert disposition.error_class == ERROR_CLASS
    assert disposition.detail
    return disposition.reason


@pytest.mark.parametrize("event_type", sorted(RECORDS))
def test_valid_records_of_every_type_pass(event_type: str) -> None:
    assert reason(event_type, RECORDS[event_type]()) == "pass"


def test_unknown_event_type() -> None:
    assert reason("Heartbeat", decision()) == "invalid:unknown-event-type"


def test_metadata_event_type_must_be_the_record_type() -> None:
    record = decision(metadata=metadata("AuditTrailEntry"))
    assert reason("DecisionMade", record) == "invalid:event-type-mismatch"


ID_CASES = [(t, f) for t, fields in ID_FIELDS.items() for f in fields]


@pytest.mark.parametrize(("event_type", "field"), ID_CASES)
@pytest.mark.parametrize("blank", ["", "   "])
def test_required_ids_must_not_be_blank(event_type: str, field: str, blank: str) -> None:
    record = RECORDS[event_type]() | {field: blank}
    assert reason(event_type, record) == "invalid:missing-id"


@pytest.mark.parametrize("field", ["event_id", "source"])
def test_metadata_ids_must_not_be_blank(field: str) -> None:
    record = decision(metadata=metadata("DecisionMade") | {field: ""})
    assert reason("DecisionMade", record) == "invalid:missing-id"


def test_missing_id_detail_names_the_field() -> None:
    disposition = validate(
        "DecisionMade", decision(decision_id=""), now_ms=NOW, max_future_skew_ms=SKEW
    )
    assert "decision_id" in disposition.detail


def test_unknown_severity() -> None:
    record = decision(metadata=metadata("DecisionMade", severity="SEVERE"))
    assert reason("DecisionMade", record) == "invalid:severity"


@pytest.mark.parametrize(
    ("occurred_at", "expected"),
    [
        (NOW - 86_400_000, "pass"),  # old events are fine (replays, late producers)
        (NOW + SKEW, "pass"),  # exactly the allowed skew
        (NOW + SKEW + 1, "invalid:future-timestamp"),
    ],
)
def test_occurred_at_may_be_at_most_the_skew_ahead(occurred_at: int, expected: str) -> None:
    record = decision(metadata=metadata("DecisionMade", occurred_at=occurred_at))
    assert reason("DecisionMade", record) == expected


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        (0.0, "pass"),
        (1.0, "pass"),
        (-0.01, "invalid:confidence-score"),
        (1.01, "invalid:confidence-score"),
        (float("nan"), "invalid:non-finite-number"),
    ],
)
def test_confidence_score_is_a_probability(score: float, expected: str) -> None:
    assert reason("DecisionMade", decision(confidence_score=score)) == expected


@pytest.mark.parametrize(
    ("percent", "expected"),
    [
        (0.0, "pass"),
        (100.0, "pass"),
        (-1.0, "invalid:progress-percent"),
        (100.5, "invalid:progress-percent"),
        (float("nan"), "invalid:non-finite-number"),
    ],
)
def test_progress_percent_is_within_0_and_100(percent: float, expected: str) -> None:
    assert reason("SimulationUpdate", simulation(progress_percent=percent)) == expected


@pytest.mark.parametrize(
    ("status", "outcomes", "expected"),
    [
        ("RUNNING", None, "pass"),
        ("RUNNING", {"passed": True}, "invalid:final-outcomes"),
        ("COMPLETED", {"passed": True}, "pass"),
        ("FAILED", {"error": "diverged"}, "pass"),
        ("COMPLETED", None, "pass"),
    ],
)
def test_final_outcomes_only_once_finished(
    status: str, outcomes: dict[str, Any] | None, expected: str
) -> None:
    record = simulation(status=status, final_outcomes=outcomes)
    assert reason("SimulationUpdate", record) == expected


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_audit_attributes_must_be_finite(value: float) -> None:
    record = audit_entry(attributes={"score": value})
    assert reason("AuditTrailEntry", record) == "invalid:non-finite-number"


def test_non_finite_numbers_anywhere_are_refused() -> None:
    """JSON has no NaN: a dashboard would get a frame it cannot parse."""
    record = decision(decision_details={"ratio": float("inf")})
    assert reason("DecisionMade", record) == "invalid:non-finite-number"


@pytest.mark.parametrize("occurred_at", [-(2**63), -1, 253_402_300_800_000])
def test_occurred_at_must_lie_in_a_readable_calendar(occurred_at: int) -> None:
    """-2**63 made ``now - occurred_at`` overflow Avro's long when the batch was encoded."""
    record = decision()
    record["metadata"]["occurred_at"] = occurred_at
    assert reason("DecisionMade", record) == "invalid:timestamp-range"


@pytest.mark.parametrize("event_id", ["not-a-uuid", "6F9619FF-8B86-D011-B42D-00C04FC964FF"])
def test_event_id_must_be_a_canonical_uuid(event_id: str) -> None:
    record = decision()
    record["metadata"]["event_id"] = event_id
    assert reason("DecisionMade", record) == "invalid:event-id"


def test_the_first_failing_check_is_the_reason() -> None:
    record = decision(
        decision_id="",
        confidence_score=7.0,
        metadata=metadata("DecisionMade", occurred_at=NOW + 10 * SKEW),
    )
    assert reason("DecisionMade", record) == "invalid:missing-id"
