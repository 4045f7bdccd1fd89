"""`regstream produce TYPE [FILE]`: publish JSON lines (a file or stdin) as events."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import typer

from streams.kafka import BrokerUnavailable
from streams.producer import EventProducer
from streams.publish_file import publish_lines, read_lines, resolve_event_type
from streams.settings import load_settings


def produce(
    event_type: str = typer.Argument(..., help="Event type, e.g. DecisionMade or decision_made."),
    file: Path | None = typer.Argument(None, help="JSON lines file; stdin when omitted."),
) -> None:
    """Publish one event per JSON line; bad lines are reported by number and the rest still go out."""
    try:
        resolved = resolve_event_type(event_type)
    except ValueError as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        raise typer.Exit(2) from exc
    try:
        stream = file.open("rb") if file else sys.stdin.buffer
    except OSError as exc:  # missing, a directory, not readable
        typer.secho(f"error: cannot read {file}: {exc.strerror}", err=True, fg=typer.colors.RED)
        raise typer.Exit(2) from exc
    settings = load_settings()

    async def run() -> int:
        try:
            async with EventProducer(settings) as producer:
                report = await publish_lines(producer, resolved, read_lines(stream))
        finally:
            if file:
                stream.close()
        for number, reason in report.failures:
            typer.secho(f"line {number}: {reason}", err=True, fg=typer.colors.RED)
        typer.echo(f"sent {report.sent}, failed {len(report.failures)}")
        return 1 if report.failures else 0

    try:
        code = asyncio.run(run())
    except BrokerUnavailable as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        raise typer.Exit(1) from exc
    raise typer.Exit(code)
