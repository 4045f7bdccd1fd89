"""What a connection does with its session's commands (``gateway.core.commands``): watch tails,
start and stop catch-up jobs, resolve topics, publish. Kept apart from ``connection.py``, which
feeds the session and moves bytes, so each reads on its own.

A :class:`Dispatcher` belongs to one connection and owns what its commands started (the tails
it watches, its catch-up jobs), so that :meth:`Dispatcher.release` lets go of all of it however
the session ended. Answers go back into the session through the connection (``Feed.call``),
which turns any failure into a close the client can resume from.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, Protocol

from gateway.core import commands as c
from gateway.core.errors import GatewayError, InternalError, UnknownTopic
from gateway.core.session import Session
from gateway.io.catchup import CatchUpJob, CatchUpOwner
from gateway.io.clock import now_ms
from gateway.io.tail import TailWatcher

if TYPE_CHECKING:
    from gateway.io.hub import Hub


class Feed(TailWatcher, CatchUpOwner, Protocol):
    """What the dispatcher needs of its connection: the session to answer, a way to call into
    it safely, a task spawner, and the connection itself as tail watcher and catch-up owner."""

    session: Session

    def call(self, fn: Callable[..., None], *args: Any) -> None: ...

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None: ...

    def warn(self, what: str, **fields: Any) -> None: ...


class Dispatcher:
    """Runs one connection's commands against what the hub shares."""

    __slots__ = ("_conn", "_hub", "jobs", "watching")

    def __init__(self, hub: Hub, conn: Feed) -> None:
        self._hub, self._conn = hub, conn
        self.jobs: dict[str, CatchUpJob] = {}
        self.watching: set[str] = set()

    def run(self, command: c.Command) -> None:
        hub, conn = self._hub, self._conn
        if isinstance(command, c.WatchTopic):
            if command.topic not in self.watching:
                self.watching.add(command.topic)
                hub.tail(command.topic).add(conn)
        elif isinstance(command, c.UnwatchTopic):
            if command.topic in self.watching:
                self.watching.discard(command.topic)
                hub.tail(command.topic).remove(conn)
        elif isinstance(command, c.ResolveTopic):
            conn.spawn(self._resolve(command))
        elif isinstance(command, c.StartCatchUp):
            self._start_job(command)
        elif isinstance(command, c.StopCatchUp):
            job = self.jobs.get(command.sub_id)
            if job is not None and job.reader == command.reader:
                del self.jobs[command.sub_id]
                hub.pool.stop_job(job)
        else:
            conn.spawn(self._publish(command))

    def release(self) -> None:
        """The connection is gone: stop watching and reading for it."""
        for topic in self.watching:
            self._hub.tail(topic).remove(self._conn)
        for job in self.jobs.values():
            self._hub.pool.stop_job(job)
        self.watching.clear()
        self.jobs.clear()

    def _start_job(self, command: c.StartCatchUp) -> None:
        old = self.jobs.pop(command.sub_id, None)
        if old is not None:
            self._hub.pool.stop_job(old)
        job = CatchUpJob(
            self._conn,
            command.sub_id,
            command.reader,
            command.topic,
            self._hub.kafka_topic(command.topic),
            dict(command.positions),
            command.epoch,
        )
        self.jobs[command.sub_id] = job
        self._hub.pool.start_job(job)

    async def _resolve(self, command: c.ResolveTopic) -> None:
        session, conn = self._conn.session, self._conn
        try:
            snapshot = await self._hub.resolver.snapshot(
                self._hub.kafka_topic(command.topic), command.times
            )
        except UnknownTopic as exc:
            conn.call(session.on_resolve_failed, command.sub_id, exc, now_ms())
            return
        except Exception as exc:
            conn.warn("resolve failed", topic=command.topic, error=repr(exc)[:200])
            error = InternalError("could not read the topic's bounds; reconnect and resume")
            conn.call(session.on_resolve_failed, command.sub_id, error, now_ms())
            return
        conn.call(session.on_start_resolved, command.sub_id, snapshot, now_ms())

    async def _publish(self, command: c.PublishEvent) -> None:
        session, conn, metrics = self._conn.session, self._conn, self._hub.metrics
        try:
            position = await self._hub.publisher.publish(command.event_type, command.event)
        except GatewayError as exc:
            metrics.publishes.labels("refused").inc()
            conn.call(session.on_publish_failed, command.req_id, exc, now_ms())
            return
        metrics.publishes.labels("acked").inc()
        conn.call(session.on_published, command.req_id, position, now_ms())
