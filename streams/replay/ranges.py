"""Range bounds as analysts type them, and the per-partition offset plan they resolve to.

A bound is one of:

- ``earliest`` / ``latest``: the log start offset / the end offset when the export starts;
- a point in time: ISO-8601 (``2026-05-01``, ``2026-05-01T08:00:00Z``, ``…+02:00``; no zone
  means UTC) or epoch milliseconds (``1777593600000``);
- explicit offsets per partition: ``0:100,1:200``.

Ranges are half-open, ``[from, to)``, for times and offsets alike, so consecutive exports
(``--from D1 --to D2``, ``--from D2 --to D3``) neither overlap nor miss a record.

A time resolves **per partition** through Kafka's time index (``offsets_for_times``: the first
offset whose timestamp is at or after the time), never through one global guess, because each
partition has its own offsets. A partition with no record at or after the time resolves to its
end. The records replayed are those *stored* between the two offsets: with producer-set
timestamps that are out of order inside a partition, a record inside the stretch may carry a
timestamp outside it — the export keeps it, as it sits in that stretch of the log.

Which partitions: all of them, unless a bound names partitions explicitly; then only the named
ones (the union of both bounds), the other bound defaulting to earliest/latest for them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import NamedTuple


class Edge(StrEnum):
    EARLIEST = "earliest"
    LATEST = "latest"


@dataclass(frozen=True, slots=True)
class AtTime:
    """A point in time, epoch milliseconds (UTC)."""

    ms: int


@dataclass(frozen=True, slots=True)
class AtOffsets:
    """Explicit offsets for the named partitions."""

    offsets: Mapping[int, int]


Bound = Edge | AtTime | AtOffsets

_OFFSETS = re.compile(r"\d+:\d+(,\d+:\d+)*")


def parse_bound(text: str) -> Bound:
    """Parse a ``--from``/``--to`` value; ``ValueError`` says which forms are accepted."""
    value = text.strip()
    lowered = value.lower()
    if lowered in (Edge.EARLIEST, Edge.LATEST):
        return Edge(lowered)
    if _OFFSETS.fullmatch(value):
        offsets: dict[int, int] = {}
        for item in value.split(","):
            partition, offset = (int(part) for part in item.split(":"))
            if partition in offsets:
                raise ValueError(f"partition {partition} is given twice in {text!r}")
            offsets[partition] = offset
        return AtOffsets(offsets)
    if value.isdigit():
        return AtTime(int(value))
    return AtTime(_iso_ms(value, text))


def _iso_ms(value: str, text: str) -> int:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        try:
            moment = datetime.combine(date.fromisoformat(value), datetime.min.time())
        except ValueError:
            raise ValueError(
                f"{text!r} is not a bound: use earliest, latest, an ISO-8601 time "
                "(2026-05-01T08:00:00Z), epoch milliseconds, or offsets like 0:100,1:200"
            ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def check_range(lower: Bound, upper: Bound) -> None:
    """ValueError for a range that holds nothing by construction: a time ``from`` at or after
    the time ``to``, an offset ``from`` after the offset ``to`` of the same partition, or
    ``--from latest --to earliest``. (Bounds of different kinds are compared per partition
    when the plan is made; a range that ends up empty there is simply empty.)"""
    if isinstance(lower, AtTime) and isinstance(upper, AtTime) and lower.ms >= upper.ms:
        raise ValueError(
            f"--from {describe(lower)} is not before --to {describe(upper)}: the range is empty"
            " (ranges are [from, to))"
        )
    if isinstance(lower, AtOffsets) and isinstance(upper, AtOffsets):
        for partition, start in sorted(lower.offsets.items()):
            end = upper.offsets.get(partition)
            if end is not None and start > end:
                raise ValueError(
                    f"partition {partition}: --from offset {start} is after --to offset {end}"
                )
    if lower == Edge.LATEST and upper == Edge.EARLIEST:
        raise ValueError("--from latest --to earliest is reversed")


def describe(bound: Bound) -> str:
    """The bound as a person reads it back (used in reports and the access audit)."""
    if isinstance(bound, Edge):
        return bound.value
    if isinstance(bound, AtTime):
        stamp = datetime.fromtimestamp(bound.ms / 1000, UTC).isoformat(timespec="milliseconds")
        return stamp.replace("+00:00", "Z")
    return ",".join(f"{p}:{o}" for p, o in sorted(bound.offsets.items()))


class OffsetRange(NamedTuple):
    """``[start, end)`` of one partition; ``start`` may lie below the log start (then lost)."""

    start: int
    end: int

    @property
    def size(self) -> int:
        return max(0, self.end - self.start)


@dataclass(frozen=True, slots=True)
class Lookups:
    """What the broker said, per partition: the inputs of :func:`plan_ranges`."""

    partitions: list[int]
    log_start: Mapping[int, int]
    log_end: Mapping[int, int]
    """End offsets as the reader sees them (the last stable offset under read_committed)."""
    lower_times: Mapping[int, int | None]
    """``offsets_for_times`` for a time ``from`` bound (empty otherwise); None: no such record."""
    upper_times: Mapping[int, int | None]


def selected_partitions(partitions: list[int], lower: Bound, upper: Bound) -> list[int]:
    """All partitions, or only those named by an offsets bound (``ValueError`` if unknown)."""
    named = {p for b in (lower, upper) if isinstance(b, AtOffsets) for p in b.offsets}
    unknown = sorted(named - set(partitions))
    if unknown:
        raise ValueError(
            f"no partition {', '.join(map(str, unknown))} (the topic has {partitions})"
        )
    return sorted(named) if named else sorted(partitions)


def _resolve(
    bound: Bound, partition: int, edge: int, look: Lookups, times: Mapping[int, int | None]
) -> int:
    if isinstance(bound, Edge):
        return look.log_start[partition] if bound is Edge.EARLIEST else look.log_end[partition]
    if isinstance(bound, AtTime):
        found = times.get(partition)
        return look.log_end[partition] if found is None else found
    return bound.offsets.get(partition, edge)


def plan_ranges(lower: Bound, upper: Bound, look: Lookups) -> dict[int, OffsetRange]:
    """Per-partition ``[start, end)`` for the bounds; ``end`` never passes the log end.

    A start below the log start is kept as asked, so the reader can report the missing head as
    lost to retention instead of silently starting later.
    """
    plan: dict[int, OffsetRange] = {}
    for partition in selected_partitions(look.partitions, lower, upper):
        start = _resolve(lower, partition, look.log_start[partition], look, look.lower_times)
        end = _resolve(upper, partition, look.log_end[partition], look, look.upper_times)
        end = min(end, look.log_end[partition])
        plan[partition] = OffsetRange(start, max(start, end))
    return plan
