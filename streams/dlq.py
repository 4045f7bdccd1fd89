"""``events.dlq`` for people: read dead letters with their reasons, and send fixed ones back.

Two ways back to the source topic (``regstream dlq replay``):

- **as they are** — the bytes unchanged, for letters whose cause was fixed elsewhere (a schema the
  worker now knows, a rule that was too strict, a producer clock that was wrong and is right);
- **fixed** — JSON lines as ``regstream dlq inspect --json`` prints them, with ``record`` edited:
  each is validated and encoded by the producer SDK, so a fix that is still wrong fails here, with
  the field at fault, instead of going round the DLQ again.

A replayed record carries ``regstream.replayed-from: <dlq topic>/<partition>/<offset>`` and none of
the old ``regstream.dlq.*`` headers; if it fails again, its new dead letter says so.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from schemas.codec import Codec
from schemas.contract import partition_key
from schemas.errors import SchemaError
from schemas.formats import codec_for
from streams.kafka import committed_consumer, reliable_producer, start_client
from streams.pipeline.policy import HEADER_PREFIX, DeadLetterInfo, parse_dead_letter_headers
from streams.settings import Settings
from streams.worker.reading import read_to_end

REPLAYED_FROM = "regstream.replayed-from"


@dataclass(frozen=True)
class DeadLetter:
    """One record of the DLQ; ``info`` is None when it lacks our headers."""

    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]
    info: DeadLetterInfo | None

    @property
    def position(self) -> str:
        return f"{self.partition}:{self.offset}"

    def decoded(self, codec: Codec) -> tuple[str, dict[str, Any]] | None:
        """(event type, record) when the bytes decode (``invalid:*`` letters do), else None."""
        if self.value is None:
            return None
        try:
            event_type, record = codec.decode(self.value)
        except SchemaError:
            return None
        return event_type, record

    def as_json(self, codec: Codec) -> dict[str, Any]:
        """What ``dlq inspect --json`` prints, and what ``dlq replay --fixed`` reads back."""
        decoded = self.decoded(codec)
        info = self.info
        return {
            "dlq_partition": self.partition,
            "dlq_offset": self.offset,
            "source_topic": info.source[0] if info else None,
            "source_partition": info.source[1] if info else None,
            "source_offset": info.source[2] if info else None,
            "reason": info.reason if info else None,
            "error_class": info.error_class if info else None,
            "detail": info.detail if info else None,
            "dead_lettered_at_ms": info.dead_lettered_at_ms if info else None,
            "key": self.key.decode(errors="replace") if self.key is not None else None,
            "value_base64": base64.b64encode(self.value).decode() if self.value else None,
            "event_type": decoded[0] if decoded else None,
            "record": decoded[1] if decoded else None,
        }


@dataclass(frozen=True)
class Selection:
    """Which dead letters a command applies to (all of them when empty)."""

    reasons: frozenset[str] = frozenset()
    source_topic: str | None = None
    positions: frozenset[str] = frozenset()

    def matches(self, letter: DeadLetter) -> bool:
        if self.positions and letter.position not in self.positions:
            return False
        if self.reasons and (letter.info is None or letter.info.reason not in self.reasons):
            return False
        return not (
            self.source_topic
            and (letter.info is None or letter.info.source[0] != self.source_topic)
        )


def _parse(message: Any) -> DeadLetter:
    headers = [(name, bytes(value or b"")) for name, value in message.headers or ()]
    try:
        info: DeadLetterInfo | None = parse_dead_letter_headers(headers)
    except ValueError:
        info = None
    return DeadLetter(message.partition, message.offset, message.key, message.value, headers, info)


async def read_dead_letters(
    settings: Settings, selection: Selection = Selection(), *, timeout_s: float = 60.0
) -> list[DeadLetter]:
    """Every committed dead letter up to the DLQ's current end that ``selection`` matches."""
    consumer = committed_consumer(settings, max_partition_fetch_bytes=4 << 20)
    await start_client(consumer, settings)
    try:
        if settings.catalog.dlq not in await consumer.topics():
            return []
        consumer.subscribe([settings.catalog.dlq])  # no group: every partition, from the start
        letters = [_parse(message) async for message in read_to_end(consumer, timeout_s)]
    finally:
        await consumer.stop()
    letters.sort(key=lambda letter: (letter.partition, letter.offset))
    return [letter for letter in letters if selection.matches(letter)]


