"""Publish a file of JSON lines as events: the engine behind `regstream produce`.

Envelope fields a line leaves out (``event_id``, ``occurred_at``, ``event_type``, ...) are filled
in as :mod:`streams.envelope` says, and counted so the command can say so. A bad line (not UTF-8,
not JSON, not a valid event, or longer than :data:`MAX_LINE_BYTES`) is reported with its line
number and skipped; the good lines still go out, whatever follows them.
Input is read as bytes, a bounded line at a time, so a binary file or one without newlines costs
at most one line's worth of memory and ends as numbered failures, never as a traceback. The
caller decides the exit status from the report.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

import orjson

from schemas.contract import EVENT_TYPES
from schemas.errors import SchemaError
from schemas.values import MAX_EVENT_BYTES
from streams.envelope import complete_metadata
from streams.errors import StreamsError
from streams.producer import EventProducer
from streams.suggest import did_you_mean

CHUNK = 1000
SOURCE = "regstream-produce"
"""``metadata.source`` of lines that give none."""
MAX_LINE_BYTES = 4 * MAX_EVENT_BYTES
"""The longest JSON line read; an event's JSON is rarely more than twice its Avro size."""


class LineTooLong(StreamsError, ValueError):
    """A line longer than :data:`MAX_LINE_BYTES` (a binary file, a missing newline)."""


def read_lines(stream: BinaryIO, max_bytes: int = MAX_LINE_BYTES) -> Iterator[bytes | LineTooLong]:
    """Each line of ``stream`` (without its newline), or ``LineTooLong`` for one over
    ``max_bytes``, whose rest is skipped without being held in memory."""
    while True:
        line = stream.readline(max_bytes + 1)
        if not line:
            return
        if len(line) > max_bytes and not line.endswith(b"\n"):
            skipped = len(line)
            while (rest := stream.readline(max_bytes)) and not rest.endswith(b"\n"):
                skipped += len(rest)
            yield LineTooLong(f"line longer than {max_bytes} bytes ({skipped + len(rest)}+)")
            continue
        yield line


@dataclass
class PublishReport:
    sent: int = 0
    failures: list[tuple[int, str]] = field(default_factory=list)
    filled: Counter[str] = field(default_factory=Counter)
    """Envelope field → how many sent events had it filled in."""


def resolve_event_type(name: str) -> str:
    """Accept `DecisionMade`, `decision_made` or `decision-made`; return the contract's name."""
    wanted = name.replace("_", "").replace("-", "").lower()
    for event_type in EVENT_TYPES:
        if event_type.lower() == wanted:
            return event_type
    raise ValueError(
        f"unknown event type {name!r}{did_you_mean(name, EVENT_TYPES)}; "
        f"one of: {', '.join(EVENT_TYPES)}"
    )


async def publish_lines(
    producer: EventProducer,
    event_type: str,
    lines: Iterator[bytes | LineTooLong],
    source: str = SOURCE,
) -> PublishReport:
    """Publish every valid JSON line as one event, in order, in chunks of acknowledged sends;
    envelope fields a line lacks are filled in (``source`` for a missing ``metadata.source``)."""
    report = PublishReport()
    chunk: list[tuple[int, dict[str, object], list[str]]] = []
    for number, line in enumerate(lines, start=1):
        if isinstance(line, LineTooLong):
            report.failures.append((number, f"{line.__class__.__name__}: {line}"))
            continue
        if not line.strip():
            continue
        try:
            record = orjson.loads(line)  # refuses invalid UTF-8 as well
            if not isinstance(record, dict):
                raise ValueError("a line must hold one JSON object")
            filled = complete_metadata(event_type, record, source)
            producer.encode(event_type, record)
        except (orjson.JSONDecodeError, ValueError, SchemaError) as exc:
            report.failures.append((number, f"{exc.__class__.__name__}: {exc}"))
            continue
        chunk.append((number, record, filled))
        if len(chunk) >= CHUNK:
            await _send_chunk(producer, event_type, chunk, report)
            chunk = []
    if chunk:
        await _send_chunk(producer, event_type, chunk, report)
    return report


async def _send_chunk(
    producer: EventProducer,
    event_type: str,
    chunk: list[tuple[int, dict[str, object], list[str]]],
    report: PublishReport,
) -> None:
    results = await producer.send_many(event_type, [record for _, record, _ in chunk])
    for (number, _, filled), result in zip(chunk, results, strict=True):
        if isinstance(result, BaseException):
            report.failures.append((number, f"{result.__class__.__name__}: {result}"))
        else:
            report.sent += 1
            report.filled.update(filled)
