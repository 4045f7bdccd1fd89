"""Is the client reading backlog or level with the live stream? (``catching up`` vs ``live``).

The protocol has no explicit "you are live now" frame, so two signals the gateway does give
are combined, either of which ends catching up:

* an event whose ``time`` (the producer's clock) is recent: the stream is delivering the present;
* a ``checkpoint`` that arrives after a quiet moment: the gateway sends one once a subscription
  has delivered nothing for 250 ms, and a catch-up reader replaying a backlog is never quiet.

This is for people (the dashboard's connection badge), never for correctness: dedupe and resume
do not depend on it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class CatchUpTracker:
    live_lag_ms: int = 5_000
    quiet_ms: int = 200
    catching_up: bool = False
    _last_data_ms: int | None = None

    def replaying(self) -> None:
        """Subscriptions were (re)sent with a token, ``earliest`` or a timestamp."""
        self.catching_up = True
        self._last_data_ms = None

    def on_event(self, event_time_ms: int | None, now_ms: int) -> None:
        self._last_data_ms = now_ms
        if event_time_ms is not None and now_ms - event_time_ms <= self.live_lag_ms:
            self.catching_up = False

    def on_checkpoint(self, now_ms: int) -> None:
        if self._last_data_ms is None or now_ms - self._last_data_ms >= self.quiet_ms:
            self.catching_up = False
