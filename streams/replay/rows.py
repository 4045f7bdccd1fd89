"""Kafka records → export rows: one row per event, each with the position it was read at.

A row is a plain dict (so JSONL is one ``orjson.dumps``, filters and CSV read it directly)::

    topic, partition, offset   where the Kafka record sits
    index                      the event's index inside an EventBatch; null for a single event
    timestamp                  the Kafka record timestamp, epoch ms
    key                        the record key as UTF-8 text (undecodable bytes backslash-escaped)
    event_type                 e.g. DecisionMade
    source                     for a batch: {topic, partition, offset} of the input record
    event                      the decoded event (uuid as text, timestamps as epoch ms)
    enrichment                 for a batch: the pipeline's Enrichment record, else null

Input topics (``events.<type>``) hold single events: one row per record. Live topics
(``live.<type>``) hold ``EventBatch`` records: one row per enriched event, in batch order, with
its index. A record that cannot be decoded, or holds another type than the export is for,
raises :class:`BadRecord` with its position and the reason.
"""

from __future__ import annotations

from typing import Any, Protocol

from schemas.catalog import snake_case
from schemas.codec import Codec
from schemas.contract import ACCESS_AUDIT, BATCH, short_name
from schemas.errors import DecodeError
from streams.errors import StreamsError
from streams.publish_file import resolve_event_type

Row = dict[str, Any]


class KafkaRecord(Protocol):
    """What a row needs from a consumed record (aiokafka's ``ConsumerRecord`` has it)."""

    topic: str
    partition: int
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None


class BadRecord(StreamsError):
    """A record that is not a decodable event of the expected type, with where it sits."""

    def __init__(self, topic: str, partition: int, offset: int, reason: str) -> None:
        super().__init__(f"{topic}[{partition}]@{offset}: {reason}")
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.reason = reason


def resolve_row_type(name: str) -> str:
    """An event type or ``AccessAuditEntry``, in any spelling ``regstream produce`` accepts."""
    if short_name(name) == ACCESS_AUDIT or name.replace("-", "_") == snake_case(ACCESS_AUDIT):
        return ACCESS_AUDIT
    return resolve_event_type(name)


class RowDecoder:
    """Decodes records into rows; ``expected`` (a row type) rejects records of other types."""

    def __init__(self, codec: Codec, expected: str | None = None) -> None:
        self._codec = codec
        self._expected = expected

    def rows(self, record: KafkaRecord) -> list[Row]:
        if record.value is None:
            raise self._bad(record, "tombstone: the record has no value")
        try:
            event_type, decoded = self._codec.decode(record.value)
        except DecodeError as exc:
            raise self._bad(record, f"{exc.dlq_reason}: {exc}") from exc
        key = None if record.key is None else record.key.decode("utf-8", "backslashreplace")
        if event_type != BATCH:
            self._check(record, event_type)
            return [self._row(record, key, None, event_type, decoded, None, None)]
        self._check(record, decoded["event_type"])
        source_topic, source_partition = decoded["source_topic"], decoded["source_partition"]
        return [
            self._row(
                record,
                key,
                index,
                event["payload"][0],
                event["payload"][1],
                {
                    "topic": source_topic,
                    "partition": source_partition,
                    "offset": event["source_offset"],
                },
                event["enrichment"],
            )
            for index, event in enumerate(decoded["events"])
        ]

    def _check(self, record: KafkaRecord, event_type: str) -> None:
        if self._expected is not None and event_type != self._expected:
            raise self._bad(record, f"schema-mismatch: a {event_type}, not a {self._expected}")

    @staticmethod
    def _bad(record: KafkaRecord, reason: str) -> BadRecord:
        return BadRecord(record.topic, record.partition, record.offset, reason)

    @staticmethod
    def _row(
        record: KafkaRecord,
        key: str | None,
        index: int | None,
        event_type: str,
        event: dict[str, Any],
        source: dict[str, Any] | None,
        enrichment: dict[str, Any] | None,
    ) -> Row:
        return {
            "topic": record.topic,
            "partition": record.partition,
            "offset": record.offset,
            "index": index,
            "timestamp": record.timestamp,
            "key": key,
            "event_type": event_type,
            "source": source,
            "event": event,
            "enrichment": enrichment,
        }
