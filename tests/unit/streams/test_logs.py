"""Bounded logging: a repeating message is one line per window, with the count it held back."""

from __future__ import annotations

import logging

from streams.logs import RepeatFilter, Repeats


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def record(
    msg: str, *args: object, level: int = logging.ERROR, name: str = "aiokafka"
) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, args, None)


def test_a_flood_is_one_line_per_window_with_a_count() -> None:
    clock = Clock()
    repeat = RepeatFilter(Repeats(30.0, clock=clock))
    passed = []
    for i in range(3000):  # 100 a second for 30 s, node ids and errors varying
        clock.now = i / 100
        item = record("Unable connect to node with id %s: %s", i % 3, f"error {i}")
        if repeat.filter(item):
            passed.append(item)
    clock.now = 30.5
    last = record("Unable connect to node with id %s: %s", 1, "refused")
    assert repeat.filter(last)
    assert len(passed) == 1
    assert last.getMessage() == (
        "Unable connect to node with id 1: refused [and 2999 more like this in the last 30 s]"
    )


def test_kinds_are_counted_apart_and_info_always_passes() -> None:
    repeat = RepeatFilter(Repeats(30.0, clock=Clock()))
    assert repeat.filter(record("a %s", 1)) and repeat.filter(record("b %s", 1))
    assert repeat.filter(record("a %s", 1, level=logging.WARNING))
    assert repeat.filter(record("a %s", 1, name="faust"))
    assert not repeat.filter(record("a %s", 2))
    assert all(repeat.filter(record("rebalancing %s", i, level=logging.INFO)) for i in range(50))


def test_what_it_remembers_is_bounded() -> None:
    repeats = Repeats(30.0, max_kinds=10, clock=Clock())
    for i in range(1000):
        repeats.admit(f"message number {i}")
    assert len(repeats) == 10
