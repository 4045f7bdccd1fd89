"""`regstream produce TYPE [FILE]`: publish JSON lines (a file or stdin) as events.

The input format, with a minimal line per event type, is docs/reference/produce.md. Envelope
fields a line leaves out are filled in (:mod:`streams.envelope`) and the command says which.
Exit status: 0 every line sent; 1 some lines failed (the others were sent) or Kafka could not
be reached; 2 a usage error (unknown type, unreadable file).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import typer

from streams.cli.conventions import input_event_type
from streams.cli.errors import fail
from streams.kafka import BrokerUnavailable
from streams.producer import EventProducer
from streams.publish_file import (
    SOURCE,
    PublishReport,
    publish_lines,
    read_lines,
)
from streams.settings import load_settings


def produce(
    event_type: str = typer.Argument(
        ...,
        metavar="TYPE",
        help="Event type or its input topic: DecisionMade, events.decision_made.",
    ),
    file: Path | None = typer.Argument(None, help="JSON lines file; stdin when omitted."),
    source: str = typer.Option(
        SOURCE, metavar="NAME", help="metadata.source of lines that give none."
    ),
) -> None:
    """Publish one event per JSON line; bad lines are reported by number and the rest still go out.

    A line may leave out metadata.event_id, event_type, occurred_at, severity, source and
    headers: they are filled in (a new UUID, TYPE, now, INFO, --source, {}) and the command
    says so. Format and a minimal line per type: docs/reference/produce.md.
    """
    settings = load_settings()
    try:
        resolved = input_event_type(settings, event_type)
    except ValueError as exc:
        fail(str(exc), 2)
    try:
        stream = file.open("rb") if file else sys.stdin.buffer
    except OSError as exc:  # missing, a directory, not readable
        fail(f"cannot read {file}: {exc.strerror}", 2)

    async def run() -> int:
        try:
            async with EventProducer(settings) as producer:
                report = await publish_lines(producer, resolved, read_lines(stream), source)
        finally:
            if file:
                stream.close()
        for number, reason in report.failures:
            typer.secho(f"line {number}: {reason}", err=True, fg=typer.colors.RED)
        if report.filled:
            typer.echo(describe_filled(report, source), err=True)
        typer.echo(f"sent {report.sent}, failed {len(report.failures)}")
        return 1 if report.failures else 0

    try:
        code = asyncio.run(run())
    except BrokerUnavailable as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        raise typer.Exit(1) from exc
    raise typer.Exit(code)


FILLED_WITH = {"event_id": "new UUIDs", "occurred_at": "time read", "severity": "INFO",
               "headers": "{}"}  # fmt: skip


def describe_filled(report: PublishReport, source: str) -> str:
    """``filled in (absent from the lines): event_id on 3 (new UUIDs), ...``"""
    said = {**FILLED_WITH, "source": source}
    parts = [
        f"{name} on {count}" + (f" ({said[name]})" if name in said else "")
        for name, count in report.filled.items()
    ]
    return "filled in (absent from the lines): " + ", ".join(parts)
