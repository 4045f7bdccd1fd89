"""One subscription's positions and the rules that make delivery gap-free and duplicate-free.

Positions are per partition the **next offset** to deliver, advanced only at whole-record
(whole-batch) boundaries, so a checkpoint never splits a batch; within a batch, events carry
their index and clients dedupe by (topic, partition, offset, index).

Modes:

* ``PENDING``: waiting for the I/O layer to resolve ``from`` (log bounds, offsets for times).
* ``TAIL``: rides the topic's shared tail reader.
* ``CATCH_UP``: behind the tail; fed by its own reader (``reader`` set) or waiting for one
  (``reader`` None: the client is slow and Kafka holds the backlog).

The single delivery rule, for a record at offset ``o`` vouching for ``[start, o]`` (see
``records.py``): ``o < next`` → duplicate, skip; ``start <= next <= o`` → deliver, ``next = o+1``;
``start > next`` → something between ``next`` and ``start`` was not seen: from the tail that means
this subscription missed records (go catch up from ``next``), from its own catch-up reader it
means the log itself lost them (retention) and is reported as a ``gap``.

A gap means lost records, never just lost offsets: transaction markers and aborted writes occupy
offsets too. So a resume token behind the replay horizon is not answered with a gap up front:
the subscription reads from the token's position with everything below the horizon ``withheld``,
and only a record actually found there (``Verdict.HORIZON``) makes it a ``horizon`` gap; a reader
that reaches the horizon without one (only markers between) delivers on, gap-free.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from gateway.core.commands import Gap, GapReason, TopicSnapshot
from gateway.core.errors import PositionBeyondEnd
from gateway.core.filters import CompiledFilter
from gateway.core.frames import FromTimestamp, FromToken
from gateway.core.records import data_heads
from gateway.core.tokens import SubscriptionPosition

Start = str | FromTimestamp | FromToken  # "latest" | "earliest" | timestamp | token


class Mode(Enum):
    PENDING = "pending"
    TAIL = "tail"
    CATCH_UP = "catch_up"


class Verdict(Enum):
    SKIP = "skip"  # duplicate, or partition already past its `to` bound
    DELIVER = "deliver"
    MISSED = "missed"  # tail record past a hole: catch up from `next`
    RETENTION = "retention"  # catch-up reader jumped: log lost [next, start); then deliver
    HORIZON = "horizon"  # a record below the replay horizon: withheld [next, horizon), a gap
    END = "end"  # record at or past the `to` bound: partition done


@dataclass(eq=False)
class Subscription:
    """One subscription's mutable state: where it stands per partition and who feeds it."""

    id: str
    topic: str
    filter: CompiledFilter
    start: Start
    horizon_ms: int | None = None
    resume: SubscriptionPosition | None = None
    to_timestamp: int | None = None
    to_offsets: dict[int, int] | None = None  # client-given exclusive ends
    mode: Mode = Mode.PENDING
    epoch: str = ""
    next: dict[int, int] = field(default_factory=dict)
    end: dict[int, int] = field(default_factory=dict)  # resolved exclusive ends (`to`)
    withheld: dict[int, int] = field(default_factory=dict)  # horizon: nothing below it is sent
    done: set[int] = field(default_factory=set)
    reader: int | None = None
    heads: tuple[bytes, bytes] = field(init=False, repr=False)  # of its data frames

    def __post_init__(self) -> None:
        self.heads = data_heads(self.id)

    # -- changes of state (the delivery machinery decides, these keep the fields consistent) --

    def begin(self, snapshot: TopicSnapshot) -> tuple[dict[int, int], list[Gap]]:
        """Fix where reading starts from the I/O layer's snapshot (``plan_start``) and resolve
        the ``to`` bound; the subscription then counts as on the tail until told otherwise.
        Returns the start positions and the gaps to report; may raise ``PositionBeyondEnd``."""
        positions, gaps, withheld = plan_start(self, snapshot)
        self.epoch, self.resume, self.withheld = snapshot.epoch, None, withheld
        if self.to_offsets is not None:
            self.end = {p: o for p, o in self.to_offsets.items() if p in positions}
            self.done = {p for p in positions if p not in self.to_offsets}
        elif self.to_timestamp is not None:
            found = snapshot.offsets_for_times.get(self.to_timestamp, {})
            self.end = {p: o for p, o in found.items() if o is not None}
        for p, offset in positions.items():
            self.advance(p, offset)
        self.mode = Mode.TAIL
        return positions, gaps

    def fall_behind(self, reader: int | None = None) -> None:
        """Leave the tail; ``reader`` is the private reader now feeding it, if one was started."""
        self.mode = Mode.CATCH_UP
        if reader is not None:
            self.reader = reader

    def drop_reader(self) -> int | None:
        """Forget the private reader (to stop it); returns its id, if there was one."""
        reader, self.reader = self.reader, None
        return reader

    def ride_tail(self) -> int | None:
        """Back on the shared tail; returns the private reader to stop, if there was one."""
        self.mode = Mode.TAIL
        return self.drop_reader()

    def close_partition(self, partition: int) -> None:
        """``partition`` reached the ``to`` bound: nothing more is delivered from it."""
        self.done.add(partition)

    def close_caught_up(self, tail: dict[int, int]) -> None:
        """`to.timestamp` passed on idle partitions: those level with the tail are done."""
        self.done.update(p for p, o in self.open_positions().items() if p in tail and o >= tail[p])

    # -- reading ----------------------------------------------------------------------------

    def verdict(
        self, partition: int, offset: int, start: int, timestamp_ms: int, *, tail: bool
    ) -> Verdict:
        """Classify a record; does not change state (see module docstring for the rule)."""
        if partition in self.done:
            return Verdict.SKIP
        nxt = self.next.get(partition, 0)
        if offset < nxt:
            return Verdict.SKIP
        if start > nxt:
            return Verdict.MISSED if tail else Verdict.RETENTION
        if offset < self.withheld.get(partition, 0):
            return Verdict.HORIZON
        if offset >= self.end.get(partition, offset + 1) or (
            self.to_timestamp is not None and timestamp_ms >= self.to_timestamp
        ):
            return Verdict.END
        return Verdict.DELIVER

    def advance(self, partition: int, next_offset: int) -> None:
        """Move ``next`` forward (never back) and close the partition at its ``to`` bound."""
        current = max(self.next.get(partition, 0), next_offset)
        self.next[partition] = current
        if self.withheld.get(partition, current) <= current:
            self.withheld.pop(partition, None)  # reached the horizon: nothing was withheld
        if partition in self.end and current >= self.end[partition]:
            self.done.add(partition)

    @property
    def finished(self) -> bool:
        """A bounded subscription whose every partition reached its ``to`` bound."""
        bounded = self.to_timestamp is not None or self.to_offsets is not None
        return bounded and self.mode is not Mode.PENDING and self.done >= set(self.next)

    def open_positions(self) -> dict[int, int]:
        return {p: o for p, o in sorted(self.next.items()) if p not in self.done}

    def checkpoint_entry(self) -> SubscriptionPosition | None:
        """This subscription inside a resume token; a pending token resume is carried forward."""
        if self.mode is Mode.PENDING:
            return self.resume
        spec: dict[str, Any] | None = dict(self.filter.spec) or None
        return SubscriptionPosition(self.id, self.topic, self.epoch, dict(self.next), spec)


