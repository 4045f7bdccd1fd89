"""Reconnect delays: capped exponential backoff with full jitter, reset after a stable connection.

Full jitter (a uniformly random delay between 0 and the current ceiling) spreads a crowd of
dashboards that lost the same gateway, so they do not come back in lock-step and knock over the
instance that replaces it. The ceiling doubles per failed attempt up to ``cap_s``.

Resetting happens only after a connection *stayed up* for ``stable_s``, not as soon as one opens:
a gateway that accepts and then drops every connection (a crash loop, a bad deploy) would
otherwise be hammered with zero-delay reconnects forever.

Pure and deterministic given ``rng``, so tests drive it without sleeping.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Backoff:
    """Delays for successive reconnect attempts. Not thread-safe; one per client."""

    base_s: float = 0.25
    cap_s: float = 30.0
    factor: float = 2.0
    stable_s: float = 10.0
    penalty_attempts: int = 5
    rng: Callable[[], float] = field(default=random.random, repr=False)
    attempt: int = 0

    def __post_init__(self) -> None:
        if self.base_s <= 0 or self.cap_s < self.base_s or self.factor < 1:
            raise ValueError("need 0 < base_s <= cap_s and factor >= 1")

    def ceiling(self, attempt: int | None = None) -> float:
        """The upper bound of the delay for ``attempt`` (the current one by default)."""
        n = self.attempt if attempt is None else attempt
        # Exponent capped so huge attempt counts cannot overflow a float.
        return min(self.cap_s, self.base_s * self.factor ** min(n, 64))

    def next_delay(self) -> float:
        """The delay before the next attempt, in [0, ceiling); moves to the next attempt."""
        delay = self.rng() * self.ceiling()
        self.attempt += 1
        return delay

    def connection_lasted(self, seconds: float) -> None:
        """A connection just ended after ``seconds``: a stable one earns a fresh start."""
        if seconds >= self.stable_s:
            self.reset()

    def penalize(self) -> None:
        """Jump ahead (rate-limited by the gateway, close 4004): wait longer next time."""
        self.attempt = max(self.attempt, self.penalty_attempts)

    def reset(self) -> None:
        self.attempt = 0
