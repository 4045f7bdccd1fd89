"""`regstream dlq inspect|replay`: look at dead letters and send fixed ones back to their topic.

regstream dlq inspect                         # table: position, source, reason, detail
regstream dlq inspect --reason bad-magic --json > letters.jsonl
regstream dlq replay --offset 0:17            # bytes unchanged (cause fixed elsewhere)
regstream dlq replay --fixed letters.jsonl    # edited "record" fields, validated first
regstream dlq suspects                        # positions the worker stopped on
regstream dlq skip events.decision_made 2 917 # quarantine one input position
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from pathlib import Path

import orjson
import typer

from schemas.formats import codec_for
from streams.cli.conventions import resolve_topic
from streams.dlq import (
    DeadLetter,
    ReplayReport,
    Selection,
    read_dead_letters,
    replay_fixed,
    replay_unchanged,
)
from streams.kafka import BrokerUnavailable
from streams.settings import Settings, load_settings
from streams.topics import create_topics
from streams.worker.config import load_worker_settings
from streams.worker.suspects import Suspect, SuspectLog, describe, suspects_spec

app = typer.Typer(help="Dead letters on events.dlq: inspect and replay.", no_args_is_help=True)

ReasonOption = typer.Option(
    None, "--reason", metavar="REASON", help="Only this reason code (repeatable)."
)
SourceOption = typer.Option(
    None, "--source-topic", metavar="TOPIC", help="Only letters from this input topic or type."
)
OffsetOption = typer.Option(
    None, "--offset", metavar="P:O", help="Only DLQ PARTITION:OFFSET (repeatable)."
)


def _selection(
    settings: Settings, reasons: list[str] | None, source: str | None, offsets: list[str] | None
) -> Selection:
    topic = resolve_topic(settings, source, "input") if source else None
    return Selection(frozenset(reasons or ()), topic, frozenset(offsets or ()))


def _read(settings: Settings, selection: Selection) -> list[DeadLetter]:
    try:
        return asyncio.run(read_dead_letters(settings, selection))
    except BrokerUnavailable as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        raise typer.Exit(1) from exc


def _when(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"


@app.command()
def inspect(
    reason: list[str] | None = ReasonOption,
    source_topic: str | None = SourceOption,
    offset: list[str] | None = OffsetOption,
    limit: int | None = typer.Option(None, help="Show at most this many (the oldest first)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line."),
) -> None:
    """Show dead letters with their reason headers."""
    settings = load_settings()
    letters = _read(settings, _selection(settings, reason, source_topic, offset))[:limit]
    if as_json:
        codec = codec_for(settings.wire_format, settings.schema_registry_url)
        for letter in letters:
            typer.echo(orjson.dumps(letter.as_json(codec)).decode())
        return
    for letter in letters:
        size = len(letter.value) if letter.value is not None else 0
        if letter.info is None:
            typer.echo(f"{letter.position:>10}  (no dead-letter headers)  {size} bytes")
            continue
        topic, partition, source_offset = letter.info.source
        omitted = letter.info.body_omitted
        body = f"{size} bytes" if omitted is None else f"body omitted ({omitted} bytes)"
        typer.echo(
            f"{letter.position:>10}  {topic}/{partition}/{source_offset}  {letter.info.reason}  "
            f"{letter.info.error_class}  {_when(letter.info.dead_lettered_at_ms)}  {body}"
        )
        if letter.info.detail:
            typer.echo(f"{'':>10}  {letter.info.detail}")
    typer.echo(f"{len(letters)} dead letter(s) in {settings.catalog.dlq}", err=True)


@app.command()
def replay(
    reason: list[str] | None = ReasonOption,
    source_topic: str | None = SourceOption,
    offset: list[str] | None = OffsetOption,
    fixed: Path | None = typer.Option(
        None,
        "--fixed",
        metavar="FILE",
        help="JSON lines as `inspect --json` prints them, records fixed.",
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Say what would be sent; send nothing."),
) -> None:
    """Re-publish dead letters to their source topic: unchanged, or fixed (--fixed FILE)."""
    settings = load_settings()
    if fixed is not None:
        fixes = [orjson.loads(line) for line in fixed.read_text().splitlines() if line.strip()]
        selection = _selection(settings, reason, source_topic, offset)
        fixes = [fix for fix in fixes if _fix_selected(fix, selection)]
        if dry_run:
            typer.echo(f"would validate and send {len(fixes)} fixed record(s)")
            return
        _report(asyncio.run(replay_fixed(settings, fixes)))
        return
    letters = _read(settings, _selection(settings, reason, source_topic, offset))
    if dry_run:
        for letter in letters:
            source = letter.info.source[0] if letter.info else "?"
            typer.echo(f"would send {letter.position} to {source}")
        return
    _report(asyncio.run(replay_unchanged(settings, letters)))


def _fix_selected(fix: dict[str, object], selection: Selection) -> bool:
    position = f"{fix.get('dlq_partition')}:{fix.get('dlq_offset')}"
    if selection.positions and position not in selection.positions:
        return False
    if selection.reasons and fix.get("reason") not in selection.reasons:
        return False
    return not (selection.source_topic and fix.get("source_topic") != selection.source_topic)


def _report(report: ReplayReport) -> None:
    for position, reason in report.failures:
        typer.secho(f"{position}: {reason}", err=True, fg=typer.colors.RED)
    typer.echo(f"replayed {report.sent}, failed {len(report.failures)}")
    raise typer.Exit(1 if report.failures else 0)


@app.command()
def suspects() -> None:
    """Input positions the worker stopped on: isolated, or quarantined, when next adopted."""
    settings = load_settings()
    log = _suspect_log(settings)
    try:
        found = asyncio.run(log.load())
    except BrokerUnavailable as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        raise typer.Exit(1) from exc
    for line in describe(found.items()):
        typer.echo(line)
    typer.echo(f"{len(found)} suspect(s) in {log.topic}", err=True)


@app.command()
def skip(
    topic: str = typer.Argument(
        ..., help="The input topic or its type, e.g. events.decision_made or DecisionMade."
    ),
    partition: int = typer.Argument(..., min=0, help="Its partition."),
    offset: int = typer.Argument(..., min=0, help="Its offset."),
) -> None:
    """Quarantine one input record: the worker dead-letters it unprocessed (reason
    `quarantined`) when it next adopts the partition — at its next start."""
    settings = load_settings()
    topic = resolve_topic(settings, topic, "input")
    if settings.catalog.event_type_of(topic) is None or settings.catalog.is_live(topic):
        typer.secho(f"error: {topic} is not an input topic", err=True, fg=typer.colors.RED)
        raise typer.Exit(2)
    suspect = Suspect(offset, offset + 1, "skipped by an operator", int(time.time() * 1000))
    app_id = load_worker_settings().resolved_app_id(settings)

    async def write() -> None:
        await create_topics(settings, [suspects_spec(settings, app_id)])
        await SuspectLog(settings, app_id).write({(topic, partition): suspect})

    try:
        asyncio.run(write())
    except (BrokerUnavailable, TimeoutError) as exc:
        typer.secho(f"error: {exc or 'no acknowledgement'}", err=True, fg=typer.colors.RED)
        raise typer.Exit(1) from exc
    typer.echo(f"{topic}/{partition}/{offset} will be quarantined at the worker's next start")


def _suspect_log(settings: Settings) -> SuspectLog:
    return SuspectLog(settings, load_worker_settings().resolved_app_id(settings))
