"""Position guard: once, in order, no hole — without a broker."""

from __future__ import annotations

from streams.worker.guard import PositionGuard
from tests.unit.pipeline.factories import decision
from tests.unit.worker.factories import TOPIC, inbound

TP = (TOPIC, 0)


def records(*offsets: int) -> list:
    return [inbound(decision(n), offset=n) for n in offsets]


def offsets(admitted: list) -> list[int]:
    return [r.coordinates.offset for r in admitted]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_an_unknown_partition_starts_at_its_first_record_and_moves_forward() -> None:
    guard = PositionGuard()
    admitted, seek = guard.admit(TP, records(7, 8, 9))
    assert (offsets(admitted), seek) == ([7, 8, 9], None)
    assert offsets(guard.admit(TP, records(10))[0]) == [10]


def test_records_below_the_position_are_skipped_as_already_delivered() -> None:
    guard = PositionGuard()
    guard.learn(TP, 5)
    admitted, seek = guard.admit(TP, records(3, 4, 5, 6, 5, 6, 7))
    assert (offsets(admitted), seek) == ([5, 6, 7], None)
    assert guard.skipped == 4


def test_a_hole_stops_admission_and_asks_for_a_seek_back() -> None:
    guard = PositionGuard()
    guard.learn(TP, 10)
    admitted, seek = guard.admit(TP, records(10, 11, 40, 41))
    assert (offsets(admitted), seek) == ([10, 11], 12)
    # records buffered before the seek (past the hole) are dropped, the re-fetch is admitted
    admitted, seek = guard.admit(TP, records(42, 43, 12, 13))
    assert (offsets(admitted), seek) == ([12, 13], None)
    assert guard.holes_found == 1 and guard.holes_accepted == 0


def test_a_hole_that_is_in_the_log_is_accepted_after_the_re_fetch() -> None:
    guard = PositionGuard()
    guard.learn(TP, 10)
    assert guard.admit(TP, records(15, 16)) == ([], 10)
    admitted, seek = guard.admit(TP, records(15, 16, 17))  # the re-fetch starts past 10 again
    assert (offsets(admitted), seek) == ([15, 16, 17], None)
    assert guard.holes_accepted == 1


def test_an_unresolved_hole_is_sought_again_after_the_retry_interval() -> None:
    clock = Clock()
    guard = PositionGuard(retry_s=2.0, clock=clock)
    guard.learn(TP, 10)
    guard.admit(TP, records(20))
    assert guard.overdue() == []
    clock.now += 2.5
    assert guard.overdue() == [(TP, 10)]
    assert guard.overdue() == []  # not again right away


def test_forgetting_a_partition_makes_its_next_record_the_start() -> None:
    guard = PositionGuard()
    guard.learn(TP, 10)
    guard.forget({TP})
    assert not guard.knows(TP)
    assert offsets(guard.admit(TP, records(3))[0]) == [3]
