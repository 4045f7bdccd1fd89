"""What a subscription yields, and how server frames become those objects.

A subscription is an async iterator of :class:`Event` and :class:`Gap`. Gaps are items of the
same stream, in order, rather than callbacks or log lines: a dashboard or an audit tool must
*see* that events are missing at this point, and cannot miss that it has to handle them.

Parsing is tolerant of additions (unknown fields and ops are ignored, so a newer gateway does
not break an older client) and strict about what dedupe and resume rely on: an event without a
well-formed position is rejected with :class:`MalformedFrame`, never guessed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway.client.dedupe import Position

GAP_TOKEN_REJECTED = "resume-token-rejected"
"""``Gap.reason`` when the client dropped a refused resume token and started over: the client
cannot know what was missed, so ``range`` is None (like a recreated topic)."""


class MalformedFrame(ValueError):
    """A server frame that does not have the shape the protocol promises."""


@dataclass(frozen=True, slots=True)
class Event:
    """One event as delivered: its position (dedupe key), id, type, time and contents."""

    subscription: str
    position: Position
    event_id: str
    type: str
    time: int | None
    payload: Mapping[str, Any] = field(repr=False)
    enrichment: Mapping[str, Any] | None = field(default=None, repr=False)

    @property
    def severity(self) -> str | None:
        meta = self.payload.get("metadata")
        return meta.get("severity") if isinstance(meta, Mapping) else None


@dataclass(frozen=True, slots=True)
class Gap:
    """Events of ``topic``/``partition`` that will never be delivered.

    ``range`` is [first, end) of the lost offsets, or None when unknowable (topic recreated,
    resume token rejected); ``earliest`` the first offset that is still available; ``reason`` one
    of ``retention``, ``horizon``, ``topic-recreated``, ``resume-token-rejected``.
    """

    subscription: str
    topic: str
    partition: int | None
    range: tuple[int, int] | None
    earliest: int | None
    reason: str


def _int(obj: Mapping[str, Any], key: str) -> int:
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise MalformedFrame(f"{key} must be a non-negative integer")
    return value


def parse_event(sub_id: str, obj: object) -> Event:
    """One element of ``batch.events`` or ``event.event``."""
    if not isinstance(obj, Mapping):
        raise MalformedFrame("event must be an object")
    pos = obj.get("position")
    if not isinstance(pos, Mapping) or not isinstance(pos.get("topic"), str):
        raise MalformedFrame("event.position must be an object with a topic")
    position = Position(
        pos["topic"], _int(pos, "partition"), _int(pos, "offset"), _int(pos, "index")
    )
    payload = obj.get("payload")
    payload = payload if isinstance(payload, Mapping) else {}
    enrichment = obj.get("enrichment")
    time = obj.get("time")
    return Event(
        subscription=sub_id,
        position=position,
        event_id=str(obj.get("event_id") or ""),
        type=str(obj.get("type") or position.topic),
        time=time if isinstance(time, int) and not isinstance(time, bool) else None,
        payload=payload,
        enrichment=enrichment if isinstance(enrichment, Mapping) else None,
    )


def events_of(frame: Mapping[str, Any]) -> list[Event]:
    """The events of an ``event`` or ``batch`` frame, in order."""
    sub_id = frame.get("id")
    if not isinstance(sub_id, str):
        raise MalformedFrame("data frame without a subscription id")
    if frame.get("op") == "event":
        return [parse_event(sub_id, frame.get("event"))]
    items = frame.get("events")
    if not isinstance(items, list):
        raise MalformedFrame("batch.events must be a list")
    return [parse_event(sub_id, item) for item in items]


def parse_gap(frame: Mapping[str, Any]) -> Gap:
    missing = frame.get("range")
    lost: tuple[int, int] | None = None
    if isinstance(missing, list) and len(missing) == 2 and all(isinstance(v, int) for v in missing):
        lost = (missing[0], missing[1])
    earliest = frame.get("earliest")
    partition = frame.get("partition")
    return Gap(
        subscription=str(frame.get("id", "")),
        topic=str(frame.get("topic", "")),
        partition=partition if isinstance(partition, int) else None,
        range=lost,
        earliest=earliest if isinstance(earliest, int) else None,
        reason=str(frame.get("reason", "unknown")),
    )
