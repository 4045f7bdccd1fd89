"""Kafka records as the core sees them, and their serialization, done once and shared.

One record of ``live.<type>`` is one EventBatch. The shared tail reader hands the *same*
:class:`Record` object to every session watching the topic; the first session that needs the
events under a given filter serializes them, the others reuse the bytes (memo keyed by the
filter's canonical key). A session then only prepends its own subscription id: a data frame is a
:class:`SharedFrame` (small per-subscription head + the shared :class:`EncodedEvents`), so
fan-out to N clients costs one JSON encoding per (record, filter), not N, and the body is never
joined to a head: the I/O layer sends the head and the shared body as they are (STYLE.md §11).

``prev_offset`` is the position the reader stood at before this record: the offset after the
previous record it returned, or where it started. The reader vouches that no data record lies
in ``[prev_offset, offset)`` (Kafka transaction markers and compacted slots may occupy offsets
there), which lets the core tell "nothing between" from "missed something" without guessing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from gateway.core.filters import CompiledFilter


@dataclass(frozen=True, slots=True)
class EncodedEvents:
    """The events of one record that pass one filter, as JSON: ``body`` is an array, or the lone
    event object when ``count == 1``; ``count == 0`` means nothing to send (position still moves)."""

    count: int
    body: bytes


@dataclass(eq=False, slots=True)
class Record:
    """One Kafka record: topic (client-facing name), partition, offset, timestamp and the batch."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    batch: Mapping[str, Any]
    prev_offset: int | None = None
    size: int = 0  # bytes of the Kafka record's value: what the caches weigh it by
    _encoded: dict[str, EncodedEvents] = field(default_factory=dict, repr=False)

    @property
    def start(self) -> int:
        """First offset this record vouches for (see module docstring)."""
        if self.prev_offset is None:
            return self.offset
        return min(self.prev_offset, self.offset)

    def encoded(self, flt: CompiledFilter) -> EncodedEvents:
        """Events passing ``flt``, serialized once per filter key for all sessions."""
        cached = self._encoded.get(flt.key)
        if cached is None:
            cached = self._encoded[flt.key] = encode_events(self, flt)
        return cached


AVRO_BYTES_PER_EVENT = 256  # an ordinary event: ~200 bytes of Avro, ~3 KB decoded and as JSON


def weight(record: Record) -> int:
    """What a record counts for in a cache bounded in events: its events (plus one for the
    record), or one per ``AVRO_BYTES_PER_EVENT`` of its value when that is more. A cache of N
    events then holds about N ordinary events' worth of memory, whatever size the events are."""
    return max(len(record.batch.get("events") or ()) + 1, record.size // AVRO_BYTES_PER_EVENT)


TAIL = b"}"  # closes every data frame


@dataclass(frozen=True, slots=True)
class SharedFrame:
    """A data frame = ``head`` (per subscription) + ``shared.body`` (the same object for every
    subscription with this filter) + ``}``. The I/O layer sends the parts as they are; joining
    them (``bytes(frame)``, a copy of the body per client) is for tests and the slow path."""

    head: bytes
    shared: EncodedEvents

    @property
    def body(self) -> bytes:
        return self.shared.body

    @property
    def events(self) -> int:
        """Events in the body, for the I/O layer's metrics."""
        return self.shared.count

    def __bytes__(self) -> bytes:
        return b"".join((self.head, self.shared.body, TAIL))

    def __len__(self) -> int:
        return len(self.head) + len(self.shared.body) + 1


def data_heads(sub_id: str) -> tuple[bytes, bytes]:
    """The heads of a subscription's data frames: ``event {id, event}`` for a single event,
    ``batch {id, events}`` otherwise (made once per subscription)."""
    sid = orjson.dumps(sub_id)
    return b'{"op":"event","id":' + sid + b',"event":', b'{"op":"batch","id":' + sid + b',"events":'


def data_frame(heads: tuple[bytes, bytes], events: EncodedEvents) -> SharedFrame:
    return SharedFrame(heads[0] if events.count == 1 else heads[1], events)


def split_payload(batch: Mapping[str, Any], item: Mapping[str, Any]) -> tuple[str, Any]:
    """(short event type, record) of one batch item, whether the union came back named or not."""
    payload = item.get("payload")
    if isinstance(payload, tuple | list) and len(payload) == 2 and isinstance(payload[0], str):
        return payload[0].rsplit(".", 1)[-1], payload[1]
    meta = payload.get("metadata") if isinstance(payload, Mapping) else None
    event_type = meta.get("event_type") if isinstance(meta, Mapping) else None
    return str(event_type or batch.get("event_type", "")), payload


def encode_events(record: Record, flt: CompiledFilter) -> EncodedEvents:
    """Serialize the events of ``record`` passing ``flt``; ``index`` is the index in the batch.
    One ``orjson.dumps`` for the whole array: a call per event cost a third more."""
    out: list[dict[str, Any]] = []
    events = record.batch.get("events") or ()
    topic, partition, offset = record.topic, record.partition, record.offset
    for index, item in enumerate(events):
        if not flt.matches(item):
            continue
        event_type, payload = split_payload(record.batch, item)
        meta = payload.get("metadata") if isinstance(payload, Mapping) else None
        meta = meta if isinstance(meta, Mapping) else {}
        out.append(
            {
                "position": {
                    "topic": topic,
                    "partition": partition,
                    "offset": offset,
                    "index": index,
                },
                "event_id": meta.get("event_id"),
                "type": event_type,
                "time": meta.get("occurred_at"),
                "payload": payload,
                "enrichment": item.get("enrichment"),
            }
        )
    if len(out) == 1:
        return EncodedEvents(1, orjson.dumps(out[0]))
    return EncodedEvents(len(out), orjson.dumps(out) if out else b"[]")
