"""Drop events already delivered, by position, in memory that does not grow with the stream.

The gateway promises (docs/protocol.md §3) that within one connection positions never repeat and
partition order holds, and that a resume may repeat events delivered after the checkpoint used,
but never skips one. Positions are therefore monotonic per (subscription, partition), so one
high-water mark ``(offset, index)`` per partition decides: anything not after it is a repeat.
A set of seen ids would grow without bound; this holds one tuple per partition.

Marks are per *subscription*: two subscriptions on the same topic (different filters) each get
their own copy of an event. When a topic is recreated (new epoch, offsets start over), its marks
must be forgotten or every new event would look like a repeat.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, order=True)
class Position:
    """Where an event sits: the Kafka record (topic, partition, offset) and its index in it."""

    topic: str
    partition: int
    offset: int
    index: int


class PositionDeduper:
    """High-water marks per (subscription id, topic, partition)."""

    def __init__(self) -> None:
        self._marks: dict[tuple[str, str, int], tuple[int, int]] = {}

    def accept(self, sub_id: str, position: Position) -> bool:
        """True if ``position`` is new for ``sub_id`` (and remember it); False for a repeat."""
        key = (sub_id, position.topic, position.partition)
        here = (position.offset, position.index)
        mark = self._marks.get(key)
        if mark is not None and here <= mark:
            return False
        self._marks[key] = here
        return True

    def mark(self, sub_id: str, topic: str, partition: int) -> tuple[int, int] | None:
        """The last (offset, index) accepted, or None."""
        return self._marks.get((sub_id, topic, partition))

    def marks_of(self, sub_id: str, topic: str) -> dict[int, int]:
        """Partition → offset of the last accepted event's record, for one subscription."""
        return {k[2]: m[0] for k, m in self._marks.items() if k[0] == sub_id and k[1] == topic}

    def forget(self, sub_id: str, partition: int | None = None) -> None:
        """Drop the marks of a subscription (or one of its partitions): unsubscribed, or the
        topic was recreated and its offsets start over."""
        for key in [k for k in self._marks if k[0] == sub_id]:
            if partition is None or key[2] == partition:
                del self._marks[key]

    def __len__(self) -> int:
        return len(self._marks)