@dataclass
class ReplayReport:
    sent: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)


def _replay_headers(
    settings: Settings, letter_position: str, headers: Iterable[tuple[str, bytes]]
) -> list[tuple[str, bytes]]:
    kept = [(n, v) for n, v in headers if not n.startswith(HEADER_PREFIX) and n != REPLAYED_FROM]
    return [
        *kept,
        (REPLAYED_FROM, f"{settings.catalog.dlq}/{letter_position.replace(':', '/')}".encode()),
    ]


async def replay_unchanged(settings: Settings, letters: list[DeadLetter]) -> ReplayReport:
    """Re-publish each letter's key and bytes, unchanged, to its source topic."""
    outgoing: list[tuple[str, str, bytes | None, bytes | None]] = []
    report = ReplayReport()
    for letter in letters:
        if letter.info is None or settings.catalog.event_type_of(letter.info.source[0]) is None:
            report.failures.append((letter.position, "no source topic of the catalog"))
            continue
        if letter.info.body_omitted is not None:
            topic, partition, offset = letter.info.source
            report.failures.append(
                (
                    letter.position,
                    f"the letter carries no body ({letter.info.body_omitted} bytes were too large "
                    f"to write); the original is at {topic}/{partition}/{offset}",
                )
            )
            continue
        outgoing.append((letter.position, letter.info.source[0], letter.key, letter.value))
    await _publish(
        settings, outgoing, {letter.position: letter.headers for letter in letters}, report
    )
    return report


async def replay_fixed(settings: Settings, fixes: Iterable[Mapping[str, Any]]) -> ReplayReport:
    """Validate, encode and publish fixed records (``dlq inspect --json`` lines, edited)."""
    codec = codec_for(settings.wire_format, settings.schema_registry_url)
    outgoing: list[tuple[str, str, bytes | None, bytes | None]] = []
    report = ReplayReport()
    for fix in fixes:
        position = f"{fix.get('dlq_partition')}:{fix.get('dlq_offset')}"
        event_type = settings.catalog.event_type_of(str(fix.get("source_topic")))
        record = fix.get("record")
        if event_type is None or settings.catalog.is_live(str(fix.get("source_topic"))):
            report.failures.append((position, "source_topic is not an input topic"))
            continue
        if not isinstance(record, Mapping):
            report.failures.append((position, "record must be a JSON object"))
            continue
        try:
            value = codec.encode(event_type, record)
            key = partition_key(event_type, record).encode()
        except (SchemaError, KeyError) as exc:
            report.failures.append((position, str(exc)))
            continue
        outgoing.append((position, settings.catalog.input_topic(event_type), key, value))
    await _publish(settings, outgoing, {}, report)
    return report


async def _publish(
    settings: Settings,
    outgoing: list[tuple[str, str, bytes | None, bytes | None]],
    original_headers: Mapping[str, list[tuple[str, bytes]]],
    report: ReplayReport,
) -> None:
    """Send (position, topic, key, value) records, each marked with the letter it came from."""
    if not outgoing:
        return
    producer = reliable_producer(settings)
    await start_client(producer, settings)
    try:
        pending = []
        for position, topic, key, value in outgoing:
            headers = _replay_headers(settings, position, original_headers.get(position, []))
            pending.append(await producer.send(topic, value, key=key, headers=headers))
        for future in pending:
            await future
            report.sent += 1
    finally:
        await producer.stop()
