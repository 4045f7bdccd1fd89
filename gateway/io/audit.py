"""``gateway.audit``: who connected, subscribed, replayed, published and disconnected.

The core reports what a session did as typed actions (``gateway.core.commands.AccessAction``);
:func:`access_entry` is the one place that turns them into the
:class:`schemas.access.AccessEntry` records every writer uses, encoded by ``access_record``
exactly like the CLI's. Unlike the CLI (which writes before serving a replay),
the gateway writes without holding the client: the core reports a subscription when its range
is resolved, and holding a live stream on a broker round trip per subscribe would stall every
resume. Writes are pipelined through one idempotent acks=all producer; a failure is logged and
counted (``regstream_gateway_audit_failures``), and the queue is flushed on drain.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass

import structlog

from gateway.core.commands import (
    AccessAction,
    Connected,
    Ended,
    Published,
    Subscribed,
)
from gateway.io.metrics import GatewayMetrics
from schemas.access import AccessEntry, Action, RangeBound, Via, access_record
from schemas.codec import Codec
from schemas.contract import ACCESS_AUDIT
from streams.kafka import reliable_producer
from streams.settings import Settings

log = structlog.get_logger("gateway.audit")
MAX_QUEUE = 100_000


@dataclass(frozen=True, slots=True)
class Who:
    """The connection an action belongs to, as every entry names it."""

    subject: str
    session: str
    peer: str
    instance: str


def access_entry(action: AccessAction, who: Who) -> AccessEntry:
    """The access-audit entry of one action of the core, for the connection ``who``."""
    topic: str | None = None
    range_from: RangeBound = None
    range_to: RangeBound = None
    if isinstance(action, Connected):
        kind, details = Action.CONNECT, {"role": action.role}
    elif isinstance(action, Subscribed):
        kind = Action.REPLAY if action.replay else Action.SUBSCRIBE
        topic, range_from, to = action.topic, dict(action.positions), action.to
        range_to = to if to is None or isinstance(to, Mapping) else str(to)
        details = {"id": action.sub_id, "from": action.start, "gaps": str(action.gaps)}
    elif isinstance(action, Ended):
        kind = Action.REPLAY if action.caught_up else Action.SUBSCRIBE
        topic, range_to = action.topic, dict(action.next)
        details = {"id": action.sub_id, "event": "caught_up" if action.caught_up else "unsubscribe"}
    elif isinstance(action, Published):
        kind, topic, at = Action.PUBLISH, action.event_type, action.position
        details = {
            "event_id": action.event_id,
            "partition": str(at.partition),
            "offset": str(at.offset),
        }
    else:
        kind, details = Action.DISCONNECT, {"by": action.by, "reason": action.reason}
        if action.code is not None:
            details["code"] = str(action.code)
    return AccessEntry(
        who.subject,
        kind,
        Via.GATEWAY,
        topic=topic,
        range_from=range_from,
        range_to=range_to,
        client_address=who.peer,
        details={"session": who.session, "instance": who.instance, **details},
    )


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

    def record(self, actions: list[AccessAction], who: Who) -> None:
        for action in actions:
            self.write(access_entry(action, who))

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
