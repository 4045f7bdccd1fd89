"""The worker's state tables: in-memory mappings backed by compacted changelog topics.

Four tables — ``dedupe`` (event_id → sighting), ``chain`` (agent_id → chain head), ``counts``
(the ledger) and ``positions`` (input topic-partition → next offset to process) — each a dict in
memory and a compacted topic ``<app id>-<table>-changelog`` with one partition per input
partition number. A change made while processing a record of partition
``p`` is written to changelog partition ``p``, so a partition's state moves with the partition.

Why not Faust tables (measured, see docs/pipeline.md "Faust pitfalls"): under ``exactly_once``
Faust 0.15.3 takes a changelog partition's end from the consumer's *cached* last stable offset,
which is unknown for a partition it has not fetched yet; it then treats a full changelog as empty,
skips recovery, and the new owner starts from empty state — duplicates pass the dedupe, audit
chains restart at genesis, counts restart at zero. Its write path does not fit a batch either:
``table[k] = v`` picks the changelog partition from ``current_event()`` (inside ``take()``, the
last event buffered, not the record processed) and queues the record on a background producer
buffer, so it can leave after the offsets were committed (faust-streaming issue 177).

So writes go to the dict and to a per-batch journal; the batch sends the journal as changelog
records inside its own transaction, beside the outputs and the offsets
(:mod:`streams.worker.delivery`). Recovery (:mod:`streams.worker.restore`) reads a partition's
changelogs with ``read_committed`` up to their last stable offset before the first record of that
partition is processed, so an aborted batch leaves no state behind and a committed one is never
missed. The journal keeps the last change per key: a key written twice in a batch needs one record.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import Any

import orjson

from schemas.catalog import TopicSpec
from streams.settings import Settings
from streams.worker.output import Outgoing

TABLES = ("dedupe", "chain", "counts", "positions")


def changelog_topic(app_id: str, table: str) -> str:
    """``<app id>-<table>-changelog`` (the name Faust would give a table's changelog)."""
    return f"{app_id}-{table}-changelog"


def changelog_specs(settings: Settings, app_id: str) -> list[TopicSpec]:
    """Compacted changelog topics, one partition per input partition number."""
    insync = str(max(1, min(2, settings.replication_factor - 1)))
    return [
        TopicSpec(
            changelog_topic(app_id, table),
            settings.partitions,
            settings.replication_factor,
            {"cleanup.policy": "compact", "min.insync.replicas": insync},
        )
        for table in TABLES
    ]


class ChangelogTable(MutableMapping[str, Any]):
    """A dict with a per-batch change journal and per-partition bookkeeping.

    Set :attr:`partition` to the source partition of the record being processed before writing;
    :meth:`drain` returns the journal as changelog records and empties it. :meth:`restore` applies
    a changelog record without journalling it; :meth:`drop_partition` forgets a revoked
    partition's keys. Keys and values are JSON in the changelog.
    """

    def __init__(self, name: str, changelog_topic: str) -> None:
        self.name = name
        self.changelog_topic = changelog_topic
        self.partition: int | None = None
        self._data: dict[str, Any] = {}
        self._partition_of: dict[str, int] = {}
        self._journal: dict[tuple[int, str], Any] = {}

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self._data.get(key, default)

    def __setitem__(self, key: str, value: Any) -> None:
        partition = self._current_partition()
        self._data[key] = value
        self._partition_of[key] = partition
        self._journal[(partition, key)] = value

    def __delitem__(self, key: str) -> None:
        partition = self._current_partition()
        del self._data[key]
        self._partition_of.pop(key, None)
        self._journal[(partition, key)] = None

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def _current_partition(self) -> int:
        if self.partition is None:
            raise RuntimeError(f"table {self.name} written outside a partition's processing")
        return self.partition

    def restore(self, partition: int, key: bytes, value: bytes | None) -> None:
        """Apply one changelog record (latest wins, ``None`` deletes)."""
        name = orjson.loads(key)
        if value is None:
            self._data.pop(name, None)
            self._partition_of.pop(name, None)
        else:
            self._data[name] = orjson.loads(value)
            self._partition_of[name] = partition

    def drop_partition(self, partition: int) -> int:
        """Forget the keys of a partition this worker no longer owns; return how many."""
        keys = [key for key, owner in self._partition_of.items() if owner == partition]
        for key in keys:
            del self._data[key]
            del self._partition_of[key]
        return len(keys)

    @property
    def pending(self) -> int:
        return len(self._journal)

    def drain(self) -> list[Outgoing]:
        """The journalled changes as changelog records (``None`` value = delete); clears them."""
        records = [
            Outgoing(
                self.changelog_topic,
                partition,
                orjson.dumps(key),
                None if value is None else orjson.dumps(value),
            )
            for (partition, key), value in self._journal.items()
        ]
        self._journal.clear()
        return records
