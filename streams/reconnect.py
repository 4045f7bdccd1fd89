"""Reconnect to a Kafka broker with exponential backoff, for every aiokafka client of a process.

aiokafka (0.14) opens a connection to a broker whenever a request needs one and the last one
failed, with nothing but its caller's fixed ``retry_backoff_ms`` (100 ms) in between; a process
has several clients (Faust alone runs a consumer and a producer per partition), so a broker that
is down is asked to connect dozens of times a second for as long as it stays down. Kafka's own
clients back off per broker instead (``reconnect.backoff.ms`` doubling up to
``reconnect.backoff.max.ms``); :func:`install` gives aiokafka the same: after a failed connect to
a host:port, further attempts fail at once (as the connect would) until a delay has passed that
doubles with each failure, from ``BASE_S`` up to ``CAP_S``, with jitter so that many clients
do not retry in step. A successful connect resets it. Leader changes are unaffected: the
metadata names another broker, which has no backoff.

The callers see what they saw before, a connection error, and retry as before; only the network
is spared. Fails loudly at start-up if an aiokafka upgrade changes what is wrapped.
"""

from __future__ import annotations

import inspect
import random
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

BASE_S = 0.1
CAP_S = 2.0
Address = tuple[str, int]


class ConnectBackoff:
    """Per-address backoff: how long to wait before the next connect after ``n`` failures."""

    def __init__(
        self,
        base_s: float = BASE_S,
        cap_s: float = CAP_S,
        *,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.base_s, self.cap_s = base_s, cap_s
        self._clock = clock
        self._rng = rng or random.Random()
        self._lock = threading.Lock()  # Faust runs its consumer on a thread of its own
        self._state: dict[Address, tuple[int, float]] = {}  # address -> (failures, retry at)

    def remaining(self, address: Address) -> tuple[int, float]:
        """(failures so far, seconds until the next attempt may go out; 0 when it may now)."""
        with self._lock:
            failures, retry_at = self._state.get(address, (0, 0.0))
        return failures, max(0.0, retry_at - self._clock())

    def failed(self, address: Address) -> float:
        """Record a failed connect; returns the delay before the next attempt."""
        with self._lock:
            failures = self._state.get(address, (0, 0.0))[0] + 1
            ceiling = min(self.cap_s, self.base_s * 2 ** (failures - 1))
            delay = ceiling / 2 + self._rng.uniform(0, ceiling / 2)
            self._state[address] = (failures, self._clock() + delay)
        return delay

    def succeeded(self, address: Address) -> None:
        with self._lock:
            self._state.pop(address, None)


def install(backoff: ConnectBackoff | None = None) -> ConnectBackoff:
    """Wrap aiokafka's connection factory with ``backoff`` (once per process; idempotent)."""
    from aiokafka import client
    from aiokafka.errors import KafkaConnectionError, KafkaError

    current = client.create_conn
    installed: ConnectBackoff | None = getattr(current, "regstream_backoff", None)
    if installed is not None:
        return installed
    if not inspect.iscoroutinefunction(current) or list(inspect.signature(current).parameters)[
        :2
    ] != ["host", "port"]:
        raise RuntimeError("aiokafka.client.create_conn changed shape; revisit streams.reconnect")
    policy = backoff or ConnectBackoff()
    connect: Callable[..., Awaitable[Any]] = current

    async def create_conn(host: str, port: int, **options: Any) -> Any:
        failures, wait = policy.remaining((host, port))
        if wait > 0:
            raise KafkaConnectionError(
                f"{host}:{port} unreachable ({failures} failed connects); next try in {wait:.1f} s"
            )
        try:
            conn = await connect(host, port, **options)
        except (TimeoutError, OSError, KafkaError):
            policy.failed((host, port))
            raise
        policy.succeeded((host, port))
        return conn

    create_conn.regstream_backoff = policy  # type: ignore[attr-defined]
    client.create_conn = create_conn
    return policy
