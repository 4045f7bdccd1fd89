"""Token bucket and connection limits, with time passed in."""

from __future__ import annotations

import pytest

from gateway.core.errors import TooManyConnections
from gateway.core.limits import ConnectionLimiter, TokenBucket


def test_token_bucket_burst_then_rate() -> None:
    bucket = TokenBucket(rate_per_s=10, burst=3, now_ms=0)
    assert [bucket.take(0) for _ in range(4)] == [True, True, True, False]
    assert not bucket.take(50)  # half a token
    assert bucket.take(100)
    assert [bucket.take(10_000) for _ in range(4)] == [True, True, True, False]  # capped at burst
    assert not bucket.take(5_000)  # clock went back: no refill


def test_token_bucket_guards() -> None:
    with pytest.raises(ValueError):
        TokenBucket(0, 1, 0)


def test_connection_limiter() -> None:
    limiter = ConnectionLimiter(max_per_subject=2, max_per_ip=3)
    a1, a2 = limiter.acquire("alice", "10.0.0.1"), limiter.acquire("alice", "10.0.0.1")
    with pytest.raises(TooManyConnections) as info:
        limiter.acquire("alice", "10.0.0.2")
    assert info.value.http_status == 429 and info.value.retriable
    limiter.acquire("bob", "10.0.0.1")
    with pytest.raises(TooManyConnections, match="address"):
        limiter.acquire("carol", "10.0.0.1")
    limiter.release(a1)
    limiter.release(a2)
    assert limiter.count(subject="alice") == 0 and limiter.count(ip="10.0.0.1") == 1
    assert limiter.count() == 1
    assert ConnectionLimiter().acquire("x", "y")  # 0 = no cap
