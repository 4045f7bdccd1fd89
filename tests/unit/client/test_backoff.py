"""Backoff: capped exponential ceilings, full jitter, reset only after a stable connection."""

from __future__ import annotations

import pytest

from gateway.client.backoff import Backoff


def test_ceiling_doubles_until_the_cap() -> None:
    b = Backoff(base_s=0.5, cap_s=4.0, rng=lambda: 1.0)
    assert [b.next_delay() for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


def test_full_jitter_spans_zero_to_the_ceiling() -> None:
    assert Backoff(base_s=1.0, rng=lambda: 0.0).next_delay() == 0.0
    b = Backoff(base_s=1.0, cap_s=8.0, rng=lambda: 0.5)
    b.attempt = 3
    assert b.next_delay() == 4.0


def test_a_short_connection_does_not_reset_but_a_stable_one_does() -> None:
    b = Backoff(stable_s=10.0, rng=lambda: 1.0)
    for _ in range(4):
        b.next_delay()
    b.connection_lasted(9.9)  # accepted then dropped: a crash loop must not get zero delays
    assert b.attempt == 4
    b.connection_lasted(10.0)
    assert b.attempt == 0


def test_penalty_jumps_ahead_but_never_back() -> None:
    b = Backoff(penalty_attempts=5)
    b.penalize()
    assert b.attempt == 5
    b.attempt = 9
    b.penalize()
    assert b.attempt == 9


def test_huge_attempt_counts_stay_at_the_cap() -> None:
    b = Backoff(base_s=1.0, cap_s=30.0, rng=lambda: 1.0)
    b.attempt = 10_000
    assert b.next_delay() == 30.0


@pytest.mark.parametrize("kwargs", [{"base_s": 0}, {"base_s": 5, "cap_s": 1}, {"factor": 0.5}])
def test_nonsense_is_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        Backoff(**kwargs)  # type: ignore[arg-type]
