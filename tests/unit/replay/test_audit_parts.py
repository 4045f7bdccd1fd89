"""Pure parts of the audit side: continuity, access records, rows → chain records."""

from __future__ import annotations

import pytest

from schemas.access import AccessEntry, Action, Via, access_record
from schemas.codec import AvroCodec
from streams.audit.continuity import Continuity, Gap, GapCause
from streams.audit.verify import Position, chain_record
from streams.pipeline.hashchain import BreakKind, ChainVerifier
from streams.replay.ranges import OffsetRange
from streams.replay.rows import RowDecoder
from tests.unit.replay.factories import FakeRecord, audit_batches, batch, encode, events


def test_contiguous_offsets_have_no_gaps() -> None:
    continuity = Continuity({0: OffsetRange(3, 6)}, compacted=False)
    for offset in (3, 4, 5):
        assert continuity.record(0, offset) is None
    assert continuity.close(0, 6) is None
    assert continuity.gaps == []


def test_holes_inside_the_log_depend_on_the_cleanup_policy() -> None:
    plain = Continuity({0: OffsetRange(0, 10)}, compacted=False)
    assert plain.record(0, 0) is None
    assert plain.record(0, 3) == Gap(0, 1, 3, GapCause.TRANSACTION)
    assert plain.close(0, 10) == Gap(0, 4, 10, GapCause.TRANSACTION)
    assert not any(gap.is_loss for gap in plain.gaps)

    compacted = Continuity({0: OffsetRange(0, 10)}, compacted=True)
    compacted.record(0, 2)
    assert compacted.gaps == [Gap(0, 0, 2, GapCause.COMPACTION)]
    assert compacted.gaps[0].is_loss


def test_retention_loss_then_reading_from_the_new_log_start() -> None:
    continuity = Continuity({1: OffsetRange(0, 20)}, compacted=False)
    assert continuity.lost(1, 12) == Gap(1, 0, 12, GapCause.RETENTION)
    assert continuity.record(1, 12) is None
    assert continuity.gaps[0].is_loss and continuity.gaps[0].size == 12


def test_access_record_encodes_as_an_access_audit_entry() -> None:
    entry = AccessEntry(
        "alice", Action.REPLAY, Via.CLI, topic="live.decision_made",
        range_from={0: 5, 1: 7}, range_to="latest", details={"format": "csv"},
    )  # fmt: skip
    record = access_record(entry, source="regstream-cli", occurred_at_ms=1, event_id=None)
    assert record["from"] == {"0": 5, "1": 7}
    codec = AvroCodec()
    decoded = codec.decode(codec.encode("AccessAuditEntry", record))
    assert decoded.event_type == "AccessAuditEntry"
    assert decoded.record == record


def audit_rows() -> list[dict[str, object]]:
    decoder = RowDecoder(AvroCodec(), "AuditTrailEntry")
    rows = []
    for offset, item in enumerate(audit_batches(["agent-a", "agent-b"], 3, 4)):
        rows.extend(decoder.rows(FakeRecord("live.a", 0, offset, encode("EventBatch", item))))
    return rows


def test_decoded_rows_verify_against_the_pipeline_chain() -> None:
    verifier = ChainVerifier()
    for row in audit_rows():
        verifier.feed(chain_record(row))
    assert verifier.report.ok
    assert verifier.report.entries == 6


def test_an_altered_row_is_reported_at_its_position() -> None:
    rows = audit_rows()
    rows[4]["event"]["title"] = "nothing to see"  # type: ignore[index]
    verifier = ChainVerifier()
    for row in rows:
        verifier.feed(chain_record(row))
    (found,) = verifier.report.breaks
    assert found.kind is BreakKind.ALTERED
    assert found.position == Position(0, 1, 0)
    assert str(found.position) == "partition 0 offset 1 index 0"


def test_a_row_without_a_link_is_refused() -> None:
    unchained = batch("AuditTrailEntry", events("AuditTrailEntry", 1))
    (row,) = RowDecoder(AvroCodec()).rows(FakeRecord("a", 0, 0, encode("EventBatch", unchained)))
    with pytest.raises(ValueError, match="chain link"):
        chain_record(row)
