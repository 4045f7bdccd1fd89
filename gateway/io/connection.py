"""One client connection: feeds its :class:`~gateway.core.session.Session`, sends what it says,
has its commands run (``dispatch.py``) and its access actions recorded (``audit.py``). All
decisions are the core's; this module only moves data.

* **Feeding.** Every call into the core goes through :meth:`Connection.call` (or the batch
  feeders), which turns any unexpected exception into ``fail(InternalError)`` (close 4001, the
  client resumes) and then pumps. Pumping is re-entrant safe: a command that feeds the session
  synchronously (``WatchTopic`` hands over the tail position at once) just asks for another round.
* **Sending.** Frames go into a queue that is written out at once, synchronously, while the
  transport takes more (``GatewayWire.write``: a ``SharedFrame``'s body is written as the
  shared bytes object itself, never joined to its head, so fan-out copies no body per client).
  Only when the transport pushes back (its buffer above ``WRITE_LIMIT``) does a writer task wait
  for it to drain; idle and keeping-up connections cost no task. ``SharedFrame`` s stay shared
  in the queue meanwhile. Queued bytes
  plus the transport buffer are reported with ``on_send_buffer`` after every pump and tick; the
  core counts every frame against the client's send room before it takes a record, demotes a
  full client off the shared tail and stops its catch-up reader: Kafka, not this queue, holds
  the backlog, and the bytes held here stay within the budget (plus one frame).
* **Closing.** A close asked by the core is sent after the frames before it (the final
  checkpoint), so a drained or failed client always gets its fresh token first. A peer that
  does not read cannot take them, and the close would wait for ever behind a send that never
  drains: ``CLOSE_TIMEOUT_S`` after the close was asked, the TCP connection is aborted, which
  frees the socket and the queue; the client resumes from the last checkpoint it did read.
* **Keepalive.** Our own, not websockets': theirs only starts timing the pong once the ping is
  written out, which for a peer that never reads is never. Here the ping timeout covers
  writing the ping too, and a peer that misses it is aborted.
* **Ending.** However the connection ends (a close the core asked for, a cut, the client
  leaving), the session is told and reports it once for the access audit.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

import structlog
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State

from gateway.core import commands as c
from gateway.core.errors import ClosingError, InternalError
from gateway.core.records import Record, SharedFrame
from gateway.core.session import Session
from gateway.io.audit import Who
from gateway.io.catchup import CatchUpJob
from gateway.io.clock import now_ms
from gateway.io.dispatch import Dispatcher
from gateway.io.hub import Hub
from gateway.io.wire import GatewayWire

log = structlog.get_logger("gateway.connection")
CLOSE_TIMEOUT_S = 5.0  # from asking a close to aborting a peer that did not complete it


class Connection:
    """Slotted and lazily equipped: an idle connection should cost a few KB (see bench)."""

    __slots__ = (
        "_again",
        "_deadline",
        "_out",
        "_pumping",
        "_queued",
        "_subs",
        "_tasks",
        "_writer",
        "closing",
        "commands",
        "finished",
        "gone",
        "hub",
        "id",
        "peer",
        "session",
        "ws",
    )

    def __init__(self, hub: Hub, ws: GatewayWire, session: Session, peer: str) -> None:
        self.hub, self.ws, self.session, self.peer = hub, ws, session, peer
        self.id = session.session_id
        self._out: deque[bytes | SharedFrame] | None = None
        self._queued = 0
        self._deadline: asyncio.TimerHandle | None = None
        self._writer: asyncio.Task[None] | None = None
        self.commands = Dispatcher(hub, self)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._pumping = self._again = False
        self._subs = 0
        self.closing: c.Close | None = None
        self.gone = False
        self.finished: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    # -- feeding the core -------------------------------------------------------------------

    def call(self, fn: Callable[..., None], *args: Any) -> None:
        if self.gone:
            return
        try:
            fn(*args)
        except Exception:
            self._internal("core call failed")
        self.pump()

    @property
    def log(self) -> Any:
        return log.bind(conn=self.id, sub=self.session.principal.sub)

    def warn(self, what: str, **fields: Any) -> None:
        self.log.warning(what, **fields)

    # -- what the hub asks (``hub.Client``) --------------------------------------------------

    def busy(self, now: int, within_ms: int) -> bool:
        return self.session.wants_tick(now, within_ms)

    def held(self) -> int:
        return self.session.queued

    def is_closing(self) -> bool:
        return self.closing is not None

    def fail(self, error: ClosingError, now: int) -> None:
        self.call(self.session.fail, error, now)

    def drain(self, now: int) -> None:
        self.call(self.session.begin_drain, now)

    def _internal(self, what: str) -> None:
        self.hub.metrics.internal_errors.inc()
        self.log.exception(what)
        with contextlib.suppress(Exception):
            self.session.fail(InternalError("internal error; reconnect and resume"), now_ms())

    def on_tail_batch(self, name: str, records: list[Record], positions: Mapping[int, int]) -> None:
        if self.gone or self.session.closed:
            return
        now = now_ms()
        try:
            for record in records:
                self.session.on_tail_record(record, now)
            self.session.on_tail_position(name, positions, now)
        except Exception:
            self._internal("tail feed failed")
        self.pump()

    def on_tail_lost(self, name: str, reason: str) -> None:
        self.call(self.session.fail, InternalError(f"{name}: {reason}; resume"), now_ms())

    def on_catchup_batch(
        self, job: CatchUpJob, records: list[Record], positions: dict[int, int]
    ) -> None:
        if self.gone or self.session.closed or job.stopped:
            return
        now = now_ms()
        try:
            for record in records:
                self.session.on_catchup_record(job.sub_id, job.reader, record, now)
            self.session.on_catchup_position(job.sub_id, job.reader, positions, now)
        except Exception:
            self._internal("catch-up feed failed")
        self.pump()

    def on_catchup_failed(self, job: CatchUpJob, error: BaseException) -> None:
        self.call(self.session.fail, InternalError("catch-up read failed; resume"), now_ms())

    def catchup_room(self) -> float:
        return self.session.send_room()

    def tick(self, now: int) -> None:
        """Housekeeping: a fresh count of the bytes held, then the core's clock."""
        self.call(self._tick, now)

    def _tick(self, now: int) -> None:
        self.session.on_send_buffer(self.buffered(), now)
        self.session.tick(now)

    # -- output -----------------------------------------------------------------------------

    def pump(self) -> None:
        if self._pumping:
            self._again = True
            return
        self._pumping = True
        try:
            while True:
                self._again = False
                out = self.session.take()
                if not (out.frames or out.commands or out.close):
                    self.session.on_send_buffer(self.buffered(), now_ms())
                    out = self.session.take()
                for frame in out.frames:
                    self._enqueue(frame)
                if out.frames:
                    self._flush()
                self._report(out)
                for command in out.commands:
                    self.commands.run(command)
                if out.close is not None and self.closing is None:
                    self._close(out.close)
                if not (self._again or out.frames or out.commands):
                    break
        except Exception:
            self._internal("pump failed")
        finally:
            self._pumping = False
        n = len(self.session.subscriptions)
        if n != self._subs:
            self.hub.metrics.subscriptions.inc(n - self._subs)
            self._subs = n

    def buffered(self) -> int:
        transport = self.ws.transport
        return self._queued + (transport.get_write_buffer_size() if transport else 0)

    def _enqueue(self, frame: bytes | SharedFrame) -> None:
        if self.gone:
            return
        if self._out is None:
            self._out = deque()
        self._out.append(frame)
        self._queued += len(frame)

    def _flush(self) -> None:
        """Write what is queued while the transport takes it; leave the rest to a writer task
        that waits for the transport to drain (and sends the close once all is out)."""
        self._write_now()
        if self._writer is None and not self.gone and (self._out or self.closing is not None):
            self._writer = asyncio.create_task(self._write())

    def _write_now(self) -> None:
        out, ws = self._out, self.ws
        if out is None or self.gone:
            return
        sent = events = 0
        while out and not ws.paused:
            frame = out.popleft()
            self._queued -= len(frame)
            if not ws.write(frame):  # closing or closed: what is queued can no longer go
                out.clear()
                self._queued = 0
                break
            sent += len(frame)
            if isinstance(frame, SharedFrame):
                events += frame.events
        if not out:
            self._out = None
        if sent:
            self.hub.metrics.bytes_sent.inc(sent)
            self.hub.metrics.events_sent.inc(events)

    async def _write(self) -> None:
        try:
            while self._out and not self.gone:
                await self.ws.drain()  # the transport pushed back: wait until it takes more
                self._write_now()
            if self.closing is not None and not self.gone:
                await self.ws.close(self.closing.code, self.closing.reason)
        except ConnectionClosed:
            pass
        finally:
            self._writer = None
        if not self.gone and self.closing is None:
            self.pump()  # the queue drained: maybe restore a demoted client

    def _report(self, out: c.Output) -> None:
        """Count the gaps and record the access actions the core reported."""
        if out.gaps:
            self.hub.metrics.gaps.inc(len(out.gaps))
        if out.audit:
            who = Who(self.session.principal.sub, self.id, self.peer, self.hub.instance)
            self.hub.record(out.audit, who)

    def _close(self, close: c.Close) -> None:
        self.closing = close
        self.hub.metrics.closes.labels(close.reason).inc()
        self.log.info("closing", code=close.code, reason=close.reason)
        loop = asyncio.get_running_loop()
        self._deadline = loop.call_later(CLOSE_TIMEOUT_S, self.abort, "close_timeout")
        self._flush()

    def abort(self, reason: str) -> None:
        """Cut the TCP connection without a close handshake (the peer does not read)."""
        transport = self.ws.transport
        if self.gone or transport is None or self.ws.state is State.CLOSED:
            return
        self.hub.metrics.aborts.labels(reason).inc()
        self.log.info("aborting", reason=reason, buffered=self.buffered())
        self.call(self.session.on_disconnected, "gateway", reason)
        transport.abort()

    async def _keepalive(self) -> None:
        interval, timeout = self.hub.settings.ping_interval_s, self.hub.settings.ping_timeout_s
        while True:
            await asyncio.sleep(interval)
            try:
                async with asyncio.timeout(timeout):
                    pong = await self.ws.ping()  # waits while the transport cannot drain
                    await pong
            except TimeoutError:
                self.abort("keepalive_timeout")
                return
            except ConnectionClosed:
                return

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- lifetime ---------------------------------------------------------------------------

    async def serve(self) -> None:
        """Read client frames until the connection ends; then release everything."""
        self.pump()  # hello
        self.spawn(self._keepalive())
        try:
            async for message in self.ws:
                self.hub.metrics.frames_received.inc()
                self.call(self.session.receive_frame, message, now_ms())
        except ConnectionClosed:
            pass
        finally:
            writer = self._writer
            if writer is not None and self.closing is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(asyncio.shield(writer), CLOSE_TIMEOUT_S)
            self.release()

    def release(self) -> None:
        if self.gone:
            return
        self.gone = True
        if not self.finished.done():
            self.finished.set_result(None)
        self.commands.release()
        for task in self._tasks:
            task.cancel()
        if self._writer is not None:
            self._writer.cancel()
        if self._deadline is not None:
            self._deadline.cancel()
        self._out = None
        self._queued = 0
        self.session.on_released()
        self.hub.metrics.subscriptions.dec(self._subs)
        self._subs = 0
        # the client left (or the close we asked is done: then the core reported it already)
        self.session.on_disconnected("client", "closed", self.ws.close_code)
        self._report(self.session.take())
