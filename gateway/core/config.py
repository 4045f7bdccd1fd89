"""What one session may do and how often it reports: limits, checkpoint cadence, send room.

One frozen object per gateway process (``gateway.io.settings`` builds it from the operator's
settings); ``hello`` announces the limits a client should pace itself by.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SessionConfig:
    version: str = "regstream.v1"
    max_frame_bytes: int = 64 * 1024
    max_depth: int = 32
    rate_per_s: float = 50.0
    rate_burst: int = 100
    rate_strikes: int = 50
    max_subscriptions: int = 64
    max_pending_publishes: int = 32
    heartbeat_s: int = 20
    checkpoint_every_events: int = 500
    checkpoint_interval_ms: int = 5_000
    checkpoint_quiet_ms: int = 250
    send_high_bytes: int = 4 * 1024 * 1024
    send_low_bytes: int = 1024 * 1024
    slow_close_ms: int | None = 120_000
    to_grace_ms: int = 2_000  # producer clock slack before an idle partition passes `to.timestamp`
    topics: frozenset[str] | None = None  # known topics; None: the I/O layer decides

    def limits(self) -> dict[str, float | int]:
        """What ``hello`` announces, so clients can pace themselves."""
        return {
            "max_frame_bytes": self.max_frame_bytes,
            "rate_per_s": self.rate_per_s,
            "rate_burst": self.rate_burst,
            "max_subscriptions": self.max_subscriptions,
            "max_pending_publishes": self.max_pending_publishes,
        }
