"""The delivery checker finds each kind of anomaly, and nothing in a clean history."""

from __future__ import annotations

from collections import Counter

from tests.faults.checker import (
    Ack,
    ClientLog,
    GapSeen,
    LiveEvent,
    PipelineEnd,
    Receipt,
    check,
)

T = "AgentStatusUpdate"


def history() -> tuple[list[Ack], PipelineEnd]:
    """Six sends on partition 0: e1..e4 pass (one live record each), e5 is dead-lettered, and
    e1 sent again at offset 5 is filtered as a duplicate."""
    acks = [Ack(f"e{i}", T, "k" if i % 2 else "j", 0, i - 1) for i in range(1, 6)]
    acks.append(Ack("e1", T, "k", 0, 5))
    live = [LiveEvent(f"e{i}", (T, 0, i - 1, 0), (T, 0, i - 1)) for i in range(1, 5)]
    return acks, PipelineEnd(live, {(T, 0, 4)}, Counter({(T, 0): 1}))


def client(*offsets: int, gaps: list[GapSeen] | None = None) -> ClientLog:
    receipts = [Receipt(f"e{o + 1}", (T, 0, o, 0)) for o in offsets]
    return ClientLog("c", frozenset({T}), receipts, gaps or [])


def test_a_clean_history_with_repeats_after_a_resume() -> None:
    acks, end = history()
    report = check(acks, [client(0, 1, 2, 1, 2, 3)], end)
    assert report.ok, report.table()
    assert (report.passed, report.dead_lettered, report.filtered) == (4, 1, 1)
    assert (report.deliveries, report.repeats_dropped) == (4, 2)
    assert "  lost                        0" in report.table().splitlines()


def test_lost_by_the_pipeline_and_by_the_gateway() -> None:
    acks, end = history()
    end.live.pop()  # e4 never passed, and nothing says it was filtered
    report = check(acks, [client(0, 1, 2)], end)
    assert report.lost == 1
    acks, end = history()
    report = check(acks, [client(0, 1, 3)], end)  # e3 passed, the client never got it
    assert report.lost == 1 and not report.false_gaps


def test_duplicates_after_dedupe_and_reordering_within_a_key() -> None:
    acks, end = history()
    end.live.append(LiveEvent("e1", (T, 0, 9, 0), (T, 0, 0)))  # input 0 passed twice
    again = client(0, 1, 2, 3)
    again.receipts.append(Receipt("e1", (T, 0, 9, 0)))
    report = check(acks, [again], end)
    assert report.duplicated == 2  # once in the pipeline, once kept by the client
    acks, end = history()
    end.live = [LiveEvent(e.event_id, (T, 0, 3 - e.position[2], 0), e.source) for e in end.live]
    swapped = ClientLog(
        "c",
        frozenset({T}),
        [Receipt(e.event_id, e.position) for e in sorted(end.live, key=lambda e: e.position)],
    )
    report = check(acks, [swapped], end)
    assert report.reordered == 2  # e3 after e1 (key k), e4 after e2 (key j)


def test_uncertain_sends_are_not_held_to_order() -> None:
    acks, end = history()
    acks = [
        Ack(a.event_id, T, a.key, 0, a.offset, uncertain=a.event_id in {"e1", "e3"}) for a in acks
    ]
    end.live = [LiveEvent(e.event_id, (T, 0, 3 - e.position[2], 0), e.source) for e in end.live]
    swapped = ClientLog(
        "c",
        frozenset({T}),
        [Receipt(e.event_id, e.position) for e in sorted(end.live, key=lambda e: e.position)],
    )
    assert check(acks, [swapped], end).reordered == 1  # key k's events were uncertain


def test_a_gap_is_false_unless_a_passed_event_in_its_range_is_missing() -> None:
    acks, end = history()
    told = GapSeen(T, 0, (2, 3), "horizon")
    assert check(acks, [client(0, 1, 3, gaps=[told])], end).false_gaps == 0
    report = check(acks, [client(0, 1, 2, 3, gaps=[told])], end)
    assert (report.gaps, report.false_gaps) == (1, 1)
