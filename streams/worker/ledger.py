"""Durable disposition counts: how many records of each source partition passed, were filtered
(by reason) or dead-lettered (by reason).

Why durable: Prometheus counters (:class:`streams.pipeline.DispositionCounter`) restart from zero
with the process, which is right for rates but cannot prove that nothing was lost. This ledger is
a changelog-backed table updated in the same transaction as the outputs and the offsets, so after
any crash it says exactly how many records of each partition went where — what the kill -9 test
reconciles against, and what an operator can audit.

Key: ``"<topic>|<partition>|<outcome>|<reason>"``, value: the running count. The partition is in
the key because each source partition's counts live in its own changelog partition and are only
written by the worker that owns it; a key shared by partitions would be overwritten on recovery.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import MutableMapping
from typing import Any, NamedTuple

import orjson

from streams.kafka import committed_consumer
from streams.pipeline import Disposition
from streams.settings import Settings
from streams.worker.reading import read_to_end
from streams.worker.state import changelog_topic

SEPARATOR = "|"
COUNTS_TABLE = "counts"


class CountKey(NamedTuple):
    topic: str
    partition: int
    outcome: str
    reason: str

    def encode(self) -> str:
        return SEPARATOR.join((self.topic, str(self.partition), self.outcome, self.reason))

    @classmethod
    def decode(cls, text: str) -> CountKey:
        topic, partition, outcome, reason = text.split(SEPARATOR, 3)
        return cls(topic, int(partition), outcome, reason)


class Ledger:
    """Adds one batch's dispositions to the counts table (one write per key per batch)."""

    def __init__(self, table: MutableMapping[str, Any]) -> None:
        self._table = table

    def add(self, topic: str, partition: int, dispositions: list[Disposition]) -> None:
        increments = Counter(
            CountKey(topic, partition, d.outcome.value, d.reason).encode() for d in dispositions
        )
        for key, count in increments.items():
            self._table[key] = int(self._table.get(key) or 0) + count


async def read_counts(
    settings: Settings, app_id: str, *, timeout_s: float = 30.0
) -> dict[CountKey, int]:
    """The committed counts, read from the ledger's changelog up to its current end."""
    topic = changelog_topic(app_id, COUNTS_TABLE)
    consumer = committed_consumer(settings)
    await consumer.start()
    latest: dict[str, int] = {}
    try:
        if topic not in await consumer.topics():
            return {}
        consumer.subscribe([topic])  # no group: every partition, from the start
        async for message in read_to_end(consumer, timeout_s):
            key = orjson.loads(message.key or b"null")
            if message.value is None:
                latest.pop(key, None)
            else:
                latest[key] = int(orjson.loads(message.value))
    finally:
        await consumer.stop()
    return {CountKey.decode(key): value for key, value in latest.items()}
