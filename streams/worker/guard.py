"""Position guard: every offset of a partition is processed once, in order, with no hole.

The worker commits "last processed offset + 1" per partition, so a record Faust failed to hand
over (dropped from a queue it cleared, skipped by a fetch it abandoned) would be committed past and
lost without a trace. The guard makes that impossible rather than unlikely. Per partition it knows
the next offset it *expects* — learned when the partition is assigned from the ``positions`` table
(written in the same transaction as the offsets, so it is exact even when Kafka answers an offset
fetch with a stale committed offset, as it may right after a transaction without KIP-447's
``require_stable``, which aiokafka does not send), then moved by every record it admits — and
sorts each arriving record:

- below the expected offset: already handed to delivery (a re-delivery after a seek, or a second
  copy in Faust's buffers: the duplicates after rebalance of faust-streaming issues 517, 323,
  502) — skipped;
- at the expected offset: admitted;
- beyond it: a **hole**. Nothing past it is admitted; the caller seeks the partition back to the
  expected offset. Records still buffered from before that seek (beyond the hole) are dropped
  until the re-fetched ones arrive. If the re-fetch starts again past the expected offset, the
  hole is in the log itself (transaction markers of a transactional producer, compaction,
  retention) and is accepted.

A seek can be overtaken by records Faust was already delivering, so a hole not resolved within
``retry_s`` is sought again (:meth:`PositionGuard.overdue`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from streams.worker.inbound import Inbound

log = logging.getLogger(__name__)
TP = tuple[str, int]


@dataclass
class Hole:
    expected: int
    seen: int
    sought_at: float


class PositionGuard:
    def __init__(
        self, *, retry_s: float = 2.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._expected: dict[TP, int] = {}
        self._holes: dict[TP, Hole] = {}
        self._retry_s = retry_s
        self._clock = clock
        self.skipped = 0
        self.holes_found = 0
        self.holes_accepted = 0

    def knows(self, tp: TP) -> bool:
        return tp in self._expected

    def position(self, tp: TP) -> int | None:
        """The next offset expected on ``tp``, if known."""
        return self._expected.get(tp)

    def learn(self, tp: TP, next_offset: int) -> None:
        """The partition was assigned; its first record to process is ``next_offset``."""
        self._expected[tp] = next_offset
        self._holes.pop(tp, None)

    def forget(self, tps: Iterable[TP]) -> None:
        """The partitions were revoked; learn them again if they come back."""
        for tp in tps:
            self._expected.pop(tp, None)
            self._holes.pop(tp, None)

    def admit(self, tp: TP, records: Sequence[Inbound]) -> tuple[list[Inbound], int | None]:
        """The records to process now, in order, and the offset to seek back to (or None).

        A partition with no known position starts at its first record (Faust sought it to the
        committed offset, or to the beginning for a partition never committed).
        """
        if not records:
            return [], None
        expected = self._expected.setdefault(tp, records[0].coordinates.offset)
        admitted: list[Inbound] = []
        seek: int | None = None
        for record in records:
            offset = record.coordinates.offset
            hole = self._holes.get(tp)
            if offset < expected:
                self.skipped += 1
                continue
            if offset > expected:
                if hole is None:
                    self._holes[tp] = Hole(expected, offset, self._clock())
                    self.holes_found += 1
                    log.warning(
                        "%s/%d: offsets %d..%d missing; seeking back", *tp, expected, offset - 1
                    )
                    seek = expected
                    self.skipped += 1
                    continue
                if offset > hole.seen:
                    self.skipped += 1  # buffered before the seek
                    continue
                self.holes_accepted += 1
                log.warning("%s/%d: offsets %d..%d are not in the log", *tp, expected, offset - 1)
            self._holes.pop(tp, None)
            admitted.append(record)
            expected = offset + 1
            self._expected[tp] = expected
        return admitted, seek

    def overdue(self) -> list[tuple[TP, int]]:
        """Holes whose seek did not bring the missing records yet: seek them again."""
        now = self._clock()
        due = [
            (tp, hole) for tp, hole in self._holes.items() if now - hole.sought_at >= self._retry_s
        ]
        for _, hole in due:
            hole.sought_at = now
        return [(tp, hole.expected) for tp, hole in due]
