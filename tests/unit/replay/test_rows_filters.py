from __future__ import annotations

from typing import Any

import pytest

from schemas.codec import AvroCodec
from streams.replay.filters import RowFilter, parse_condition
from streams.replay.rows import BadRecord, RowDecoder, resolve_row_type
from tests.unit.replay.factories import FakeRecord, batch, encode, events

TOPIC = "live.decision_made"


def decision_rows(count: int = 3) -> list[dict[str, Any]]:
    value = encode(
        "EventBatch",
        batch("DecisionMade", events("DecisionMade", count), source_partition=2, first_offset=40),
    )
    return RowDecoder(AvroCodec()).rows(FakeRecord(TOPIC, 1, 9, value, b"k"))


def test_a_batch_gives_one_row_per_event_with_its_position() -> None:
    rows = decision_rows()
    assert [(r["partition"], r["offset"], r["index"]) for r in rows] == [
        (1, 9, i) for i in range(3)
    ]
    assert [r["source"] for r in rows] == [
        {"topic": "events.DecisionMade", "partition": 2, "offset": 40 + i} for i in range(3)
    ]
    assert rows[0]["event_type"] == "DecisionMade"
    assert rows[0]["key"] == "k"
    assert rows[0]["enrichment"]["risk_class"] in ("LOW", "MEDIUM", "HIGH")
    assert list(rows[0]) == ["topic", "partition", "offset", "index", "timestamp", "key",
                             "event_type", "source", "event", "enrichment"]  # fmt: skip


def test_a_single_event_gives_one_row_without_index_source_or_enrichment() -> None:
    record = events("SimulationUpdate", 1)[0]
    (row,) = RowDecoder(AvroCodec(), "SimulationUpdate").rows(
        FakeRecord("events.simulation_update", 0, 3, encode("SimulationUpdate", record), None)
    )
    assert row["event"] == record
    assert (row["index"], row["source"], row["enrichment"], row["key"]) == (None, None, None, None)


@pytest.mark.parametrize(
    ("value", "expected", "reason"),
    [
        (b"{not avro", None, "bad-magic"),
        (None, None, "tombstone"),
        (
            encode("DecisionMade", events("DecisionMade", 1)[0]),
            "AuditTrailEntry",
            "schema-mismatch",
        ),
    ],
)
def test_bad_records_carry_position_and_reason(
    value: bytes | None, expected: str | None, reason: str
) -> None:
    with pytest.raises(BadRecord) as caught:
        RowDecoder(AvroCodec(), expected).rows(FakeRecord("t", 2, 77, value))
    assert (caught.value.topic, caught.value.partition, caught.value.offset) == ("t", 2, 77)
    assert caught.value.reason.startswith(reason)
    assert "t[2]@77" in str(caught.value)


def test_row_types_accept_the_produce_spellings_and_the_access_audit() -> None:
    assert resolve_row_type("decision_made") == "DecisionMade"
    assert resolve_row_type("access_audit_entry") == "AccessAuditEntry"
    assert resolve_row_type("AccessAuditEntry") == "AccessAuditEntry"
    with pytest.raises(ValueError):
        resolve_row_type("nope")


ROW = {
    "topic": "live.x",
    "partition": 1,
    "offset": 5,
    "event": {
        "agent_id": "agent-kyc",
        "confidence_score": 0.62,
        "flag": True,
        "maybe": None,
        "metadata": {"severity": "HIGH"},
    },
    "enrichment": {"risk_class": "HIGH"},
}


@pytest.mark.parametrize(
    ("condition", "holds"),
    [
        ("agent_id=agent-kyc", True),
        ("event.agent_id=agent-aml,agent-kyc", True),
        ("agent_id!=agent-kyc", False),
        ("agent_id!=agent-aml", True),
        ("metadata.severity>=MEDIUM", True),
        ("metadata.severity>=critical", False),
        ("metadata.severity<warning", False),
        ("confidence_score<0.7", True),
        ("confidence_score=0.62", True),
        ("partition=1", True),
        ("offset>5", False),
        ("flag=true", True),
        ("maybe=null", True),
        ("enrichment.risk_class=HIGH", True),
        ("missing!=x", False),
        ("agent_id>agent-a", True),
        ("confidence_score>abc", False),
    ],
)
def test_conditions(condition: str, holds: bool) -> None:
    assert parse_condition(condition).holds(ROW) is holds


def test_all_conditions_must_hold_and_none_keeps_everything() -> None:
    assert RowFilter(["agent_id=agent-kyc", "partition=1"]).matches(ROW)
    assert not RowFilter(["agent_id=agent-kyc", "partition=2"]).matches(ROW)
    assert not RowFilter()
    assert RowFilter().matches(ROW)


@pytest.mark.parametrize("bad", ["agent_id", "=x", "a..b=1", "metadata.severity>=HUGE"])
def test_bad_conditions_fail_up_front(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_condition(bad)
