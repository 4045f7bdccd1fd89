"""Client publish: at-least-once on the wire, exactly-once downstream, thanks to one event_id.

The event's ``metadata.event_id`` is fixed *before* the first attempt and never changes: every
retry (after a lost connection, a ``rate_limited`` or a retriable ``publish_failed``) sends the
very same event, and the pipeline dedupes by ``event_id``, so "sent twice" lands once. The
request id is derived from the event id for the same reason: a retry is the same request.

This module is the bookkeeping only (pure): which publishes wait for an answer, what their frames
are, when a refusal is worth another try. The connection sends and resolves them.
"""

from __future__ import annotations

import asyncio
import copy
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway.client.errors import PublishFailed

RETRIABLE_CODES = frozenset({"rate_limited", "too_many_pending_publishes"})


@dataclass(frozen=True, slots=True)
class Published:
    """Where the gateway's producer wrote the event (acks=all) on the input topic."""

    event_id: str
    topic: str
    partition: int
    offset: int


def complete_event(
    event_type: str, event: Mapping[str, Any], *, source: str, now_ms: int | None = None
) -> dict[str, Any]:
    """A copy of ``event`` whose metadata has every envelope field, keeping those given.

    ``event_id`` gets a fresh UUID only when absent; pass your own to make a publish idempotent
    across *processes* too (e.g. derived from a form submission id).
    """
    out = copy.deepcopy(dict(event))
    meta = dict(out.get("metadata") or {})
    meta.setdefault("event_id", str(uuid.uuid4()))
    meta.setdefault("event_type", event_type)
    meta.setdefault("source", source)
    meta.setdefault("occurred_at", int(time.time() * 1000) if now_ms is None else now_ms)
    meta.setdefault("severity", "INFO")
    meta.setdefault("headers", {})
    out["metadata"] = meta
    return out


def request_id(event_id: str) -> str:
    """Same event, same request id (≤ 64 characters, the protocol's id limit)."""
    return f"pub-{event_id}"[:64]


@dataclass(eq=False)
class PendingPublish:
    event_type: str
    event: dict[str, Any]
    future: asyncio.Future[Published] = field(repr=False)
    refusals: int = 0

    @property
    def event_id(self) -> str:
        return str(self.event["metadata"]["event_id"])

    @property
    def req_id(self) -> str:
        return request_id(self.event_id)

    def frame(self) -> dict[str, Any]:
        return {"op": "publish", "id": self.req_id, "type": self.event_type, "event": self.event}


def should_retry(frame: Mapping[str, Any], refusals: int, max_refusals: int) -> bool:
    """Retry a refused publish when the gateway says the refusal is temporary."""
    code = frame.get("code")
    retriable = frame.get("retriable") is True or code in RETRIABLE_CODES
    return retriable and refusals < max_refusals


def refusal(pending: PendingPublish, frame: Mapping[str, Any]) -> PublishFailed:
    return PublishFailed(
        pending.event_id,
        str(frame.get("code", "error")),
        str(frame.get("message", "")),
        retriable=frame.get("retriable") is True,
    )


def published(pending: PendingPublish, frame: Mapping[str, Any]) -> Published:
    pos = frame.get("position")
    pos = pos if isinstance(pos, Mapping) else {}
    return Published(
        pending.event_id,
        str(pos.get("topic", pending.event_type)),
        int(pos.get("partition", -1)),
        int(pos.get("offset", -1)),
    )
