"""Suspects: the input positions the worker was processing when it had to stop, kept in Kafka.

Every failure the pipeline can attribute to one record becomes that record's dead letter
(:mod:`streams.pipeline.policy`, :mod:`streams.worker.partition`). This module is the safety net
for the failures nobody foresaw — a defect that raises while a batch is processed or delivered.
Such a worker stops, restarts from the last committed offsets, reads the same records and would
stop again, forever, for every partition it owns. So, before it stops, it notes the offset
range of each source partition it was handling as a *suspect* in ``<app id>-suspects``
(compacted, keyed by source topic and partition), and when it (or any worker) adopts that
partition again:

1. a suspect range of several records is **isolated**: its records are processed and delivered
   one at a time, so the next failure names exactly one record;
2. a suspect range of one record is **quarantined**: that record is dead-lettered with reason
   ``quarantined`` (the error in the detail header) without being processed, and the worker goes
   on with the next one.

So a record that stopped the worker twice at the same position — once inside a batch, once alone
— cannot stop it a third time. ``regstream dlq suspects`` lists the suspects, and
``regstream dlq skip TOPIC PARTITION OFFSET`` records a one-record suspect by hand, which
quarantines that position at the next adoption (docs/pipeline.md, "When the worker stops on a
record").

Failures that say nothing about the records — the broker unreachable, a fenced producer, a
timeout — are not noted: isolating good records would only slow the worker down.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

import orjson
from aiokafka.errors import (
    CorruptRecordException,
    KafkaError,
    MessageSizeTooLargeError,
    RecordTooLargeError,
)

from schemas.catalog import TopicSpec
from streams.kafka import committed_consumer, reliable_producer
from streams.settings import Settings
from streams.worker.reading import read_to_end

TP = tuple[str, int]
QUARANTINED = "quarantined"
"""The dead-letter reason of a record set aside because it stopped the worker twice."""
WRITE_TIMEOUT_S = 10.0
DATA_KAFKA_ERRORS = (MessageSizeTooLargeError, RecordTooLargeError, CorruptRecordException)
"""Kafka errors that a record's own bytes cause: they are the record's fault, not the broker's."""


class Suspect(NamedTuple):
    """Source offsets ``[first, end)`` of one partition, and the error that stopped the worker."""

    first: int
    end: int
    error: str
    at_ms: int

    def isolates(self, position: int) -> bool:
        """Records from ``position`` on are to be processed one at a time."""
        return self.first <= position < self.end and self.end - self.first > 1

    def quarantined(self, first: int, last: int) -> int | None:
        """The offset to set aside unprocessed among offsets ``first..last``, if any."""
        if self.end - self.first == 1 and first <= self.first <= last:
            return self.first
        return None


def suspects_topic(app_id: str) -> str:
    return f"{app_id}-suspects"


def suspects_spec(settings: Settings, app_id: str) -> TopicSpec:
    """One compacted partition: a few records per incident, read whole at every adoption."""
    insync = str(max(1, min(2, settings.replication_factor - 1)))
    return TopicSpec(
        suspects_topic(app_id),
        1,
        settings.replication_factor,
        {"cleanup.policy": "compact", "min.insync.replicas": insync},
    )


def is_attributable(exc: BaseException) -> bool:
    """Could the records being handled have caused ``exc``? Broker and network trouble cannot."""
    if isinstance(exc, DATA_KAFKA_ERRORS):
        return True
    return isinstance(exc, Exception) and not isinstance(
        exc, KafkaError | OSError | asyncio.TimeoutError
    )


def _key(tp: TP) -> bytes:
    return orjson.dumps([tp[0], tp[1]])


class SuspectLog:
    """Reads and writes ``<app id>-suspects`` (see the module docstring)."""

    def __init__(self, settings: Settings, app_id: str) -> None:
        self._settings = settings
        self.topic = suspects_topic(app_id)

    async def load(self) -> dict[TP, Suspect]:
        """Every suspect on record, by source partition."""
        consumer = committed_consumer(self._settings)
        await consumer.start()
        found: dict[TP, Suspect] = {}
        try:
            if self.topic not in await consumer.topics():
                return {}
            consumer.subscribe([self.topic])
            async for message in read_to_end(consumer, timeout_s=30):
                topic, partition = orjson.loads(message.key or b"null")
                if message.value is None:
                    found.pop((topic, partition), None)
                else:
                    found[(topic, partition)] = Suspect(*orjson.loads(message.value))
        finally:
            await consumer.stop()
        return found

    async def note(self, ranges: Mapping[TP, tuple[int, int]], error: BaseException) -> None:
        """Record ``ranges`` as suspects of ``error``; gives up quietly after a bounded wait,
        since the worker is stopping anyway and the next failure will try again."""
        text = f"{type(error).__module__}.{type(error).__qualname__}: {error}"[:1000]
        now_ms = int(time.time() * 1000)
        await self.write({tp: Suspect(a, b, text, now_ms) for tp, (a, b) in ranges.items()})

    async def write(self, suspects: Mapping[TP, Suspect]) -> None:
        """Write ``suspects``; ``TimeoutError`` after ``WRITE_TIMEOUT_S`` without the acks."""
        producer = reliable_producer(self._settings)
        try:
            await asyncio.wait_for(self._send(producer, suspects), WRITE_TIMEOUT_S)
        finally:
            await producer.stop()

    async def _send(self, producer: Any, suspects: Mapping[TP, Suspect]) -> None:
        await producer.start()
        sends = [
            await producer.send(self.topic, orjson.dumps(list(s)), key=_key(tp))
            for tp, s in suspects.items()
        ]
        await asyncio.gather(*sends)


def ranges_of(starts: Mapping[TP, int], ends: Mapping[TP, int]) -> dict[TP, tuple[int, int]]:
    """``[start, end)`` per source partition present in both mappings."""
    return {tp: (first, ends[tp]) for tp, first in starts.items() if tp in ends}


def describe(suspects: Iterable[tuple[TP, Suspect]]) -> list[str]:
    """One line per suspect, for ``regstream dlq suspects``."""
    return [
        f"{topic}/{partition} offsets {s.first}..{s.end - 1} "
        f"({'quarantine' if s.end - s.first == 1 else 'isolate'}): {s.error}"
        for (topic, partition), s in sorted(suspects)
    ]
