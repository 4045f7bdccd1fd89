"""The agent directory: the compacted ``ref.agents`` topic replicated into a local mapping.

Every worker needs every agent (an event of any partition may name any agent), so this is a
"global table": each worker reads all of ``ref.agents`` from the beginning and then follows it.
The record format is documented in docs/reference/agents.md and written by :mod:`streams.agents`
(``regstream agents load``): keys are agent ids (UTF-8), values JSON objects with ``"name"``;
a ``null`` value (a tombstone) deletes the entry, a value that is not a JSON object is ignored
and logged.

Why not a Faust ``GlobalTable``: a global table keeps its own changelog topic, so ``ref.agents``
would have to be copied into it by yet another agent, and Faust's global-table recovery has been
fragile across versions. A plain ``read_committed`` consumer without a group does the one thing
needed and nothing else. The pipeline waits for :meth:`AgentDirectory.wait_ready` (the topic read
up to its end as of start-up) before the first batch, so a restart never marks a known agent
unknown because the directory was still loading.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator, Mapping
from typing import Any

import orjson
from mode import Service

from streams.kafka import committed_consumer
from streams.settings import Settings
from streams.worker.reading import assigned_partitions

log = logging.getLogger(__name__)


class AgentDirectory(Mapping[str, Any]):
    """agent_id → directory entry; filled by :meth:`apply`, read by enrichment."""

    def __init__(self) -> None:
        self._entries: dict[str, Any] = {}
        self.ready = asyncio.Event()
        self.ignored = 0

    def __getitem__(self, key: str) -> Any:
        return self._entries[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        """Apply one ``ref.agents`` record (latest wins, ``None`` deletes)."""
        if key is None:
            self.ignored += 1
            return
        agent_id = key.decode(errors="replace")
        if value is None:
            self._entries.pop(agent_id, None)
            return
        try:
            entry = orjson.loads(value)
        except orjson.JSONDecodeError:
            entry = None
        if not isinstance(entry, dict):
            self.ignored += 1
            log.warning("ref.agents entry %r is not a JSON object; ignored", agent_id)
            return
        self._entries[agent_id] = entry

    async def wait_ready(self, timeout_s: float) -> None:
        try:
            await asyncio.wait_for(self.ready.wait(), timeout_s)
        except TimeoutError:
            raise TimeoutError(
                f"the agent directory was not read within {timeout_s:.0f} s; is the broker up?"
            ) from None


class DirectoryReader(Service):
    """Keeps an :class:`AgentDirectory` up to date for as long as the worker runs."""

    def __init__(self, settings: Settings, directory: AgentDirectory, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._settings = settings
        self.directory = directory

    @Service.task
    async def _follow(self) -> None:
        topic = self._settings.catalog.agents
        consumer = committed_consumer(self._settings)
        await consumer.start()
        try:
            if topic not in await consumer.topics():
                log.warning("topic %s does not exist: every agent is unknown", topic)
                self.directory.ready.set()
                return
            consumer.subscribe([topic])  # no group: every partition, from the start
            tps = await assigned_partitions(consumer)
            ends = await consumer.end_offsets(tps)
            while not self.should_stop:
                batches = await consumer.getmany(timeout_ms=500)
                for messages in batches.values():
                    for message in messages:
                        self.directory.apply(message.key, message.value)
                if not self.directory.ready.is_set() and all(
                    [await consumer.position(tp) >= ends[tp] for tp in tps]
                ):
                    log.info("agent directory loaded: %d agents", len(self.directory))
                    self.directory.ready.set()
        finally:
            await consumer.stop()
