"""Resuming a subscription that no checkpoint covers yet, without losing or repeating events.

The gateway's checkpoints come after a quiet moment, every 500 events or every 5 s, so a
connection can die after ``subscribed`` and some events but before any token names that
subscription. Re-sending the original ``from`` would be wrong: ``latest`` would skip whatever was
produced meanwhile. The protocol has no "from these offsets", so the client recovers with what it
has:

* the **floor**: the positions of the subscription's first ``subscribed`` (nothing below them was
  ever owed), and its high-water marks (everything up to them was delivered);
* it re-subscribes from a point in time safely before the first confirmation (``earliest`` if
  that was the original start), drops events below the floor and dedupes the rest;
* it **verifies** the ``subscribed`` answer: if any partition starts past what is still needed
  (a producer clock far behind), it re-subscribes from ``earliest`` instead, and events in
  between are dropped, never delivered.

Pure functions; the connection applies them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from gateway.client.subscriptions import SubscriptionSpec, epoch_ms

MARGIN_MS = 60_000
"""How far before the first confirmation to restart: producer/broker clock skew allowance."""


def recovery_start(spec: SubscriptionSpec, confirmed_at_ms: int) -> Any:
    """The ``from`` of a recovering subscribe frame."""
    if spec.start == "earliest":
        return "earliest"
    at = confirmed_at_ms - MARGIN_MS
    if isinstance(spec.start, int | datetime):
        at = min(at, epoch_ms(spec.start))
    return {"timestamp": max(0, at)}


def starts_in_time(
    positions: Mapping[int, int], floor: Mapping[int, int], marks: Mapping[int, int]
) -> bool:
    """True when no partition of the answer starts past the first offset still needed there:
    the high-water mark's record (it may have later indexes), else the floor."""
    return all(start <= marks.get(p, floor.get(p, 0)) for p, start in positions.items())
