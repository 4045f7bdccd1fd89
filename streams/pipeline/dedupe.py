"""Dedupe by event_id within a time window, over a mapping the worker backs with a changelog.

Why a window: producers resend (retries, replays of a source), so the same event_id can arrive
twice; remembering every id forever would grow without end. Ids are remembered for ``window_ms``
after they were first seen (a duplicate does not extend that), and then forgotten, so the store
holds roughly the ids first seen in the last window of each partition's traffic.

Why it survives restarts: the store is the worker's ``dedupe`` table
(:mod:`streams.worker.state`): a dict whose changes go, in the batch's own transaction, to a
compacted changelog topic; a restarted or rebalanced worker reads it back before processing, then
calls :meth:`Deduper.rebuild_index`. Each change lands in the changelog partition of the record
being processed, so expiry only deletes ids that were recorded from the *current record's*
partition. One flat mapping is what this needs; a windowed store would split lookups per window.

Redelivery is not duplication. After a crash, records after the last committed offset come again,
and the store may already hold their ids (its changelog write got out before the crash). Treating
them as duplicates would lose the record if its output did not get out. So each sighting keeps the
record's (topic, partition, offset): the same id at the same position is a
:attr:`Verdict.REDELIVERY` and is processed again (its audit link, kept in the sighting, is
reused); the same id at another position is a :attr:`Verdict.DUPLICATE` and is filtered.

``now_ms`` is the processing time the caller passes in (tests pass a fixed clock).
"""

from __future__ import annotations

from collections import deque
from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from streams.pipeline.coordinates import Coordinates
from streams.pipeline.hashchain import ChainLink


class Verdict(Enum):
    NEW = "new"
    DUPLICATE = "duplicate"
    REDELIVERY = "redelivery"


@dataclass(frozen=True, slots=True)
class Sighting:
    """First sighting of an event_id.

    Stored as the list ``[seen_at_ms, topic, partition, offset]``, plus ``prev_hash, hash`` for
    audit entries (what a JSON-serialized table round-trips).
    """

    seen_at_ms: int
    position: tuple[str, int, int]
    link: ChainLink | None = None

    def to_value(self) -> list[Any]:
        value: list[Any] = [self.seen_at_ms, *self.position]
        if self.link is not None:
            value.extend(self.link)
        return value

    @classmethod
    def from_value(cls, value: Sequence[Any]) -> Sighting:
        seen_at_ms, topic, partition, offset, *link = value
        return cls(seen_at_ms, (topic, partition, offset), ChainLink(*link) if link else None)


@dataclass(frozen=True, slots=True)
class Lookup:
    verdict: Verdict
    sighting: Sighting | None = None


class Deduper:
    """Window dedupe over ``store`` (event_id → sighting value).

    Two steps, so nothing is remembered for a record that fails later in processing:
    :meth:`check` reads, :meth:`remember` writes (only for :attr:`Verdict.NEW`).
    """

    def __init__(self, store: MutableMapping[str, Any], *, window_ms: int) -> None:
        if window_ms <= 0:
            raise ValueError("window_ms must be positive")
        self._store = store
        self.window_ms = window_ms
        # Per (topic, partition): (seen_at_ms, event_id) in recording order. Memory only; rebuilt
        # from the store after recovery. Lets expiry pop the oldest ids without scanning the store.
        self._index: dict[tuple[str, int], deque[tuple[int, str]]] = {}

    def _sighting(self, event_id: str) -> Sighting | None:
        value = self._store.get(event_id)
        return Sighting.from_value(value) if value else None

    def check(self, event_id: str, source: Coordinates, now_ms: int) -> Lookup:
        """Classify ``event_id`` at ``source``; an id older than the window counts as new."""
        sighting = self._sighting(event_id)
        if sighting is None or now_ms - sighting.seen_at_ms >= self.window_ms:
            return Lookup(Verdict.NEW)
        if sighting.position == source.position:
            return Lookup(Verdict.REDELIVERY, sighting)
        return Lookup(Verdict.DUPLICATE, sighting)

    def remember(
        self, event_id: str, source: Coordinates, now_ms: int, link: ChainLink | None = None
    ) -> None:
        """Record the first sighting of ``event_id``, then forget expired ids of this partition."""
        self._expire(source.topic, source.partition, now_ms)
        self._store[event_id] = Sighting(now_ms, source.position, link).to_value()
        self._index.setdefault((source.topic, source.partition), deque()).append((now_ms, event_id))

    def _expire(self, topic: str, partition: int, now_ms: int) -> int:
        """Delete ids of (topic, partition) first seen at least ``window_ms`` ago; return count."""
        queue = self._index.get((topic, partition))
        cutoff = now_ms - self.window_ms
        deleted = 0
        while queue and queue[0][0] <= cutoff:
            seen_at_ms, event_id = queue.popleft()
            current = self._sighting(event_id)
            # Only the sighting this index entry stands for: the id may have been seen again since.
            if (
                current is not None
                and current.seen_at_ms == seen_at_ms
                and current.position[:2] == (topic, partition)
            ):
                del self._store[event_id]
                deleted += 1
        return deleted

    def rebuild_index(self) -> int:
        """Rebuild the expiry index from the store (after its changelog was read back); return the
        number of ids indexed."""
        entries: dict[tuple[str, int], list[tuple[int, str]]] = {}
        for event_id, value in self._store.items():
            if value:
                sighting = Sighting.from_value(value)
                queue = entries.setdefault(sighting.position[:2], [])
                queue.append((sighting.seen_at_ms, event_id))
        self._index = {key: deque(sorted(items)) for key, items in entries.items()}
        return sum(len(items) for items in entries.values())
