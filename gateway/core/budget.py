"""The send budget: how many serialised bytes all connections of one gateway process may hold
queued for their clients (our send queues plus the transport's write buffers), and whom to close
when it is exhausted. Pure bookkeeping, like ``limits.py``: no I/O, no clock.

Every session accounts what it queues here (``Session.on_send_buffer`` and every frame it
emits) and asks for room before it delivers a record; without room it is demoted to a paused
catch-up position (Kafka holds the backlog), so the total can exceed ``total_bytes`` by at
most one frame. Demotion alone would let clients that never read hold the budget until their
own slow-consumer deadline, starving everyone else; so when the budget is full the biggest
holders are closed with 4003 (:meth:`SendBudget.shed`) until the bytes not yet being freed are
back under the low mark. Their queues are freed when their connections end, which the I/O
layer bounds in time.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import TypeVar

K = TypeVar("K", bound=Hashable)
LOW_MARK = 0.75  # demoted sessions come back, and shedding stops, below this share of the total


class SendBudget:
    """Bytes queued by every connection of the process against ``total_bytes`` (None: no cap)."""

    __slots__ = ("total_bytes", "used")

    def __init__(self, total_bytes: int | None = None) -> None:
        if total_bytes is not None and total_bytes <= 0:
            raise ValueError("the send budget must be positive")
        self.total_bytes = total_bytes
        self.used = 0

    def add(self, delta: int) -> None:
        """A session queued (positive) or let go of (negative) ``delta`` bytes."""
        self.used += delta

    def room(self) -> float:
        """Bytes any session may still queue before the process is full."""
        return float("inf") if self.total_bytes is None else self.total_bytes - self.used

    def relaxed(self) -> bool:
        """Below the low mark: demoted sessions whose own queue drained may come back."""
        return self.total_bytes is None or self.used <= self.total_bytes * LOW_MARK

    def shed(self, holders: Iterable[tuple[K, int]], freeing: int) -> list[K]:
        """Which sessions to close so that usage gets back under the low mark.

        ``holders`` are the sessions still open with the bytes they hold; ``freeing`` is what
        sessions already closing still hold (it will be freed, so it is not shed twice). Nothing
        is shed while the budget has room. The biggest holders go first: they are the ones not
        reading, and each of them frees the most.
        """
        if self.total_bytes is None or self.used < self.total_bytes:
            return []
        excess = self.used - freeing - int(self.total_bytes * LOW_MARK)
        chosen: list[K] = []
        for key, held in sorted(holders, key=lambda h: h[1], reverse=True):
            if excess <= 0 or held <= 0:
                break
            chosen.append(key)
            excess -= held
        return chosen
