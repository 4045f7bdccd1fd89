"""Dedupe by position with one high-water mark per (subscription, partition)."""

from __future__ import annotations

from gateway.client.dedupe import Position, PositionDeduper


def pos(partition: int, offset: int, index: int = 0, topic: str = "DecisionMade") -> Position:
    return Position(topic, partition, offset, index)


def test_repeats_after_a_resume_are_dropped() -> None:
    d = PositionDeduper()
    first = [pos(0, 10, 0), pos(0, 10, 1), pos(0, 11, 0)]
    assert [d.accept("feed", p) for p in first] == [True, True, True]
    # The gateway resumed from a checkpoint at offset 10: the batch comes again, then new ones.
    again = [pos(0, 10, 0), pos(0, 10, 1), pos(0, 11, 0), pos(0, 12, 0)]
    assert [d.accept("feed", p) for p in again] == [False, False, False, True]


def test_partitions_and_subscriptions_are_independent() -> None:
    d = PositionDeduper()
    assert d.accept("a", pos(0, 5))
    assert d.accept("a", pos(1, 1))  # lower offset, other partition
    assert d.accept("b", pos(0, 5))  # same event, another subscription
    assert not d.accept("a", pos(0, 5))


def test_filtered_indexes_may_skip_but_never_go_back() -> None:
    d = PositionDeduper()
    assert d.accept("f", pos(0, 7, 3))
    assert not d.accept("f", pos(0, 7, 1))
    assert d.accept("f", pos(0, 7, 4))


def test_memory_is_one_mark_per_partition() -> None:
    d = PositionDeduper()
    for offset in range(10_000):
        for partition in range(3):
            d.accept("feed", pos(partition, offset))
    assert len(d) == 3
    assert d.mark("feed", "DecisionMade", 2) == (9_999, 0)


def test_forget_after_a_recreated_topic() -> None:
    d = PositionDeduper()
    d.accept("feed", pos(0, 500))
    d.accept("feed", pos(1, 500))
    d.forget("feed", partition=0)
    assert d.accept("feed", pos(0, 0))  # offsets start over in the new incarnation
    assert not d.accept("feed", pos(1, 0))
    d.forget("feed")
    assert len(d) == 0
