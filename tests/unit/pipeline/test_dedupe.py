from __future__ import annotations

from typing import Any

import pytest

from streams.pipeline.dedupe import Deduper, Sighting, Verdict
from streams.pipeline.hashchain import ChainLink
from tests.unit.pipeline.factories import at, event_id

WINDOW = 10_000
T0 = 1_000_000


@pytest.fixture
def store() -> dict[str, Any]:
    return {}


@pytest.fixture
def dedupe(store: dict[str, Any]) -> Deduper:
    return Deduper(store, window_ms=WINDOW)


def test_first_sighting_is_new_and_a_resend_is_a_duplicate(dedupe: Deduper) -> None:
    assert dedupe.check(event_id(1), at(5), T0).verdict is Verdict.NEW
    dedupe.remember(event_id(1), at(5), T0)
    lookup = dedupe.check(event_id(1), at(9), T0 + 1)
    assert lookup.verdict is Verdict.DUPLICATE
    assert lookup.sighting is not None and lookup.sighting.position == at(5).position


def test_check_alone_remembers_nothing(dedupe: Deduper, store: dict[str, Any]) -> None:
    dedupe.check(event_id(1), at(5), T0)
    assert store == {}
    assert dedupe.check(event_id(1), at(6), T0).verdict is Verdict.NEW


def test_same_id_at_the_same_position_is_a_redelivery(dedupe: Deduper) -> None:
    dedupe.remember(event_id(1), at(5), T0)
    assert dedupe.check(event_id(1), at(5), T0 + 1).verdict is Verdict.REDELIVERY


def test_same_offset_in_another_partition_is_a_duplicate(dedupe: Deduper) -> None:
    dedupe.remember(event_id(1), at(5, partition=0), T0)
    assert dedupe.check(event_id(1), at(5, partition=1), T0).verdict is Verdict.DUPLICATE


def test_ids_are_remembered_for_the_window_only(dedupe: Deduper) -> None:
    dedupe.remember(event_id(1), at(5), T0)
    assert dedupe.check(event_id(1), at(9), T0 + WINDOW - 1).verdict is Verdict.DUPLICATE
    assert dedupe.check(event_id(1), at(9), T0 + WINDOW).verdict is Verdict.NEW


def test_duplicates_do_not_extend_the_window(dedupe: Deduper) -> None:
    dedupe.remember(event_id(1), at(5), T0)
    for offset in range(6, 9):
        assert dedupe.check(event_id(1), at(offset), T0 + WINDOW - 1).verdict is Verdict.DUPLICATE
    assert dedupe.check(event_id(1), at(9), T0 + WINDOW).verdict is Verdict.NEW


def test_expired_ids_are_deleted_so_the_store_stays_bounded(
    dedupe: Deduper, store: dict[str, Any]
) -> None:
    for n in range(100):
        dedupe.remember(event_id(n), at(n), T0 + n * 1_000)
    # Each record keeps only the ids of the last window (plus itself): 10 s of 1 id/s.
    assert sorted(store) == [event_id(n) for n in range(90, 100)]


def test_expiry_only_touches_the_current_records_partition(
    dedupe: Deduper, store: dict[str, Any]
) -> None:
    dedupe.remember(event_id(1), at(0, partition=0), T0)
    dedupe.remember(event_id(2), at(0, partition=1), T0)
    dedupe.remember(event_id(3), at(1, partition=0), T0 + WINDOW)
    # Partition 1's id is past the window but stays until partition 1 is processed again
    # (Faust writes a table change to the partition of the record being processed).
    assert sorted(store) == [event_id(2), event_id(3)]
    assert dedupe.check(event_id(2), at(7, partition=1), T0 + WINDOW).verdict is Verdict.NEW
    dedupe.remember(event_id(4), at(1, partition=1), T0 + WINDOW)
    assert sorted(store) == [event_id(3), event_id(4)]


def test_an_id_seen_again_after_expiry_is_not_deleted_by_its_old_index_entry(
    dedupe: Deduper, store: dict[str, Any]
) -> None:
    dedupe.remember(event_id(1), at(0), T0)
    # Expired by the check's rule, re-recorded before the sweep reached it.
    assert dedupe.check(event_id(1), at(1), T0 + WINDOW).verdict is Verdict.NEW
    dedupe.remember(event_id(1), at(1), T0 + WINDOW)
    dedupe.remember(event_id(2), at(2), T0 + WINDOW + 1)
    assert event_id(1) in store
    assert dedupe.check(event_id(1), at(3), T0 + WINDOW + 2).verdict is Verdict.DUPLICATE


def test_a_restarted_deduper_continues_from_the_store(store: dict[str, Any]) -> None:
    first = Deduper(store, window_ms=WINDOW)
    for n in range(5):
        first.remember(event_id(n), at(n), T0 + n)
    # A new process: the table is restored from its changelog, the in-memory index is not.
    second = Deduper(store, window_ms=WINDOW)
    assert second.rebuild_index() == 5
    assert second.check(event_id(3), at(40), T0 + 10).verdict is Verdict.DUPLICATE
    assert second.check(event_id(3), at(3), T0 + 10).verdict is Verdict.REDELIVERY
    second.remember(event_id(9), at(9), T0 + WINDOW + 2)
    assert sorted(store) == [event_id(3), event_id(4), event_id(9)]


def test_sighting_value_round_trips_through_json_lists() -> None:
    plain = Sighting(T0, ("events.a", 2, 7))
    linked = Sighting(T0, ("events.a", 2, 7), ChainLink("0" * 64, "f" * 64))
    assert plain.to_value() == [T0, "events.a", 2, 7]
    assert Sighting.from_value(plain.to_value()) == plain
    assert Sighting.from_value(linked.to_value()) == linked


def test_remember_keeps_the_audit_link(dedupe: Deduper) -> None:
    link = ChainLink("0" * 64, "a" * 64)
    dedupe.remember(event_id(1), at(5), T0, link)
    lookup = dedupe.check(event_id(1), at(5), T0)
    assert lookup.sighting is not None and lookup.sighting.link == link


def test_window_must_be_positive(store: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="window_ms"):
        Deduper(store, window_ms=0)
