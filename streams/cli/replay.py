"""`regstream replay TOPIC`: export a time or offset range of a topic to JSONL, CSV or Avro.

Exit status: 0 done; 1 the export failed (broker, bad record with ``--on-error fail``);
2 a usage error (bound, filter, type, a checkpoint of another export).
"""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import typer
from aiokafka.errors import KafkaError

from streams.cli.conventions import resolve_topic, unknown_topic
from streams.cli.errors import fail
from streams.kafka import BrokerUnavailable
from streams.replay.checkpoint import Checkpoint, CheckpointMismatch, checkpoint_path
from streams.replay.export import ExportFailed, ExportJob, Reporter, export, infer_event_type
from streams.replay.progress import NoProgress, OffsetProgress
from streams.replay.ranges import check_range, parse_bound
from streams.replay.rows import BadRecord, resolve_row_type
from streams.replay.source import Lost, RangeUnavailable, UnknownTopic
from streams.replay.writers import FORMATS
from streams.settings import load_settings

T = TypeVar("T")

FROM_HELP = "Start (inclusive): earliest, an ISO-8601 time, epoch ms, or offsets like 0:100,1:200."
TO_HELP = "End (exclusive): latest (the end when the run starts), a time, epoch ms, or offsets."


def check_bound(text: str) -> str:
    """Typer callback: refuse a malformed bound before anything connects."""
    try:
        parse_bound(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    return text


def check_range_of(from_: str, to: str) -> None:
    """Refuse a reversed or empty range before anything connects (exit status 2)."""
    try:
        check_range(parse_bound(from_), parse_bound(to))
    except ValueError as exc:
        fail(str(exc), 2)


def run_or_exit(work: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run ``work``; turn the errors a person can act on into a message and an exit status."""
    try:
        return asyncio.run(work())
    except (BrokerUnavailable, KafkaError, RangeUnavailable) as exc:
        fail(str(exc), 1)
    except UnknownTopic as exc:
        fail(unknown_topic(load_settings(), exc.topic) if exc.topic else str(exc), 2)
    except (CheckpointMismatch, ValueError) as exc:
        fail(str(exc), 2)


def report_bad(bad: BadRecord) -> None:
    typer.secho(f"bad record skipped: {bad}", err=True, fg=typer.colors.YELLOW)


def report_lost(lost: Lost) -> None:
    typer.secho(
        f"lost: partition {lost.partition} offsets {lost.first}..{lost.end - 1} were deleted "
        "(retention) before they could be read",
        err=True,
        fg=typer.colors.YELLOW,
    )


def report_resume(saved: Checkpoint) -> None:
    typer.echo(
        f"resuming from the checkpoint: {saved.rows:,} rows of {saved.records:,} records "
        f"already written ({saved.length:,} bytes)",
        err=True,
    )


def summary(state: Checkpoint, topic: str, out: Path | None) -> str:
    """The closing line, in the progress bar's unit first: every offset of the plan was either a
    record, a transaction marker or aborted write (invisible under read_committed), or lost."""
    offsets = sum(r.size for r in state.plan.values())
    hidden = offsets - state.records - state.lost
    return (
        f"replayed {state.rows:,} rows of {topic} to {out or 'stdout'}: {offsets:,} offsets = "
        f"{state.records:,} records + {hidden:,} transaction markers or aborted writes + "
        f"{state.lost:,} lost; {state.filtered:,} rows filtered, {state.bad:,} bad records"
    )


def replay(
    topic: str = typer.Argument(
        ..., help="Topic, or an event type for its live topic: DecisionMade = live.decision_made."
    ),
    from_: str = typer.Option(
        "earliest", "--from", help=FROM_HELP, callback=check_bound, metavar="WHEN"
    ),
    to: str = typer.Option("latest", "--to", help=TO_HELP, callback=check_bound, metavar="WHEN"),
    where: list[str] = typer.Option(
        [],
        "--where",
        "-w",
        metavar="COND",
        help="Field filter, repeatable: agent_id=a,b  metadata.severity>=HIGH.",
    ),
    fmt: str = typer.Option(
        "jsonl", "--format", "-f", metavar="FORMAT", help=f"One of {', '.join(FORMATS)}."
    ),
    event_type: str | None = typer.Option(
        None,
        "--type",
        metavar="TYPE",
        help="Event type of the rows (csv/avro); inferred from the topic name.",
    ),
    out: Path | None = typer.Option(
        None, "--out", "-o", metavar="FILE", help="Output file; stdout if omitted or -."
    ),
    checkpoint: Path | None = typer.Option(
        None,
        metavar="FILE",
        help="Checkpoint file (default <out>.checkpoint); an existing one is resumed.",
    ),
    checkpoint_every: int = typer.Option(10_000, min=1, help="Records between checkpoints."),
    on_error: str = typer.Option(
        "fail", metavar="fail|skip", help="Bad record: fail (stop, resumable) or skip."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar, no summary."),
) -> None:
    """Export a range of TOPIC, resumably; records who replayed what in the audit topic.

    Rows come out partition by partition, each in offset order, then by index in a batch.

    With --out, an interrupted export resumes from its checkpoint when run again.
    """
    if on_error not in ("fail", "skip"):
        fail("--on-error is fail or skip", 2)
    out = None if out == Path("-") else out
    if checkpoint is not None and out is None:
        fail("--checkpoint needs --out (stdout cannot be resumed)", 2)
    settings = load_settings()
    topic = resolve_topic(settings, topic)
    try:
        row_type = resolve_row_type(event_type) if event_type else None
    except ValueError as exc:
        fail(str(exc), 2)
    job = ExportJob(
        topic=topic,
        format=fmt,
        event_type=row_type or infer_event_type(settings, topic),
        lower=from_,
        upper=to,
        where=tuple(where),
        checkpoint_every=checkpoint_every,
    )
    reporter = Reporter(
        report_bad,
        report_lost,
        (lambda saved: None) if quiet else report_resume,
        NoProgress() if quiet else OffsetProgress(),
    )
    checkpoint = checkpoint or (checkpoint_path(out) if out else None)

    async def run() -> None:
        state = await export(
            settings,
            job,
            subject=getpass.getuser(),
            out=out,
            checkpoint=checkpoint,
            on_error="skip" if on_error == "skip" else "fail",
            reporter=reporter,
        )
        if not quiet:
            typer.echo(summary(state, topic, out), err=True)

    try:
        run_or_exit(run)
    except KeyboardInterrupt:
        hint = ": run the same command again to resume from the checkpoint" if out else ""
        fail(f"interrupted{hint}", 130)
    except ExportFailed as exc:
        hint = "; run again with --on-error skip to continue past it" if out else ""
        fail(f"bad record {exc.bad}{hint}", 1)
