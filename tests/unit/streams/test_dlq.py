"""Dead letters for people: selection, the JSON form, and what a replayed record carries."""

from __future__ import annotations

from streams.dlq import REPLAYED_FROM, DeadLetter, Selection, _replay_headers
from streams.pipeline import Coordinates, Disposition, dead_letter_headers
from streams.pipeline.policy import parse_dead_letter_headers
from streams.settings import Settings
from tests.unit.pipeline.factories import decision
from tests.unit.worker.factories import CODEC

SOURCE = Coordinates("events.decision_made", 2, 41, 0)


def letter(value: bytes, reason: str = "bad-magic", offset: int = 7) -> DeadLetter:
    disposition = Disposition.dead_letter(reason, error_class="X", detail="why")
    headers = [("trace", b"t"), *dead_letter_headers(disposition, SOURCE, now_ms=5)]
    return DeadLetter(0, offset, b"key", value, headers, parse_dead_letter_headers(headers))


def test_selection_by_reason_source_and_position() -> None:
    bad = letter(b"x", offset=7)
    assert Selection().matches(bad)
    assert Selection(reasons=frozenset({"bad-magic"})).matches(bad)
    assert not Selection(reasons=frozenset({"truncated"})).matches(bad)
    assert not Selection(source_topic="events.audit_trail_entry").matches(bad)
    assert Selection(positions=frozenset({"0:7"})).matches(bad)
    assert not Selection(positions=frozenset({"0:8"})).matches(bad)


def test_the_json_form_carries_the_decoded_record_when_the_bytes_decode() -> None:
    record = decision(1, confidence_score=1.5)
    shown = letter(CODEC.encode("DecisionMade", record), "invalid:confidence-score").as_json(CODEC)
    assert shown["record"] == record and shown["event_type"] == "DecisionMade"
    assert (shown["source_topic"], shown["source_offset"], shown["reason"]) == (
        "events.decision_made",
        41,
        "invalid:confidence-score",
    )
    assert letter(b"junk").as_json(CODEC)["record"] is None


def test_a_replayed_record_drops_old_verdicts_and_says_where_it_came_from() -> None:
    headers = _replay_headers(Settings(), "0:7", letter(b"x").headers)
    assert [n for n, _ in headers] == ["trace", REPLAYED_FROM]
    assert dict(headers)[REPLAYED_FROM] == b"events.dlq/0/7"
