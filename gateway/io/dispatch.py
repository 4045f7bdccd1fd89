"""What a connection does with the core's commands (``gateway.commands``): watch tails, start
and stop catch-up jobs, resolve topics, publish, audit. Kept apart from ``connection.py``,
which feeds the session and moves bytes, so each reads on its own."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from gateway.core import commands as c
from gateway.core.errors import GatewayError, InternalError, UnknownTopic
from gateway.io.catchup import CatchUpJob
from streams.audit.access import AccessEntry, Action, Via

if TYPE_CHECKING:
    from gateway.io.connection import Connection


def now_ms() -> int:
    return int(time.time() * 1000)


def run_command(self: Connection, command: c.Command) -> None:
    hub = self.hub
    if isinstance(command, c.WatchTopic):
        if command.topic not in self.watching:
            self.watching.add(command.topic)
            hub.tail(command.topic).add(self)
    elif isinstance(command, c.UnwatchTopic):
        if command.topic in self.watching:
            self.watching.discard(command.topic)
            hub.tail(command.topic).remove(self)
    elif isinstance(command, c.ResolveTopic):
        self.spawn(_resolve(self, command))
    elif isinstance(command, c.StartCatchUp):
        _start_job(self, command)
    elif isinstance(command, c.StopCatchUp):
        job = self.jobs.get(command.sub_id)
        if job is not None and job.reader == command.reader:
            del self.jobs[command.sub_id]
            hub.pool.stop_job(job)
    elif isinstance(command, c.PublishEvent):
        self.spawn(_publish(self, command))
    elif isinstance(command, c.Audit):
        _audit(self, command)


def _start_job(self: Connection, command: c.StartCatchUp) -> None:
    old = self.jobs.pop(command.sub_id, None)
    if old is not None:
        self.hub.pool.stop_job(old)
    job = CatchUpJob(
        self,
        command.sub_id,
        command.reader,
        command.topic,
        self.hub.kafka_topic(command.topic),
        dict(command.positions),
    )
    self.jobs[command.sub_id] = job
    self.hub.pool.start_job(job)


async def _resolve(self: Connection, command: c.ResolveTopic) -> None:
    try:
        snapshot = await self.hub.resolver.snapshot(
            self.hub.kafka_topic(command.topic), command.times
        )
    except UnknownTopic as exc:
        self.call(self.session.on_resolve_failed, command.sub_id, exc, now_ms())
        return
    except Exception as exc:
        self.log.warning("resolve failed", topic=command.topic, error=repr(exc)[:200])
        error = InternalError("could not read the topic's bounds; reconnect and resume")
        self.call(self.session.on_resolve_failed, command.sub_id, error, now_ms())
        return
    self.call(self.session.on_start_resolved, command.sub_id, snapshot, now_ms())


async def _publish(self: Connection, command: c.PublishEvent) -> None:
    try:
        position = await self.hub.publisher.publish(command.event_type, command.event)
    except GatewayError as exc:
        self.hub.metrics.publishes.labels("refused").inc()
        self.call(self.session.on_publish_failed, command.req_id, exc, now_ms())
        return
    self.hub.metrics.publishes.labels("acked").inc()
    self.hub.write_audit(
        AccessEntry(
            self.session.principal.sub,
            Action.PUBLISH,
            Via.GATEWAY,
            topic=command.event_type,
            client_address=self.peer,
            details={
                "event_id": command.event_id,
                "partition": str(position.partition),
                "offset": str(position.offset),
                "session": self.id,
            },
        )
    )
    self.call(self.session.on_published, command.req_id, position, now_ms())


def _audit(self: Connection, command: c.Audit) -> None:
    self.hub.write_audit(self.hub.audit_entry(self, command))
