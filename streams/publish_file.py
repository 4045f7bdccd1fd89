"""Publish a file of JSON lines as events: the engine behind `regstream produce`.

A bad line (not JSON, or not a valid event) is reported with its line number and skipped; the
good lines still go out. The caller decides the exit status from the report.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import orjson

from schemas.contract import EVENT_TYPES
from schemas.errors import SchemaError
from streams.producer import EventProducer

CHUNK = 1000


@dataclass
class PublishReport:
    sent: int = 0
    failures: list[tuple[int, str]] = field(default_factory=list)


def resolve_event_type(name: str) -> str:
    """Accept `DecisionMade`, `decision_made` or `decision-made`; return the contract's name."""
    wanted = name.replace("_", "").replace("-", "").lower()
    for event_type in EVENT_TYPES:
        if event_type.lower() == wanted:
            return event_type
    raise ValueError(f"unknown event type {name!r}; one of: {', '.join(EVENT_TYPES)}")


async def publish_lines(
    producer: EventProducer, event_type: str, lines: Iterable[str]
) -> PublishReport:
    """Publish every valid JSON line as one event, in order, in chunks of acknowledged sends."""
    report = PublishReport()
    chunk: list[tuple[int, dict[str, object]]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = orjson.loads(line)
            if not isinstance(record, dict):
                raise ValueError("a line must hold one JSON object")
            producer.encode(event_type, record)
        except (orjson.JSONDecodeError, ValueError, SchemaError) as exc:
            report.failures.append((number, f"{exc.__class__.__name__}: {exc}"))
            continue
        chunk.append((number, record))
        if len(chunk) >= CHUNK:
            await _send_chunk(producer, event_type, chunk, report)
            chunk = []
    if chunk:
        await _send_chunk(producer, event_type, chunk, report)
    return report


async def _send_chunk(
    producer: EventProducer,
    event_type: str,
    chunk: list[tuple[int, dict[str, object]]],
    report: PublishReport,
) -> None:
    results = await producer.send_many(event_type, [record for _, record in chunk])
    for (number, _), result in zip(chunk, results, strict=True):
        if isinstance(result, BaseException):
            report.failures.append((number, f"{result.__class__.__name__}: {result}"))
        else:
            report.sent += 1