def plan_start(
    sub: Subscription, snapshot: TopicSnapshot
) -> tuple[dict[int, int], list[Gap], dict[int, int]]:
    """Resolve ``from`` into next offsets per partition, the gaps the client must be told, and
    the horizon below which a token resume withholds records (see the module docstring).

    The JWT replay horizon clamps ``earliest`` and token positions to the first offset at or after
    ``now - horizon`` (a ``from.timestamp`` older than the horizon was refused at subscribe).
    Offsets below the log start are gone whatever they held: a ``retention`` gap at once.
    """
    bounds = snapshot.bounds
    floors: dict[int, tuple[int, GapReason]] = {}
    horizon = (
        snapshot.offsets_for_times.get(sub.horizon_ms, {}) if sub.horizon_ms is not None else {}
    )
    for p, b in bounds.items():
        h = horizon.get(p, b.start) if sub.horizon_ms is not None else b.start
        h = b.end if h is None else h
        floors[p] = (h, "horizon") if h > b.start else (b.start, "retention")
    if sub.start == "latest":
        return {p: b.end for p, b in bounds.items()}, [], {}
    if sub.start == "earliest":
        return {p: floors[p][0] for p in bounds}, [], {}
    if isinstance(sub.start, FromTimestamp):
        found = snapshot.offsets_for_times.get(sub.start.timestamp, {})
        positions = {}
        for p, b in bounds.items():
            offset = found.get(p)
            positions[p] = b.end if offset is None else max(offset, floors[p][0])
        return positions, [], {}
    resume = sub.resume
    assert resume is not None, "token subscriptions carry their resume entry"
    if resume.epoch != snapshot.epoch:
        gaps = [
            Gap(sub.id, sub.topic, p, None, floors[p][0], "topic-recreated") for p in sorted(bounds)
        ]
        return {p: floors[p][0] for p in bounds}, gaps, {}
    positions, gaps, withheld = {}, [], {}
    for p, b in sorted(bounds.items()):
        pos = resume.offsets.get(p, 0)  # a partition added since the token: all of it is new
        if pos > b.end:
            raise PositionBeyondEnd(
                f"partition {p}: resume offset {pos} is past the log end {b.end}"
            )
        floor, reason = floors[p]
        if reason == "horizon" and b.start <= pos < floor:
            withheld[p] = floor  # a gap only if a record turns up below the horizon
        elif pos < floor:
            gaps.append(Gap(sub.id, sub.topic, p, (pos, floor), floor, reason))
            pos = floor
        positions[p] = pos
    return positions, gaps, withheld
