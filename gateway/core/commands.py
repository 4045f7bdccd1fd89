"""The core's boundary: what the I/O layer feeds in and what the core asks it to do.

Feeding (inputs): :class:`LogBounds`, :class:`TopicSnapshot` and :class:`Position` are the
answers the I/O layer brings back from Kafka; :class:`~gateway.core.records.Record` carries records.

Asking (outputs): after every call into a session the I/O layer takes an :class:`Output`:
frames to send in order, commands to run in order, and possibly a close. Commands are plain data;
the I/O layer owns sockets, consumers and producers, the core owns every decision.

Reader ids: each catch-up reader the core asks for gets a fresh ``reader`` number, echoed back
with its records and positions, so anything a stopped reader still had in flight is ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway.core.records import SharedFrame


@dataclass(frozen=True, slots=True)
class LogBounds:
    """Partition log bounds: first available offset and the end (next offset to be written, as
    seen at the readers' isolation level, i.e. the last stable offset under read_committed)."""

    start: int
    end: int


@dataclass(frozen=True, slots=True)
class TopicSnapshot:
    """Answer to :class:`ResolveTopic`: the topic's epoch (its Kafka topic id), bounds for every
    partition, and ``offsets_for_times[ts][partition]`` for each requested timestamp (None when
    no record at or after ``ts`` exists yet)."""

    epoch: str
    bounds: Mapping[int, LogBounds]
    offsets_for_times: Mapping[int, Mapping[int, int | None]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Position:
    """Where a published event landed."""

    topic: str
    partition: int
    offset: int

    def as_json(self) -> dict[str, Any]:
        return {"topic": self.topic, "partition": self.partition, "offset": self.offset}


# -- commands -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WatchTopic:
    """Feed this session the topic's shared tail: ``on_tail_position`` right away, then every
    tail record and periodic positions, in the order the tail reader produced them."""

    topic: str


@dataclass(frozen=True, slots=True)
class UnwatchTopic:
    topic: str


@dataclass(frozen=True, slots=True)
class ResolveTopic:
    """Fetch epoch, log bounds and offsets_for_times(``times``); answer with
    ``on_start_resolved`` or ``on_resolve_failed``."""

    sub_id: str
    topic: str
    times: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class StartCatchUp:
    """Start a private reader at ``positions`` (partition → next offset) and feed its records
    with ``on_catchup_record`` and, after each fetch, ``on_catchup_position``."""

    sub_id: str
    reader: int
    topic: str
    positions: Mapping[int, int]


@dataclass(frozen=True, slots=True)
class StopCatchUp:
    sub_id: str
    reader: int


@dataclass(frozen=True, slots=True)
class PublishEvent:
    """Validate ``event`` against the ``event_type`` schema and produce it idempotently, keyed
    for dedupe by ``event_id``; answer with ``on_published`` or ``on_publish_failed``."""

    req_id: str
    event_type: str
    event: Mapping[str, Any]
    event_id: str


@dataclass(frozen=True, slots=True)
class Audit:
    """A line for the ``gateway.audit`` topic (who subscribed to / replayed what)."""

    action: str
    detail: Mapping[str, Any]


Command = (
    WatchTopic | UnwatchTopic | ResolveTopic | StartCatchUp | StopCatchUp | PublishEvent | Audit
)


@dataclass(frozen=True, slots=True)
class Close:
    code: int
    reason: str


@dataclass(slots=True)
class Output:
    """What to do after a call into the core. Frames are bytes (JSON text) or shared frames."""

    frames: list[bytes | SharedFrame] = field(default_factory=list)
    commands: list[Command] = field(default_factory=list)
    close: Close | None = None
