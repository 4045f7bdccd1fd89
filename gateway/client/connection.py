"""The Python client: one WebSocket to the gateway, kept alive, shared by every subscription.

Usage::

    async with Client("ws://127.0.0.1:8080/ws", token=jwt, refresh_token=get_jwt) as client:
        async for item in client.subscribe("DecisionMade", filter={"severity": {"gte": "HIGH"}}):
            if isinstance(item, Gap):
                warn_user(item)
            else:
                show(item)

What happens underneath, so the loop above sees every event once and every loss explicitly:

* the connection is re-opened after any failure the close-code range calls retriable
  (``policy``), after a backoff with full jitter (``backoff``), with a fresh JWT when the gateway
  said it expired (``refresh_token``);
* each new connection re-sends every live subscription from the latest checkpoint token, and
  in-flight publishes with their original ``event_id``;
* events are deduped by position (``dedupe``); ``gap`` frames become :class:`Gap` items.

One task reads the socket and one writes it (frames queued while connected; a new connection
rebuilds its frames from the subscription registry, so nothing queued for a dead socket matters).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any

from gateway.client import messages, publishing
from gateway.client.backoff import Backoff
from gateway.client.dedupe import PositionDeduper
from gateway.client.errors import (
    AuthenticationFailed,
    ClientClosed,
    ClientError,
    ConnectionTerminated,
)
from gateway.client.inbound import Inbound, State
from gateway.client.policy import decide_close
from gateway.client.progress import CatchUpTracker
from gateway.client.subscriptions import END, EndAt, StartAt, Subscription, SubscriptionSpec
from gateway.client.transport import ConnectionEnded, run_connection

log = logging.getLogger("regstream.client")
MAX_AUTH_REFRESHES = 3  # refreshes in a row without a successful connection, then give up


class Client(Inbound):
    """A resilient gateway client. ``token`` is the JWT (or get it from ``refresh_token``, an
    async callable also called whenever the gateway says the JWT expired). ``resume_token``
    continues where an earlier client stopped; ``on_checkpoint(token)`` is called with every
    new one (persist it once the events before it are processed)."""

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        refresh_token: Callable[[], Awaitable[str]] | None = None,
        resume_token: str | None = None,
        backoff: Backoff | None = None,
        restart_on_token_rejection: bool = False,
        on_state: Callable[[State], None] | None = None,
        on_checkpoint: Callable[[str], None] | None = None,
        origin: str | None = None,
        open_timeout_s: float = 10.0,
        max_queue: int = 1000,
        publish_retries: int = 8,
        source: str = "regstream-client",
    ) -> None:
        if token is None and refresh_token is None:
            raise ValueError("give a token, a refresh_token callable, or both")
        self.url = url
        self.resume_token = resume_token
        self.backoff = backoff or Backoff()
        self.state = State.CLOSED
        self.restart_on_token_rejection = restart_on_token_rejection
        self._jwt, self._refresh = token, refresh_token
        self._on_state, self._on_checkpoint, self._origin = on_state, on_checkpoint, origin
        self._open_timeout, self._max_queue = open_timeout_s, max_queue
        self._publish_retries, self._source = publish_retries, source
        self._subs: dict[str, Subscription] = {}
        self._publishes: dict[str, publishing.PendingPublish] = {}
        self._dedupe = PositionDeduper()
        self._progress = CatchUpTracker()
        self._outbox: asyncio.Queue[bytes] | None = None  # the current connection's, once ready
        self._opening: asyncio.Queue[bytes] | None = None  # the current connection's, until then
        self._runner: asyncio.Task[None] | None = None
        self._failure: ClientError | None = None
        self._last_error: Mapping[str, Any] | None = None
        self._next_sub = 0
        self.connections = 0  # successful connections so far (tests and metrics read it)
        self.repeats_dropped = 0  # events re-sent after a resume or recovery, dropped here

    # -- lifecycle --------------------------------------------------------------------------

    async def __aenter__(self) -> Client:
        self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def start(self) -> None:
        """Start connecting in the background (``subscribe`` and ``publish`` do it too)."""
        if self._failure is not None:
            raise self._failure
        if self._runner is None:
            self._set_state(State.CONNECTING)
            self._runner = asyncio.get_running_loop().create_task(self._run(), name="regstream")

    async def close(self) -> None:
        """Close the connection; subscriptions end, waiting publishes fail with ClientClosed."""
        runner, self._runner = self._runner, None
        if runner is not None:
            runner.cancel()
            await asyncio.wait([runner])  # a cancelled close() still propagates its own cancel
        self._finish(ClientClosed("client closed"))

    def _finish(self, failure: ClientError) -> None:
        for sub in self._subs.values():
            sub.end(END if isinstance(failure, ClientClosed) else failure)
        self._subs.clear()
        for pending in self._publishes.values():
            if not pending.future.done():
                pending.future.set_exception(failure)
        self._publishes.clear()
        self._set_state(State.CLOSED)

    def _set_state(self, state: State) -> None:
        if state is not self.state:
            self.state = state
            if self._on_state is not None:
                self._on_state(state)

    # -- API --------------------------------------------------------------------------------

    def subscribe(
        self,
        topic: str,
        *,
        filter: Mapping[str, Any] | None = None,
        start: StartAt = "latest",
        to: EndAt = None,
        id: str | None = None,
    ) -> Subscription:
        """Subscribe to an event type; iterate the result. It survives reconnects."""
        self.start()
        if id is None:
            self._next_sub += 1
            id = f"sub-{self._next_sub}"
        if id in self._subs:
            raise ValueError(f"subscription id {id!r} is already in use")
        sub = Subscription(
            SubscriptionSpec(id, topic, filter, start, to), self._unsubscribe, self._max_queue
        )
        self._subs[id] = sub
        if sub.spec.replays:
            self._progress.replaying()
        self._post(sub.spec.frame())  # if not connected yet, `hello` sends it
        return sub

    async def publish(self, event_type: str, event: Mapping[str, Any]) -> publishing.Published:
        """Publish an event; returns once Kafka acknowledged it. Retried (same ``event_id``)
        across reconnects and temporary refusals; raises :class:`PublishFailed` otherwise."""
        self.start()
        full = publishing.complete_event(event_type, event, source=self._source)
        req_id = publishing.request_id(full["metadata"]["event_id"])
        pending = self._publishes.get(req_id)
        if pending is None:
            future = asyncio.get_running_loop().create_future()
            pending = publishing.PendingPublish(event_type, full, future)
            self._publishes[req_id] = pending
            self._post(pending.frame())
        try:
            return await asyncio.shield(pending.future)
        except asyncio.CancelledError:
            if self._publishes.get(req_id) is pending and not pending.future.done():
                del self._publishes[req_id]  # the caller gave up; a late answer is ignored
            raise

    async def _unsubscribe(self, sub: Subscription) -> None:
        if self._subs.get(sub.id) is sub:
            del self._subs[sub.id]
            self._dedupe.forget(sub.id)
            self._post({"op": "unsubscribe", "id": sub.id})
        sub.end()

    # -- the connection loop ----------------------------------------------------------------

    async def _run(self) -> None:
        refreshes = 0
        try:
            while True:
                before, began = self.connections, time.monotonic()
                try:
                    await self._connection()
                    decision, failure = decide_close(None), None
                except ConnectionEnded as ended:
                    decision, failure = ended.decision, ended.failure
                self._outbox = self._opening = None
                for sub in self._subs.values():
                    sub.subscribed.clear()
                self.backoff.connection_lasted(time.monotonic() - began)
                if self.connections > before:
                    refreshes = 0
                if decision.token_rejected and self.restart_on_token_rejection:
                    self._restart_without_token()
                elif not decision.reconnect:
                    raise failure or ConnectionTerminated(0, "closed")
                if decision.refresh_credentials:
                    refreshes += 1
                    if self._refresh is None or refreshes > MAX_AUTH_REFRESHES:
                        raise failure or AuthenticationFailed(
                            401, "auth_expired", "the JWT expired and cannot be refreshed",
                            retriable=False,
                        )  # fmt: skip
                    await self._refresh_jwt()
                if decision.longer_backoff:
                    self.backoff.penalize()
                self._set_state(State.RECONNECTING)
                await asyncio.sleep(self.backoff.next_delay())
        except ClientError as err:
            self._fail(err)
        except Exception as exc:  # a bug here must not leave iterators waiting forever
            log.exception("regstream client stopped by an unexpected error")
            self._fail(ClientError(f"client stopped: {exc.__class__.__name__}: {exc}"))

    def _fail(self, err: ClientError) -> None:
        self._failure, self._runner = err, None
        self._finish(err)

    async def _refresh_jwt(self) -> None:
        assert self._refresh is not None
        try:
            self._jwt = await self._refresh()
        except Exception as exc:  # the next handshake tells whether the old JWT still works
            log.warning("token refresh failed: %s", exc.__class__.__name__)

    def _restart_without_token(self) -> None:
        """Drop a refused resume token and start over, telling every subscription that what
        happened in between is unknown: a :class:`Gap` without a range, in stream order."""
        self.resume_token = None
        for sub in self._subs.values():
            sub.push(messages.Gap(sub.id, sub.topic, None, None, None, messages.GAP_TOKEN_REJECTED))

    async def _connection(self) -> None:
        """One connection; raises :class:`ConnectionEnded` with the decision."""
        if self._jwt is None:
            await self._refresh_jwt()
        self._last_error = None

        def opened(outbox: asyncio.Queue[bytes]) -> None:
            self._opening = outbox

        await run_connection(
            self.url, self._jwt or "", origin=self._origin, open_timeout_s=self._open_timeout,
            on_open=opened, on_frame=self._handle, last_error=lambda: self._last_error,
        )  # fmt: skip


__all__ = ["Client", "State"]
