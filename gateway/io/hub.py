"""What the connections of one gateway process share: Kafka readers and writers, metrics, the
resume keyring, the send budget, the clock ticker and the drain.

Every tick also sheds load when the send budget is full: the connections holding the most
bytes are closed with 4003 (``SendBudget.shed`` decides who), so clients that never read cannot
keep the budget from the others.

Nothing here is shared between instances: two gateways only share Kafka, and a client resumes on
either with its token (ARCHITECTURE.md, "Horizontal scale").

The hub sees connections only through :class:`Client` (tick, fail, drain, what they hold), so
it imports nothing of ``connection.py``, which is built on top of it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Hashable, Mapping
from typing import Protocol

import structlog

from gateway.core.budget import SendBudget
from gateway.core.commands import AccessAction
from gateway.core.errors import ClosingError, SlowConsumer
from gateway.core.records import Record
from gateway.core.tokens import ResumeKeyring
from gateway.io.audit import AuditWriter, Who
from gateway.io.catchup import CatchUpPool
from gateway.io.clock import now_ms
from gateway.io.kafka_io import DecodedCache, Resolver
from gateway.io.metrics import GatewayMetrics
from gateway.io.publisher import Publisher
from gateway.io.settings import GatewaySettings
from gateway.io.tail import TailReader
from schemas.codec import Codec
from schemas.contract import EVENT_TYPES
from schemas.formats import codec_for
from streams.settings import Settings

log = structlog.get_logger("gateway.hub")
SLOW_TICK_EVERY = 25  # quiet connections are ticked every 25th tick (JWT expiry)


class Client(Hashable, Protocol):
    """What the hub needs of a connection."""

    @property
    def finished(self) -> asyncio.Future[None]:
        """Done once the connection is released."""

    def busy(self, now: int, within_ms: int) -> bool:
        """The clock matters to it within ``within_ms`` (ticked every tick; the others only
        every ``SLOW_TICK_EVERY`` ticks)."""

    def held(self) -> int:
        """Bytes queued for the client."""

    def is_closing(self) -> bool:
        """A close was asked: what it holds is being freed."""

    def tick(self, now: int) -> None: ...

    def fail(self, error: ClosingError, now: int) -> None: ...

    def drain(self, now: int) -> None: ...

    def abort(self, reason: str) -> None:
        """Cut the TCP connection (the peer does not complete a close)."""


class Hub:
    def __init__(self, base: Settings, settings: GatewaySettings, instance: str) -> None:
        self.base, self.settings, self.instance = base, settings, instance
        self.metrics = GatewayMetrics()
        self.codec: Codec = codec_for(base.wire_format, base.schema_registry_url)
        keys, active = settings.resume_key_set(base)
        self.keyring = ResumeKeyring(keys, active=active, ttl_s=settings.resume_ttl_s)
        self.session_config = settings.session_config(frozenset(EVENT_TYPES))
        self.budget = SendBudget(settings.send_budget_bytes)
        self.resolver = Resolver(base)
        self.cache = DecodedCache(settings.decode_cache_events)
        self.pool = CatchUpPool(
            base,
            self.codec,
            self.metrics,
            ends=self.tail_positions,
            memory=self.from_memory,
            cache=self.cache,
            consumers=settings.catchup_consumers,
            max_records=settings.catchup_max_records,
        )
        self.publisher = Publisher(base)
        self.audit = (
            AuditWriter(base, self.codec, self.metrics, instance) if settings.audit else None
        )
        self.connections: set[Client] = set()
        self._tails: dict[str, TailReader] = {}
        self._ticker: asyncio.Task[None] | None = None
        self.draining = False

    async def start(self) -> None:
        """Start the Kafka clients; if one cannot start (no broker), close those that did."""
        try:
            await self.resolver.start()
            await self.pool.start()
            await self.publisher.start()
            if self.audit is not None:
                await self.audit.start()
        except BaseException:
            await self.stop()
            raise
        self._ticker = asyncio.create_task(self._tick(), name="ticker")

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        for tail in self._tails.values():
            await tail.stop()
        await self.pool.stop()
        if self.audit is not None:
            await self.audit.stop()
        await self.publisher.stop()
        await self.resolver.stop()

    def kafka_topic(self, name: str) -> str:
        return self.base.catalog.live_topic(name)

    def tail(self, name: str) -> TailReader:
        reader = self._tails.get(name)
        if reader is None:
            reader = self._tails[name] = TailReader(
                name,
                self.kafka_topic(name),
                self.base,
                self.codec,
                self.resolver,
                self.metrics,
                self.cache,
                self.settings.tail_history_events,
            )
        return reader

    def tail_positions(self, name: str) -> dict[int, int] | None:
        reader = self._tails.get(name)
        return None if reader is None else reader.positions

    def from_memory(
        self, name: str, positions: Mapping[int, int]
    ) -> tuple[list[Record], dict[int, int]] | None:
        """Records from ``positions`` to the tail out of the tail's history, if it reaches."""
        reader = self._tails.get(name)
        tail = None if reader is None else reader.positions
        if reader is None or tail is None:
            return None
        records = reader.history.since(positions, tail)
        if records is None:
            return None
        return records, {p: max(o, tail.get(p, o)) for p, o in positions.items()}

    def readers_running(self) -> dict[str, bool]:
        return {name: t.running for name, t in self._tails.items() if t.watchers}

    # -- clock and shutdown -----------------------------------------------------------------

    async def _tick(self) -> None:
        count = 0
        slow_ms = SLOW_TICK_EVERY * self.settings.tick_ms
        while True:
            await asyncio.sleep(self.settings.tick_ms / 1000)
            count += 1
            now = now_ms()
            for conn in tuple(self.connections):
                if count % SLOW_TICK_EVERY == 0 or conn.busy(now, slow_ms):
                    conn.tick(now)
            self._shed(now)
            self.metrics.send_budget_used.set(self.budget.used)

    def _shed(self, now: int) -> None:
        if self.budget.room() > 0:
            return
        open_: list[tuple[Client, int]] = []
        freeing = 0
        for conn in self.connections:
            if conn.is_closing():
                freeing += conn.held()
            else:
                open_.append((conn, conn.held()))
        shed = self.budget.shed(open_, freeing)
        if shed:
            log.warning("send budget full: closing the connections holding the most", n=len(shed))
        for conn in shed:
            conn.fail(SlowConsumer("the gateway's send budget is full"), now)

    async def drain(self, deadline_s: float) -> int:
        """Checkpoint and close every connection with the retry code; wait until they are gone
        or the deadline passes. Returns how many were still open then."""
        self.draining = True
        now = now_ms()
        for conn in tuple(self.connections):
            conn.drain(now)
        waiting = [conn.finished for conn in self.connections]
        if waiting:
            await asyncio.wait(waiting, timeout=deadline_s)
        return len(self.connections)

    # -- audit ------------------------------------------------------------------------------

    def record(self, actions: list[AccessAction], who: Who) -> None:
        """Write what the core reported to the access audit (when it is on)."""
        if self.audit is not None and actions:
            self.audit.record(actions, who)
