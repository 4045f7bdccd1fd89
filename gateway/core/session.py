"""The per-connection state machine: frames and Kafka records in, frames and commands out.

Like ``websockets/protocol.py`` it does no I/O and never reads the clock: every call takes
``now_ms`` and the caller drains :meth:`Session.take` afterwards. Nothing a client is owed is
held only here; Kafka is the buffer and the resume token is the state, so losing a session
(crash, SIGKILL, drain) loses nothing.

This module handles frames, limits, publishing, time and shutdown; where records come from
(tail, catch-up, slow-client demotion) is ``delivery.py``, the delivery rule is
``subscription.py``.

* **Checkpoints** (``checkpoint {seq, token}``) after ``checkpoint_every_events`` events, on a tick
  every ``checkpoint_interval_ms`` while positions move or once quiet for ``checkpoint_quiet_ms``,
  and before any retriable close (drain, expired JWT, slow consumer, internal error).
* **Replay horizon** (JWT ``replay_horizon_s``): a ``from.timestamp`` older than it is refused
  (``replay_horizon``), because the client asked for something explicit it may not have;
  ``earliest`` means "as far back as allowed" and is clamped; token positions older than it are
  clamped with an explicit ``gap`` (reason ``horizon``).
* **Slow client**: every frame's bytes count against the connection's send queue (corrected by
  the I/O layer's ``on_send_buffer`` reports) and against the process's :class:`SendBudget`. A
  record that would take the queue past ``send_high_bytes``, or the process past its budget, is
  left in Kafka and the client is demoted; it comes back once its queue is below
  ``send_low_bytes`` and the process below its low mark. Staying demoted with more than
  ``send_low_bytes`` queued for ``slow_close_ms`` closes with 4003 (retry, nothing lost).
* **Rate**: each frame costs one token; a refused frame gets ``rate_limited`` (with its id) and
  is not processed; more than ``rate_strikes`` refusals in a row close with 4004.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from gateway.core import frames
from gateway.core.auth import Principal
from gateway.core.budget import SendBudget
from gateway.core.commands import (
    NOTHING,
    AccessAction,
    Close,
    Command,
    Connected,
    Disconnected,
    Ended,
    Gap,
    Output,
    Position,
    Published,
    PublishEvent,
    TopicSnapshot,
)
from gateway.core.config import SessionConfig
from gateway.core.delivery import Delivery
from gateway.core.errors import (
    AuthExpired,
    BadFrame,
    ClosingError,
    DuplicateSubscription,
    GatewayError,
    NotAuthorized,
    NotInToken,
    RateLimited,
    RateLimitExceeded,
    ReplayTooOld,
    RequestError,
    ServerDraining,
    SlowConsumer,
    TooManyPendingPublishes,
    TooManySubscriptions,
    UnknownSubscription,
    UnknownTopic,
)
from gateway.core.filters import compile_filter
from gateway.core.limits import TokenBucket
from gateway.core.records import Record, SharedFrame
from gateway.core.subscription import Mode, Subscription
from gateway.core.tokens import ResumeKeyring


class Session:
    """One WebSocket connection. Feed it with ``receive_frame``, the ``on_*`` methods, ``tick``
    and ``begin_drain``; after each call, :meth:`take` the frames to send, the commands to run
    and maybe a close. It emits ``hello`` on creation."""

    def __init__(
        self,
        principal: Principal,
        keyring: ResumeKeyring,
        *,
        session_id: str,
        now_ms: int,
        config: SessionConfig | None = None,
        budget: SendBudget | None = None,
    ) -> None:
        self.principal = principal
        self.keyring = keyring
        self.config = cfg = config or SessionConfig()
        self.session_id = session_id
        self._budget = budget or SendBudget()
        self.queued = 0  # bytes held for this client: the I/O layer's last report + frames since
        self._out = Output()
        self._delivery = Delivery(self._emit, self._run, self._report, self.send_room)
        self._bucket = TokenBucket(cfg.rate_per_s, cfg.rate_burst, now_ms)
        self._strikes = 0
        self._slow_since: int | None = None
        self._publishing: dict[str, PublishEvent] = {}
        self._last_checkpoint_ms = self._delivery.last_delivery_ms = now_ms
        self._seq = 0
        self.acked_seq = 0
        self.closed: Close | None = None
        hello = frames.hello(
            version=cfg.version,
            session=session_id,
            heartbeat_s=cfg.heartbeat_s,
            limits=cfg.limits(),
        )
        self._emit(hello)
        self._report(Connected(principal.role))

    def take(self) -> Output:
        """Drain what the last calls produced (frames, commands, reports, close), in order.
        Nothing produced: the shared empty :data:`NOTHING` (the I/O layer asks after every
        call, thousands of times a second at fan-out; it reads outputs, never changes them)."""
        out = self._out
        if not (out.frames or out.commands or out.audit or out.gaps or out.close):
            return NOTHING
        self._out = Output()
        return out

    def _emit(self, frame: bytes | SharedFrame) -> None:
        self._out.frames.append(frame)
        size = len(frame)
        self.queued += size
        self._budget.add(size)

    def _run(self, command: Command) -> None:
        self._out.commands.append(command)

    def _report(self, item: Gap | AccessAction) -> None:
        if isinstance(item, Gap):
            self._out.gaps.append(item)
        else:
            self._out.audit.append(item)

    @property
    def subscriptions(self) -> Mapping[str, Subscription]:
        return self._delivery.subs

    # -- client frames ----------------------------------------------------------------------

    def receive_frame(self, data: str | bytes, now_ms: int) -> None:
        """One client frame. Every failure becomes an error frame or a close, never a raise."""
        if self.closed:
            return
        obj = None
        try:
            frames.check_size(data, self.config.max_frame_bytes)
            if not self._bucket.take(now_ms):
                self._strikes += 1
                if self._strikes > self.config.rate_strikes:
                    raise RateLimitExceeded("kept sending faster than the rate limit")
                raise RateLimited("frame dropped: rate limit exceeded")
            self._strikes = 0
            obj = frames.decode_json(data, max_depth=self.config.max_depth)
            self._dispatch(frames.parse_frame(obj), now_ms)
        except ClosingError as err:
            self._terminate(err, now_ms, frames.frame_id(obj))
        except RateLimited as err:
            self._emit(frames.error(err, frames.peek_id(data, max_depth=self.config.max_depth)))
        except RequestError as err:
            self._emit(frames.error(err, frames.frame_id(obj)))
        self._checkpoint_if_due(now_ms)

    def _dispatch(self, frame: frames.ClientFrame, now_ms: int) -> None:
        if isinstance(frame, frames.Subscribe):
            self._subscribe(frame, now_ms)
        elif isinstance(frame, frames.Unsubscribe):
            sub = self._delivery.subs.get(frame.id)
            if sub is None:
                raise UnknownSubscription(f"no subscription {frame.id!r}")
            self._delivery.remove(sub)
            self._emit(frames.unsubscribed(frame.id))
            self._report(Ended(sub.id, sub.topic, dict(sub.next), caught_up=False))
        elif isinstance(frame, frames.Publish):
            self._publish(frame)
        elif isinstance(frame, frames.Ack):
            self.acked_seq = max(self.acked_seq, min(frame.seq, self._seq))
        else:
            self._emit(frames.pong())

    def _subscribe(self, f: frames.Subscribe, now_ms: int) -> None:
        if f.id in self._delivery.subs:
            raise DuplicateSubscription(f"subscription {f.id!r} already exists")
        if len(self._delivery.subs) >= self.config.max_subscriptions:
            raise TooManySubscriptions(f"at most {self.config.max_subscriptions} subscriptions")
        if self.config.topics is not None and f.topic not in self.config.topics:
            raise UnknownTopic(f"no topic {f.topic!r}")
        if not self.principal.may_read(f.topic):
            raise NotAuthorized(f"not allowed to read {f.topic!r}")
        horizon_s = self.principal.replay_horizon_s
        horizon_ms = None if horizon_s is None else max(0, now_ms - horizon_s * 1000)
        resume = None
        spec: Mapping[str, Any] | None = f.filter
        if isinstance(f.start, frames.FromToken):
            state = self.keyring.verify(f.start.token, subject=self.principal.sub, now_ms=now_ms)
            resume = state.find(f.id)
            if resume is None:
                raise NotInToken(f"the token holds no position for {f.id!r}")
            if resume.topic != f.topic:
                raise BadFrame(f"the token position for {f.id!r} is for another topic")
            spec = spec if spec is not None else resume.filter
        elif isinstance(f.start, frames.FromTimestamp) and f.start.timestamp < (horizon_ms or 0):
            raise ReplayTooOld(f"replay is limited to the last {horizon_s} s")
        sub = Subscription(
            id=f.id,
            topic=f.topic,
            filter=compile_filter(spec),
            start=f.start,
            horizon_ms=horizon_ms,
            resume=resume,
            to_timestamp=f.to.timestamp if isinstance(f.to, frames.ToTimestamp) else None,
            to_offsets=f.to.by_partition() if isinstance(f.to, frames.ToOffsets) else None,
        )
        times = [f.start.timestamp] if isinstance(f.start, frames.FromTimestamp) else []
        self._delivery.add(
            sub, [*times, *(t for t in (horizon_ms, sub.to_timestamp) if t is not None)]
        )

    def _publish(self, f: frames.Publish) -> None:
        """Route a client event to the I/O layer, which validates it against the schema and
        produces it idempotently; the client's ``event_id`` is the dedupe key, so a publish
        retried after a reconnect never lands twice."""
        if not self.principal.may_publish(f.type):
            raise NotAuthorized(f"not allowed to publish {f.type!r}")
        meta = f.event.get("metadata")
        event_id = meta.get("event_id") if isinstance(meta, dict) else None
        if not isinstance(event_id, str) or not 0 < len(event_id) <= 64:
            raise BadFrame("publish: event.metadata.event_id (the dedupe key) is required")
        if isinstance(meta, dict) and meta.get("event_type", f.type) != f.type:
            raise BadFrame("publish: event.metadata.event_type differs from type")
        if f.id in self._publishing:
            raise BadFrame(f"publish {f.id!r} is already in flight")
        if len(self._publishing) >= self.config.max_pending_publishes:
            raise TooManyPendingPublishes("wait for published frames before sending more")
        self._publishing[f.id] = command = PublishEvent(f.id, f.type, f.event, event_id)
        self._run(command)

    # -- answers and records from the I/O layer ---------------------------------------------

    def on_start_resolved(self, sub_id: str, snapshot: TopicSnapshot, now_ms: int) -> None:
        """Answer to :class:`ResolveTopic`."""
        sub = self._delivery.subs.get(sub_id)
        if self.closed or sub is None or sub.mode is not Mode.PENDING:
            return
        try:
            self._delivery.resolved(sub, snapshot)
        except ClosingError as err:
            self._terminate(err, now_ms, sub_id)

    def on_resolve_failed(self, sub_id: str, error: GatewayError, now_ms: int) -> None:
        sub = self._delivery.subs.get(sub_id)
        if self.closed or sub is None or sub.mode is not Mode.PENDING:
            return
        if isinstance(error, ClosingError):
            self._terminate(error, now_ms, sub_id)
            return
        self._delivery.remove(sub)
        self._emit(frames.error(error, sub_id))

    def on_published(self, req_id: str, position: Position, now_ms: int) -> None:
        """Kafka acknowledged (acks=all) the event of publish ``req_id``."""
        command = self._publishing.pop(req_id, None) if not self.closed else None
        if command is not None:
            self._emit(frames.published(req_id, position.as_json()))
            self._report(Published(command.event_type, command.event_id, position))

    def on_publish_failed(self, req_id: str, error: GatewayError, now_ms: int) -> None:
        if not self.closed and self._publishing.pop(req_id, None) is not None:
            self._emit(frames.error(error, req_id))

    def on_tail_record(self, record: Record, now_ms: int) -> None:
        """A record from the topic's shared tail reader (the same object for every session)."""
        if not self.closed:
            self._delivery.tail_record(record, now_ms)
            self._checkpoint_if_due(now_ms)

    def on_tail_position(self, topic: str, positions: Mapping[int, int], now_ms: int) -> None:
        """The tail reader's position per partition: the offset after the last record it fed
        (or where it started), i.e. the ``prev_offset`` of its next record."""
        if not self.closed:
            self._delivery.tail_position(topic, positions)

    def on_catchup_record(self, sub_id: str, reader: int, record: Record, now_ms: int) -> None:
        if not self.closed:
            self._delivery.catchup_record(sub_id, reader, record, now_ms)
            self._checkpoint_if_due(now_ms)

    def on_catchup_position(
        self, sub_id: str, reader: int, positions: Mapping[int, int], now_ms: int
    ) -> None:
        """The catch-up reader's consumer position after feeding all it fetched; lets ``next``
        step over transaction markers and compacted offsets that have no record."""
        if not self.closed:
            self._delivery.catchup_position(sub_id, reader, positions)

    def on_send_buffer(self, size: int, now_ms: int) -> None:
        """Bytes the I/O layer holds for this client (its queue and the transport's buffer),
        replacing the estimate; may demote or restore (see the module docstring)."""
        self._budget.add(size - self.queued)
        self.queued = size
        if not self.closed:
            self._watch_slow(now_ms)

    def on_disconnected(
        self, by: Literal["gateway", "client"], reason: str, code: int | None = None
    ) -> None:
        """The connection ended without a close this session asked for: the client closed it
        (``code``), or the I/O layer cut it (``reason``: the peer stopped reading)."""
        if self.closed:
            return
        self._delivery.shutdown()
        self._report(Disconnected(by, reason, code))
        self.closed = Close(1006 if code is None else code, reason)

    def on_released(self) -> None:
        """The connection is gone and its queue with it: give the bytes back to the budget."""
        self._budget.add(-self.queued)
        self.queued = 0

    def wants_tick(self, now_ms: int, within_ms: int) -> bool:
        """Whether the clock may change something here within ``within_ms``: positions to
        checkpoint, a slow client, bytes held, a ``to.timestamp`` bound, the JWT's expiry. The
        others can wait that long: a gateway with thousands of quiet subscribers does not tick
        each of them five times a second."""
        d, expires = self._delivery, self.principal.expires_at_ms
        return (
            d.dirty
            or d.slow
            or self.queued > 0
            or d.bounded()
            or (expires is not None and expires - now_ms <= within_ms)
        )

    def send_room(self) -> float:
        """Bytes this client may still be sent before it is demoted."""
        return min(self.config.send_high_bytes - self.queued, self._budget.room())

    def _watch_slow(self, now_ms: int) -> None:
        """Demote without room; restore once drained; run the slow clock while the client's own
        queue (not just the process's budget) keeps it demoted."""
        delivery, low = self._delivery, self.config.send_low_bytes
        if not delivery.slow and self.send_room() <= 0:
            delivery.set_slow(True)
        elif delivery.slow and self.queued <= low and self._budget.relaxed():
            delivery.set_slow(False)
        if delivery.slow and self.queued > low:
            self._slow_since = self._slow_since if self._slow_since is not None else now_ms
        else:
            self._slow_since = None

    # -- time and shutdown ------------------------------------------------------------------

    def tick(self, now_ms: int) -> None:
        """Time passes: JWT expiry, slow-consumer deadline, `to.timestamp` on idle partitions,
        interval and quiet checkpoints. Call it every few hundred milliseconds."""
        if self.closed:
            return
        expires = self.principal.expires_at_ms
        if expires is not None and now_ms >= expires:
            self._terminate(AuthExpired("the JWT expired; reconnect with a fresh one"), now_ms)
            return
        self._watch_slow(now_ms)
        limit = self.config.slow_close_ms
        if (
            self._slow_since is not None
            and limit is not None
            and now_ms - self._slow_since >= limit
        ):
            self._terminate(SlowConsumer("send queue stayed full"), now_ms)
            return
        self._delivery.expire_bounds(now_ms, self.config.to_grace_ms)
        self._checkpoint_if_due(now_ms, tick=True)

    def begin_drain(self, now_ms: int) -> None:
        """Graceful shutdown: a final checkpoint, then close with a retry code."""
        self._terminate(ServerDraining("gateway draining; reconnect and resume"), now_ms)

    def fail(self, error: ClosingError, now_ms: int) -> None:
        """The I/O layer hit something it cannot recover from for this connection."""
        self._terminate(error, now_ms)

    def _checkpoint_if_due(self, now_ms: int, *, tick: bool = False) -> None:
        cfg, d = self.config, self._delivery
        due = d.delivered >= cfg.checkpoint_every_events or (
            tick
            and d.dirty
            and (
                now_ms - self._last_checkpoint_ms >= cfg.checkpoint_interval_ms
                or now_ms - d.last_delivery_ms >= cfg.checkpoint_quiet_ms
            )
        )
        if due and not self.closed:
            self._checkpoint(now_ms)

    def _checkpoint(self, now_ms: int) -> None:
        entries = self._delivery.entries()
        self._delivery.dirty, self._delivery.delivered = False, 0
        self._last_checkpoint_ms = now_ms
        if entries:
            self._seq += 1
            token = self.keyring.issue(self.principal.sub, entries, now_ms)
            self._emit(frames.checkpoint(token, self._seq))

    def _terminate(self, err: ClosingError, now_ms: int, about: str | None = None) -> None:
        """Close: a fresh token first when the client should come back, an error frame when
        it should not (with the ``id`` of the subscription or frame it is ``about``)."""
        if self.closed:
            return
        if err.retriable:
            self._checkpoint(now_ms)
        else:
            self._emit(frames.error(err, about))
        self._delivery.shutdown()
        self._report(Disconnected("gateway", err.code, int(err.close_code)))
        self.closed = self._out.close = Close(int(err.close_code), err.code)
