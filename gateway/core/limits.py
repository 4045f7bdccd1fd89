"""Rate and connection limits as small pure objects; time is always passed in.

The per-connection :class:`TokenBucket` lives inside a session. The :class:`ConnectionLimiter`
is shared by all sessions of one server process (connections per subject and per IP); it is
bookkeeping only, the server calls it around the handshake.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from gateway.core.errors import TooManyConnections


class TokenBucket:
    """Classic token bucket: ``rate_per_s`` tokens refill per second up to ``burst``."""

    __slots__ = ("_last_ms", "_tokens", "burst", "rate_per_s")

    def __init__(self, rate_per_s: float, burst: float, now_ms: int) -> None:
        if rate_per_s <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate_per_s = rate_per_s
        self.burst = burst
        self._tokens = float(burst)
        self._last_ms = now_ms

    def take(self, now_ms: int, cost: float = 1.0) -> bool:
        """Spend ``cost`` tokens if available; a clock going backwards refills nothing."""
        elapsed = max(0, now_ms - self._last_ms)
        self._last_ms = max(self._last_ms, now_ms)
        self._tokens = min(self.burst, self._tokens + elapsed * self.rate_per_s / 1000.0)
        if self._tokens >= cost:
            self._tokens -= cost
            return True
        return False


@dataclass(frozen=True)
class Lease:
    """Proof of an admitted connection; hand it back to :meth:`ConnectionLimiter.release`."""

    subject: str
    ip: str


class ConnectionLimiter:
    """Counts open connections per subject and per client IP against two caps (0 = no cap)."""

    def __init__(self, max_per_subject: int = 0, max_per_ip: int = 0) -> None:
        self.max_per_subject = max_per_subject
        self.max_per_ip = max_per_ip
        self._subjects: Counter[str] = Counter()
        self._ips: Counter[str] = Counter()

    def acquire(self, subject: str, ip: str) -> Lease:
        """Admit a connection or raise :class:`TooManyConnections` (HTTP 429, retriable)."""
        if self.max_per_subject and self._subjects[subject] >= self.max_per_subject:
            raise TooManyConnections("too many connections for this subject")
        if self.max_per_ip and self._ips[ip] >= self.max_per_ip:
            raise TooManyConnections("too many connections from this address")
        self._subjects[subject] += 1
        self._ips[ip] += 1
        return Lease(subject, ip)

    def release(self, lease: Lease) -> None:
        for counter, key in ((self._subjects, lease.subject), (self._ips, lease.ip)):
            counter[key] -= 1
            if counter[key] <= 0:
                del counter[key]

    def count(self, *, subject: str | None = None, ip: str | None = None) -> int:
        if subject is not None:
            return self._subjects[subject]
        return self._ips[ip] if ip is not None else sum(self._subjects.values())
