"""The core's boundary: what the I/O layer feeds in and what the core asks it to do.

Feeding (inputs): :class:`LogBounds`, :class:`TopicSnapshot` and :class:`Position` are the
answers the I/O layer brings back from Kafka; :class:`~gateway.core.records.Record` carries records.

Asking (outputs): after every call into a session the I/O layer takes an :class:`Output`:
frames to send in order, commands to run in order, the gaps it reported and possibly a close.
Commands are plain data; the I/O layer owns sockets, consumers and producers, the core owns
every decision.

Reporting: what a session did that the access audit records (:data:`AccessAction`: connected,
subscribed or replayed, ended a subscription, published, disconnected) comes out typed in
``Output.audit``; ``gateway.io.audit`` is the one place that turns it into an access-audit entry. Gaps are typed
(:class:`Gap`) next to their frames, so the I/O layer counts them without reading bytes.

Reader ids: each catch-up reader the core asks for gets a fresh ``reader`` number, echoed back
with its records and positions, so anything a stopped reader still had in flight is ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

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
    with ``on_catchup_record`` and, after each fetch, ``on_catchup_position``. ``epoch`` is the
    topic incarnation the positions belong to: what one reader read may serve another reader
    at the same positions only within one incarnation."""

    sub_id: str
    reader: int
    topic: str
    positions: Mapping[int, int]
    epoch: str = ""


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


Command = WatchTopic | UnwatchTopic | ResolveTopic | StartCatchUp | StopCatchUp | PublishEvent


# -- what happened, for the access audit -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Connected:
    """The session began (the handshake admitted ``role``)."""

    role: str


@dataclass(frozen=True, slots=True)
class Subscribed:
    """A subscription's range is resolved: ``start`` is how the client asked (``latest``,
    ``earliest``, ``timestamp`` or ``token``), ``positions`` where it reads from, ``to`` its end
    (a timestamp, offsets per partition, or None: open-ended), ``gaps`` how many were reported."""

    sub_id: str
    topic: str
    start: str
    positions: Mapping[int, int]
    to: int | Mapping[int, int] | None
    gaps: int

    @property
    def replay(self) -> bool:
        """A request for the past: from ``earliest`` or a time, or up to an end. An open-ended
        read from the tail is not, and neither is a resume from a ``token``: a client that
        reconnects continues its subscription (dashboards do it all day long, and counting
        those as replays buried the replays people asked for in the access audit)."""
        return self.start not in ("latest", "token") or self.to is not None


@dataclass(frozen=True, slots=True)
class Ended:
    """A subscription ended: unsubscribed, or (``caught_up``) its ``to`` bound was reached."""

    sub_id: str
    topic: str
    next: Mapping[int, int]
    caught_up: bool


@dataclass(frozen=True, slots=True)
class Published:
    """Kafka acknowledged a client's event."""

    event_type: str
    event_id: str
    position: Position


@dataclass(frozen=True, slots=True)
class Disconnected:
    """The connection ended: closed by the gateway with ``code`` (``reason`` is the error code)
    or cut by it (``reason`` says why, no code), or closed by the client with ``code``."""

    by: Literal["gateway", "client"]
    reason: str
    code: int | None = None


AccessAction = Connected | Subscribed | Ended | Published | Disconnected


@dataclass(frozen=True, slots=True)
class Close:
    code: int
    reason: str


GapReason = Literal["retention", "horizon", "topic-recreated"]


@dataclass(frozen=True, slots=True)
class Gap:
    """Events a subscription asked for that no longer exist, as its ``gap`` frame tells them:
    ``missing`` is [from, to) or None when unknowable, ``earliest`` where reading resumes."""

    sub_id: str
    topic: str
    partition: int
    missing: tuple[int, int] | None
    earliest: int
    reason: GapReason


@dataclass(slots=True)
class Output:
    """What to do after a call into the core. Frames are bytes (JSON text) or shared frames;
    ``gaps`` are the gaps whose frames are among them; ``audit`` what to record, in order."""

    frames: list[bytes | SharedFrame] = field(default_factory=list)
    commands: list[Command] = field(default_factory=list)
    audit: list[AccessAction] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    close: Close | None = None


NOTHING = Output()
"""What a call that produced nothing returns: shared, so never to be changed."""
