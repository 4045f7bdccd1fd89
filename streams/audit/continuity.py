"""Offset continuity per partition: which offsets of a range held no readable record, and why.

A consumer cannot see Kafka's control records, so a missing offset inside the log has one of
three explanations, told apart by where it is and how the topic is configured:

- ``retention``: below the log start — the records were deleted (retention time or size, or
  ``DeleteRecords``). Data the range asked for is gone: a loss.
- ``compaction``: inside the log of a topic whose ``cleanup.policy`` includes ``compact`` —
  compaction may have removed records: a loss as far as an audit is concerned.
- ``transaction``: inside the log of a ``delete``-policy topic — only transaction markers and
  aborted writes (hidden under read_committed) occupy offsets there; nothing committed is
  missing. Reported, counted, not a break.

The checker is pure: the verifier feeds it what the reader saw.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from streams.replay.ranges import OffsetRange


class GapCause(StrEnum):
    RETENTION = "retention"
    COMPACTION = "compaction"
    TRANSACTION = "transaction"


@dataclass(frozen=True, slots=True)
class Gap:
    """Offsets ``[first, end)`` of ``partition`` with no readable record."""

    partition: int
    first: int
    end: int
    cause: GapCause

    @property
    def is_loss(self) -> bool:
        """Committed records may be missing (everything but transaction markers)."""
        return self.cause is not GapCause.TRANSACTION

    @property
    def size(self) -> int:
        return self.end - self.first


class Continuity:
    """Tracks the next expected offset of each planned partition."""

    def __init__(self, plan: Mapping[int, OffsetRange], *, compacted: bool) -> None:
        self._expected = {partition: r.start for partition, r in plan.items()}
        self._inside = GapCause.COMPACTION if compacted else GapCause.TRANSACTION
        self.gaps: list[Gap] = []

    def _gap(self, partition: int, end: int, cause: GapCause) -> Gap | None:
        first = self._expected[partition]
        self._expected[partition] = max(first, end)
        if end <= first:
            return None
        gap = Gap(partition, first, end, cause)
        self.gaps.append(gap)
        return gap

    def lost(self, partition: int, end: int) -> Gap | None:
        """The reader found the log starting at ``end``: what lay before is gone."""
        return self._gap(partition, end, GapCause.RETENTION)

    def head_lost(self, partition: int, log_start: int) -> Gap:
        """A time range starts before the oldest record kept: offsets below the log start were
        deleted and some may have been in range (Kafka's time index no longer knows them)."""
        gap = Gap(partition, 0, log_start, GapCause.RETENTION)
        self.gaps.append(gap)
        return gap

    def record(self, partition: int, offset: int) -> Gap | None:
        """A record was read at ``offset``; returns the hole before it, if any."""
        gap = self._gap(partition, offset, self._inside)
        self._expected[partition] = offset + 1
        return gap

    def close(self, partition: int, end: int) -> Gap | None:
        """The partition was read up to ``end``: a hole after its last record, if any."""
        return self._gap(partition, end, self._inside)
