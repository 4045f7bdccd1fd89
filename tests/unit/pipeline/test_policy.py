from __future__ import annotations

import pytest

from streams.pipeline.coordinates import Coordinates
from streams.pipeline.policy import (
    MAX_DETAIL_BYTES,
    Disposition,
    DispositionCounter,
    Outcome,
    dead_letter_headers,
    disposition_for_error,
    parse_dead_letter_headers,
)

SOURCE = Coordinates("events.DecisionMade", 2, 1234, 1_700_000_000_000)


class _BadBytes(Exception):
    dlq_reason = "bad-magic"


class _BrokerDown(Exception):
    retriable = True


class _RegistryRefused(Exception):
    retriable = False


def test_dead_letter_headers_name_the_source_error_reason_and_time() -> None:
    disposition = Disposition.dead_letter(
        "invalid:future-timestamp", error_class="x.InvalidRecord", detail="1 h ahead"
    )
    headers = dead_letter_headers(disposition, SOURCE, now_ms=1_700_000_000_999)
    assert headers == [
        ("regstream.dlq.source-topic", b"events.DecisionMade"),
        ("regstream.dlq.source-partition", b"2"),
        ("regstream.dlq.source-offset", b"1234"),
        ("regstream.dlq.error-class", b"x.InvalidRecord"),
        ("regstream.dlq.reason", b"invalid:future-timestamp"),
        ("regstream.dlq.time", b"1700000000999"),
        ("regstream.dlq.detail", b"1 h ahead"),
    ]


def test_dead_letter_headers_read_back() -> None:
    disposition = Disposition.dead_letter("truncated", error_class="schemas.errors.Truncated")
    headers = dead_letter_headers(disposition, SOURCE, now_ms=5)
    info = parse_dead_letter_headers([("traceparent", b"00-abc"), *headers])
    assert info.source == ("events.DecisionMade", 2, 1234)
    assert (info.error_class, info.reason, info.dead_lettered_at_ms, info.detail) == (
        "schemas.errors.Truncated",
        "truncated",
        5,
        "",
    )


def test_parse_refuses_a_record_without_our_headers() -> None:
    with pytest.raises(ValueError, match="source-topic"):
        parse_dead_letter_headers([("regstream.dlq.reason", b"x")])


def test_long_detail_is_cut_on_a_character_boundary() -> None:
    disposition = Disposition.dead_letter("r", error_class="E", detail="é" * MAX_DETAIL_BYTES)
    detail = dict(dead_letter_headers(disposition, SOURCE, now_ms=0))["regstream.dlq.detail"]
    assert len(detail) <= MAX_DETAIL_BYTES
    assert detail.decode() == "é" * (MAX_DETAIL_BYTES // 2)


@pytest.mark.parametrize("disposition", [Disposition.passed(), Disposition.filtered("f")])
def test_only_dead_letters_get_dead_letter_headers(disposition: Disposition) -> None:
    with pytest.raises(ValueError, match="not a dead letter"):
        dead_letter_headers(disposition, SOURCE, now_ms=0)


def test_error_with_a_dlq_reason_is_dead_lettered_with_it() -> None:
    disposition = disposition_for_error(_BadBytes("starts with {"), stage="decode")
    assert disposition.outcome is Outcome.DEAD_LETTER
    assert disposition.reason == "bad-magic"
    assert disposition.error_class == f"{__name__}._BadBytes"
    assert disposition.detail == "starts with {"


@pytest.mark.parametrize("stage", ["decode", "process"])
def test_error_without_a_reason_is_dead_lettered_by_stage(stage: str) -> None:
    disposition = disposition_for_error(KeyError("agent_id"), stage=stage)  # type: ignore[arg-type]
    assert disposition.reason == f"{stage}-error"
    assert disposition.error_class == "builtins.KeyError"


def test_retriable_error_is_raised_not_dead_lettered() -> None:
    with pytest.raises(_BrokerDown):
        disposition_for_error(_BrokerDown(), stage="decode")


def test_error_marked_not_retriable_is_dead_lettered() -> None:
    assert disposition_for_error(_RegistryRefused(), stage="decode").reason == "decode-error"


def test_counter_counts_by_topic_outcome_and_reason() -> None:
    counter = DispositionCounter()
    counter.add("events.a", Disposition.passed())
    counter.add("events.a", Disposition.filtered("filtered:duplicate"))
    counter.add("events.a", Disposition.filtered("filtered:duplicate"))
    counter.add("events.b", Disposition.filtered("filtered:duplicate"))
    assert counter.get("events.a", Outcome.FILTERED, "filtered:duplicate") == 2
    assert counter.get("events.a", Outcome.PASS) == 1
    assert counter.get("events.a", Outcome.DEAD_LETTER, "x") == 0
    snapshot = counter.snapshot()
    counter.add("events.b", Disposition.passed())
    assert sum(snapshot.values()) == 4
