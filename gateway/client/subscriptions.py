"""Subscriptions the client keeps across reconnects, and the iterator each one is.

A subscription outlives connections: its spec (topic, filter, ``from``, ``to``) is kept here and
re-sent on every new connection, with ``from: {"token": ...}`` when a resume token exists. If the
token has no entry for it yet (it was added after the last checkpoint), the gateway answers
``not_in_token`` and the original ``from`` is sent instead (docs/protocol.md §5).

Items travel through a bounded queue: when the application stops reading, the client stops
reading the socket, the gateway's send queue fills, and the gateway parks the subscription on
Kafka (protocol §6) instead of anything being buffered without bound or dropped.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Literal

from gateway.client.errors import ClientError
from gateway.client.messages import Event, Gap

StartAt = Literal["latest", "earliest"] | int | datetime
"""``latest``, ``earliest``, or a point in time (epoch milliseconds or an aware datetime)."""
EndAt = int | datetime | Mapping[int, int] | None
"""An exclusive end: a point in time, or the next offset per partition; None: no end."""


def epoch_ms(value: int | datetime) -> int:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("use an aware datetime (with a timezone), not a naive one")
        return int(value.timestamp() * 1000)
    return value


@dataclass(frozen=True)
class SubscriptionSpec:
    """What was asked for; enough to ask again on any connection."""

    id: str
    topic: str
    filter: Mapping[str, Any] | None = None
    start: StartAt = "latest"
    to: EndAt = None

    @property
    def replays(self) -> bool:
        """Starts in the past, so it begins by catching up."""
        return self.start != "latest"

    def frame(self, resume_token: str | None = None, *, start: Any = None) -> dict[str, Any]:
        """The ``subscribe`` frame: from the resume token if given, else ``start`` (a raw
        ``from`` value) if given, else from the spec's own start."""
        if start is not None:
            pass
        elif resume_token is not None:
            start = {"token": resume_token}
        elif isinstance(self.start, str):
            start = self.start
        else:
            start = {"timestamp": epoch_ms(self.start)}
        frame: dict[str, Any] = {
            "op": "subscribe",
            "id": self.id,
            "topic": self.topic,
            "from": start,
        }
        if self.filter is not None:
            frame["filter"] = dict(self.filter)
        if isinstance(self.to, Mapping):
            frame["to"] = {"offsets": {str(p): o for p, o in self.to.items()}}
        elif self.to is not None:
            frame["to"] = {"timestamp": epoch_ms(self.to)}
        return frame


class _End:
    """Marker: the subscription ended normally (caught up, unsubscribed, client closed)."""


END = _End()
Terminal = ClientError | _End


class Subscription:
    """An async iterator of :class:`Event` and :class:`Gap`; also an async context manager
    that unsubscribes on exit. It ends by itself when a bounded subscription (``to``) caught up;
    it raises a :class:`ClientError` when the gateway refused it or the client failed for good.
    Items already received are always yielded before the end or the error."""

    def __init__(
        self,
        spec: SubscriptionSpec,
        unsubscribe: Callable[[Subscription], Awaitable[None]],
        max_queue: int,
    ) -> None:
        self.spec = spec
        self.epoch: str | None = None
        self.positions: dict[int, int] = {}
        self.subscribed = asyncio.Event()
        """Set while the gateway has confirmed this subscription on the current connection."""
        self.floor: dict[int, int] | None = None  # positions of the first confirmation
        self.confirmed_at_ms = 0
        self.awaiting = True  # a subscribe frame is unanswered: data for this id is stale
        self.recovering = False  # the unanswered frame is a recovery (see recovery.py)
        self.finished = False
        self._items: deque[Event | Gap] = deque()
        self._max = max(1, max_queue)
        self._terminal: Terminal = END
        self._readable = asyncio.Event()
        self._writable = asyncio.Event()
        self._writable.set()
        self._unsubscribe = unsubscribe

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def topic(self) -> str:
        return self.spec.topic

    async def put(self, item: Event | Gap) -> None:
        """Hand an item to the reader; waits while the queue is full (back-pressure)."""
        while len(self._items) >= self._max and not self.finished:
            self._writable.clear()
            await self._writable.wait()
        if not self.finished:
            self._items.append(item)
            self._readable.set()

    def push(self, item: Event | Gap) -> None:
        """Queue an item now, past the bound: for the client's own notices (one gap per
        restart), never for data, which must wait for room."""
        if not self.finished:
            self._items.append(item)
            self._readable.set()

    def end(self, terminal: Terminal = END) -> None:
        """No more items will come: the iterator stops (or raises ``terminal``) once the
        items already queued were taken."""
        if self.finished:
            return
        self.finished, self._terminal = True, terminal
        self._readable.set()
        self._writable.set()

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Event | Gap:
        while not self._items:
            if self.finished:
                if isinstance(self._terminal, ClientError):
                    raise self._terminal
                raise StopAsyncIteration
            self._readable.clear()
            await self._readable.wait()
        item = self._items.popleft()
        self._writable.set()
        return item

    async def unsubscribe(self) -> None:
        """Stop receiving; the iterator ends after what is already queued."""
        await self._unsubscribe(self)

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.unsubscribe()

    def __repr__(self) -> str:
        return f"<Subscription {self.id!r} topic={self.topic!r}>"
