"""Reconnect backoff: per address, doubling to a cap, with jitter, reset by a success."""

from __future__ import annotations

import random

from streams.reconnect import ConnectBackoff


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_delays_double_up_to_the_cap_and_reset_on_success() -> None:
    clock = Clock()
    backoff = ConnectBackoff(0.1, 2.0, clock=clock, rng=random.Random(1))
    broker, other = ("127.0.0.1", 9092), ("127.0.0.1", 9093)
    delays = [backoff.failed(broker) for _ in range(8)]
    ceilings = [0.1, 0.2, 0.4, 0.8, 1.6, 2.0, 2.0, 2.0]
    assert all(c / 2 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    failures, wait = backoff.remaining(broker)
    assert failures == 8 and wait == delays[-1]
    assert backoff.remaining(other) == (0, 0.0)
    clock.now += wait
    assert backoff.remaining(broker)[1] == 0.0
    backoff.succeeded(broker)
    assert backoff.remaining(broker) == (0, 0.0)
    assert backoff.failed(broker) <= 0.1
