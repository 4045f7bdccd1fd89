"""``gateway.audit``: who connected, subscribed, replayed, published and disconnected.

Entries are the :class:`streams.audit.access.AccessEntry` records every writer uses, encoded by
``access_record`` exactly like the CLI's. Unlike the CLI (which writes before serving a replay),
the gateway writes without holding the client: the core reports a subscription when its range
is resolved, and holding a live stream on a broker round trip per subscribe would stall every
resume. Writes are pipelined through one idempotent acks=all producer; a failure is logged and
counted (``regstream_gateway_audit_failures``), and the queue is flushed on drain.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from gateway.io.metrics import GatewayMetrics
from schemas.codec import Codec
from schemas.contract import ACCESS_AUDIT
from streams.audit.access import AccessEntry, access_record
from streams.kafka import reliable_producer
from streams.settings import Settings

log = structlog.get_logger("gateway.audit")
MAX_QUEUE = 100_000


class AuditWriter:
    def __init__(
        self, settings: Settings, codec: Codec, metrics: GatewayMetrics, source: str
    ) -> None:
        self._topic = settings.audit_topic
        self._codec, self._metrics, self._source = codec, metrics, source
        self._producer = reliable_producer(settings, linger_ms=20)
        self._queue: asyncio.Queue[AccessEntry] = asyncio.Queue(MAX_QUEUE)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._producer.start()
        self._task = asyncio.create_task(self._run(), name="audit")

    def write(self, entry: AccessEntry) -> None:
        try:
            self._queue.put_nowait(entry)
        except asyncio.QueueFull:
            self._metrics.audit_failures.inc()
            log.error("audit queue full; entry dropped", action=entry.action, subject=entry.subject)

    async def _run(self) -> None:
        while True:
            entries = [await self._queue.get()]
            while not self._queue.empty() and len(entries) < 1000:
                entries.append(self._queue.get_nowait())
            futures = []
            for entry in entries:
                value = self._codec.encode(
                    ACCESS_AUDIT, access_record(entry, source=self._source), topic=self._topic
                )
                try:
                    futures.append(
                        await self._producer.send(self._topic, value, key=entry.subject.encode())
                    )
                except Exception as exc:  # counted and logged; the access itself goes on
                    self._failed(exc)
            for result in await asyncio.gather(*futures, return_exceptions=True):
                if isinstance(result, BaseException):
                    self._failed(result)
            for _ in entries:
                self._queue.task_done()

    def _failed(self, exc: BaseException) -> None:
        self._metrics.audit_failures.inc()
        log.error("audit write failed", error=repr(exc)[:200])

    async def stop(self, deadline_s: float = 5.0) -> None:
        """Write what is queued (bounded by ``deadline_s``), then close."""
        with contextlib.suppress(asyncio.TimeoutError):
            async with asyncio.timeout(deadline_s):
                await self._queue.join()
                await self._producer.flush()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._producer.stop()
