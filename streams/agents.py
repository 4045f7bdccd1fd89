"""The agent directory: who the agents are, kept on the compacted ``ref.agents`` topic.

The worker joins every event to it (``enrichment.agent_name`` / ``agent_known``); this module is
the one place that says what a directory record is and how one is written, read and removed
(``regstream agents load|list|remove``, and ``make dev``, which seeds the demo's agents).
Reference: docs/reference/agents.md.

A record of ``ref.agents`` (the worker reads it in :mod:`streams.worker.directory`):

* key: the agent id as UTF-8, exactly as events carry it (``agent_id``, or ``sender_id`` of a
  CollaborationEvent), 1 to :data:`MAX_ID_CHARS` printable characters;
* value: a JSON object with ``"name"`` (the display name) and any other fields, at most
  :data:`MAX_ENTRY_BYTES`; a null value (a tombstone) removes the agent.

The topic is compacted, so the latest record of each key is the agent's entry. Writers here
refuse an entry without a non-blank ``name``; readers (the worker included) accept any JSON object
(an agent without a name is known but unnamed) and ignore anything else.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from schemas.catalog import TopicSpec
from streams.kafka import committed_consumer, reliable_producer, start_client
from streams.settings import Settings
from streams.topics import create_topics
from streams.worker.reading import read_to_end

MAX_ID_CHARS = 256
MAX_ENTRY_BYTES = 16 * 1024
Entry = dict[str, Any]


def decode_entry(value: bytes) -> Entry | None:
    """The entry a record value holds, or None when it is not a JSON object (ignored)."""
    try:
        entry = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    return entry if isinstance(entry, dict) else None


def check_id(agent_id: object) -> str:
    """``agent_id`` if it can be a directory key; ValueError saying why not otherwise."""
    if not isinstance(agent_id, str) or not agent_id.strip():
        raise ValueError("agent_id must be a non-blank string")
    if len(agent_id) > MAX_ID_CHARS or not agent_id.isprintable():
        raise ValueError(f"agent_id must be at most {MAX_ID_CHARS} printable characters")
    return agent_id


def entry_from_line(line: object) -> tuple[str, Entry]:
    """(agent id, entry) of one line of an agents file: ``{"agent_id": …, "name": …, …}``."""
    if not isinstance(line, dict):
        raise ValueError("a line must hold one JSON object")
    entry = dict(line)
    agent_id = check_id(entry.pop("agent_id", None))
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ValueError("name must be a non-blank string")
    if len(orjson.dumps(entry)) > MAX_ENTRY_BYTES:
        raise ValueError(f"the entry is larger than {MAX_ENTRY_BYTES} bytes")
    return agent_id, entry


async def read_agents(settings: Settings) -> dict[str, Entry]:
    """The directory as of now: the latest entry of every agent, sorted by id."""
    topic = settings.catalog.agents
    consumer = committed_consumer(settings)
    await start_client(consumer, settings)
    agents: dict[str, Entry] = {}
    try:
        if topic not in await consumer.topics():
            return agents
        consumer.subscribe([topic])  # no group: every partition, from the start
        async for record in read_to_end(consumer):
            _apply(agents, record.key, record.value)
    finally:
        await consumer.stop()
    return dict(sorted(agents.items()))


def _apply(agents: dict[str, Entry], key: bytes | None, value: bytes | None) -> None:
    """One record, as the worker applies it: latest wins, a tombstone removes the agent, a
    value that is not a JSON object is ignored."""
    if key is None:
        return
    agent_id = key.decode(errors="replace")
    if value is None:
        agents.pop(agent_id, None)
    elif (entry := decode_entry(value)) is not None:
        agents[agent_id] = entry


@dataclass
class LoadReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


async def write_agents(
    settings: Settings, entries: Mapping[str, Entry | None], *, current: Mapping[str, Entry]
) -> LoadReport:
    """Write the entries that differ from ``current`` (None removes an agent); return what
    changed. Unchanged agents are not written again, so loading the same file twice is a no-op."""
    report = LoadReport()
    changes: list[tuple[str, Entry | None]] = []
    for agent_id, entry in entries.items():
        if entry is None:
            if agent_id in current:
                report.removed.append(agent_id)
                changes.append((agent_id, None))
        elif current.get(agent_id) == entry:
            report.unchanged.append(agent_id)
        else:
            (report.updated if agent_id in current else report.added).append(agent_id)
            changes.append((agent_id, entry))
    if changes:
        await create_topics(settings, [_agents_spec(settings)])
        producer = reliable_producer(settings)
        await start_client(producer, settings)
        try:
            for agent_id, entry in changes:
                value = None if entry is None else orjson.dumps(entry)
                await producer.send(settings.catalog.agents, value, key=agent_id.encode())
            await producer.flush()
        finally:
            await producer.stop()
    return report


async def load_agents(settings: Settings, entries: Mapping[str, Entry]) -> LoadReport:
    """Add or update ``entries`` (agent id → entry) in the directory."""
    return await write_agents(settings, entries, current=await read_agents(settings))


async def remove_agents(settings: Settings, agent_ids: Iterable[str]) -> LoadReport:
    """Remove agents (tombstones); ids not in the directory are left alone."""
    current = await read_agents(settings)
    return await write_agents(settings, dict.fromkeys(agent_ids), current=current)


def _agents_spec(settings: Settings) -> TopicSpec:
    return next(s for s in settings.catalog.all_specs() if s.name == settings.catalog.agents)


def describe(agents: Mapping[str, Entry]) -> Iterator[str]:
    """One line per agent for a terminal: id, name, other fields."""
    width = max((len(agent_id) for agent_id in agents), default=0)
    for agent_id, entry in agents.items():
        name = entry.get("name")
        rest = {k: v for k, v in entry.items() if k != "name"}
        extra = f"  {orjson.dumps(rest).decode()}" if rest else ""
        yield f"{agent_id:<{width}}  {name if isinstance(name, str) else '(no name)'}{extra}"
