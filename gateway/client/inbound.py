"""Frames from the gateway: what each one does to subscriptions, publishes and state.

A mixin of :class:`~gateway.client.connection.Client`, kept apart so the reconnect loop and the
public API read on their own. Rules that carry the guarantees:

* data for a subscription whose latest ``subscribe`` is unanswered is stale and dropped
  (the gateway answers ``subscribed`` before any data of a subscription);
* below the floor or not after the high-water mark: a repeat, dropped (``dedupe``);
* ``gap`` frames are queued in stream order as :class:`~gateway.client.messages.Gap` items;
* ``not_in_token`` → re-subscribe without the token, by ``recovery`` rules.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any

import orjson

from gateway.client import messages, publishing
from gateway.client.backoff import Backoff
from gateway.client.dedupe import PositionDeduper
from gateway.client.errors import SubscriptionRefused
from gateway.client.policy import CLOSING_ERRORS
from gateway.client.progress import CatchUpTracker
from gateway.client.recovery import recovery_start, starts_in_time
from gateway.client.subscriptions import Subscription

log = logging.getLogger("regstream.client")


class State(StrEnum):
    CONNECTING = "connecting"
    LIVE = "live"
    CATCHING_UP = "catching_up"
    RECONNECTING = "reconnecting"
    CLOSED = "closed"


class Inbound:
    """Frame handlers; the state they touch is owned (and initialized) by ``Client``."""

    state: State
    resume_token: str | None
    connections: int
    repeats_dropped: int
    _subs: dict[str, Subscription]
    _publishes: dict[str, publishing.PendingPublish]
    _dedupe: PositionDeduper
    _progress: CatchUpTracker
    _outbox: asyncio.Queue[bytes] | None
    _opening: asyncio.Queue[bytes] | None
    _last_error: Mapping[str, Any] | None
    _on_checkpoint: Callable[[str], None] | None
    _publish_retries: int

    def _post(self, frame: Mapping[str, Any]) -> None:
        """Queue a frame on the current connection; while disconnected the registries will
        re-send what still matters once the next connection is ready."""
        if self._outbox is not None:
            self._outbox.put_nowait(orjson.dumps(frame))

    def _set_state(self, state: State) -> None:
        raise NotImplementedError

    async def _handle(self, raw: str | bytes) -> None:
        try:
            frame = orjson.loads(raw)
        except orjson.JSONDecodeError:
            log.warning("ignored a frame that is not JSON")
            return
        op = frame.get("op") if isinstance(frame, dict) else None
        if log.isEnabledFor(logging.DEBUG):
            log.debug("received %s", str(raw)[:300])
        try:
            if op in ("event", "batch"):
                await self._deliver(frame)
            elif op == "hello":
                self._ready()
            elif op == "checkpoint":
                self._checkpoint(frame)
            elif op == "subscribed":
                self._subscribed(frame)
            elif op == "gap":
                await self._gap(frame)
            elif op == "caught_up":
                sub = self._subs.pop(str(frame.get("id")), None)
                if sub is not None:
                    sub.end()
            elif op == "published":
                self._published(frame)
            elif op == "error":
                self._error(frame)
        except messages.MalformedFrame as exc:
            log.warning("ignored a malformed %s frame: %s", op, exc)

    def _ready(self) -> None:
        """``hello``: the connection works. Re-send every subscription and waiting publish."""
        self.connections += 1
        self._outbox = self._opening
        replaying = False
        for sub in self._subs.values():
            if self.resume_token is not None:
                self._resubscribe(sub, sub.spec.frame(self.resume_token))
            else:
                self._resubscribe_without_token(sub)
            replaying = replaying or self.resume_token is not None or sub.spec.replays
        for pending in self._publishes.values():
            self._post(pending.frame())
        if replaying:
            self._progress.replaying()
        self._set_state(State.CATCHING_UP if self._progress.catching_up else State.LIVE)

    def _resubscribe(self, sub: Subscription, frame: Mapping[str, Any], *, recovering: bool = False) -> None:  # fmt: skip
        sub.awaiting, sub.recovering = True, recovering
        self._post(frame)

    def _resubscribe_without_token(self, sub: Subscription) -> None:
        """No token names this subscription: its original start if it never was confirmed
        (nothing was owed yet), else a verified recovery (see ``recovery``)."""
        if sub.floor is None:
            self._resubscribe(sub, sub.spec.frame())
        else:
            start = recovery_start(sub.spec, sub.confirmed_at_ms)
            self._resubscribe(sub, sub.spec.frame(start=start), recovering=True)

    def _now_ms(self) -> int:
        return int(time.time() * 1000)

    async def _deliver(self, frame: Mapping[str, Any]) -> None:
        sub = self._subs.get(str(frame.get("id")))
        for event in messages.events_of(frame):
            self._progress.on_event(event.time, self._now_ms())
            if sub is None or sub.awaiting:
                continue  # a subscription replaced by a newer subscribe frame
            pos = event.position
            if pos.offset < (sub.floor or {}).get(pos.partition, 0):
                self.repeats_dropped += 1  # before the subscription's first start: not owed
            elif self._dedupe.accept(sub.id, pos):
                await sub.put(event)
            else:
                self.repeats_dropped += 1
        self._update_live_state()

    def _checkpoint(self, frame: Mapping[str, Any]) -> None:
        token, seq = frame.get("token"), frame.get("seq")
        if isinstance(token, str):
            self.resume_token = token
            if self._on_checkpoint is not None:
                self._on_checkpoint(token)
        if isinstance(seq, int):
            self._post({"op": "ack", "seq": seq})
        self._progress.on_checkpoint(self._now_ms())
        self._update_live_state()

    def _update_live_state(self) -> None:
        if self.state in (State.LIVE, State.CATCHING_UP):
            self._set_state(State.CATCHING_UP if self._progress.catching_up else State.LIVE)

    def _subscribed(self, frame: Mapping[str, Any]) -> None:
        sub = self._subs.get(str(frame.get("id")))
        if sub is None:
            return
        raw = frame.get("positions")
        positions = {int(p): o for p, o in raw.items() if isinstance(o, int)} if isinstance(raw, dict) else {}  # fmt: skip
        marks = self._dedupe.marks_of(sub.id, sub.topic)
        if sub.recovering and not starts_in_time(positions, sub.floor or {}, marks):
            self._post({"op": "unsubscribe", "id": sub.id})
            self._resubscribe(sub, sub.spec.frame(start="earliest"))
            return
        epoch = frame.get("epoch")
        if sub.epoch is not None and epoch != sub.epoch:
            self._dedupe.forget(sub.id)  # the topic was recreated: offsets start over
            sub.floor = None
        if sub.floor is None:
            sub.floor, sub.confirmed_at_ms = positions, self._now_ms()
        sub.epoch = epoch if isinstance(epoch, str) else None
        sub.positions = positions
        sub.awaiting = sub.recovering = False
        sub.subscribed.set()

    async def _gap(self, frame: Mapping[str, Any]) -> None:
        gap = messages.parse_gap(frame)
        sub = self._subs.get(gap.subscription)
        if sub is None:
            return
        if gap.range is None and gap.partition is not None:
            self._dedupe.forget(sub.id, gap.partition)
        await sub.put(gap)

    def _published(self, frame: Mapping[str, Any]) -> None:
        pending = self._publishes.pop(str(frame.get("id")), None)
        if pending is not None and not pending.future.done():
            pending.future.set_result(publishing.published(pending, frame))

    def _error(self, frame: Mapping[str, Any]) -> None:
        target = str(frame.get("id", ""))
        code, message = str(frame.get("code", "error")), str(frame.get("message", ""))
        if code in CLOSING_ERRORS:
            self._last_error = frame  # explains the terminal close that follows
            log.warning("gateway error %s: %s", code, message)
        elif target in self._publishes:
            self._publish_refused(self._publishes[target], frame)
        elif target in self._subs:
            sub = self._subs[target]
            if code == "not_in_token":
                self._resubscribe_without_token(sub)  # added after the last checkpoint
            elif code == "rate_limited":
                self._later(lambda: self._post(sub.spec.frame(self.resume_token)))
            else:
                del self._subs[target]
                sub.end(SubscriptionRefused(target, code, message))
        else:
            self._last_error = frame  # explains the close that follows
            log.warning("gateway error %s: %s", code, message)

    def _publish_refused(
        self, pending: publishing.PendingPublish, frame: Mapping[str, Any]
    ) -> None:
        pending.refusals += 1
        if publishing.should_retry(frame, pending.refusals, self._publish_retries):
            self._later(lambda: self._resend(pending))
            return
        del self._publishes[pending.req_id]
        if not pending.future.done():
            pending.future.set_exception(publishing.refusal(pending, frame))

    def _resend(self, pending: publishing.PendingPublish) -> None:
        if self._publishes.get(pending.req_id) is pending:
            self._post(pending.frame())

    def _later(self, action: Callable[[], None]) -> None:
        """Run ``action`` after a short jittered delay (a temporary refusal)."""
        delay = Backoff(base_s=0.5, cap_s=0.5).next_delay() + 0.1
        asyncio.get_running_loop().call_later(delay, action)
