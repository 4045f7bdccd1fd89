"""`regstream audit verify|sessions`: check the audit trail; list who accessed what.

``verify`` exits 1 when it finds any break (altered entry, broken link, lost offsets, bad
record), so it can gate a scheduled job; ``--json`` prints the full report for machines.
"""

from __future__ import annotations

import sys
from typing import Any

import orjson
import typer
from rich.console import Console
from rich.table import Table

from schemas.contract import ACCESS_AUDIT
from streams.audit.sessions import Sessions, list_sessions
from streams.audit.verify import VerifyResult, verify_audit
from streams.cli.conventions import resolve_topic
from streams.cli.errors import fail
from streams.cli.replay import FROM_HELP, TO_HELP, check_bound, check_range_of, run_or_exit
from streams.pipeline.hashchain import BreakKind
from streams.replay.fieldcheck import check_filter
from streams.replay.filters import RowFilter
from streams.replay.progress import NoProgress, OffsetProgress
from streams.replay.ranges import AtOffsets, AtTime, describe, parse_bound
from streams.settings import Settings, load_settings

app = typer.Typer(
    help="The audit trail: verify its hash chain, list accesses.", no_args_is_help=True
)

WHAT_BROKE = {
    BreakKind.ALTERED: "the entry or its hash was changed",
    BreakKind.BROKEN_LINK: "prev_hash is not the previous entry's hash (removed, inserted, moved)",
}


def print_verify(result: VerifyResult, *, verbose: bool = False) -> None:
    """Breaks one line each, then the verdict. Transaction markers and aborted writes are not
    breaks: one line sums them up (``verbose`` lists each range), so they never bury a break."""
    chain = result.chain
    anchor = "from genesis" if result.from_genesis else "anchored at each key's first entry"
    offsets = sum(r.size for r in result.plan.values())
    typer.echo(
        f"verified {result.topic}: {offsets:,} offsets, {result.records:,} records, "
        f"{chain.entries:,} entries of {len(chain.keys):,} keys, "
        f"{chain.duplicates:,} redelivered duplicates ({anchor})"
    )
    for item in chain.breaks:
        typer.echo(
            f"BREAK {item.kind.value} key {item.key} at {item.position}: {WHAT_BROKE[item.kind]}"
            f" (expected {item.expected}, found {item.found})"
        )
    markers = [gap for gap in result.gaps if not gap.is_loss]
    for gap in result.gaps:
        where = f"partition {gap.partition} offsets {gap.first}..{gap.end - 1}"
        if gap.is_loss:
            typer.echo(f"GAP {where}: {gap.cause.value} — records are missing")
        elif verbose:
            typer.echo(f"note: {where}: transaction markers or aborted writes, nothing missing")
    if markers and not verbose:
        typer.echo(
            f"note: {sum(g.size for g in markers):,} offsets in {len(markers):,} ranges held "
            "transaction markers or aborted writes, nothing missing (--verbose lists them)"
        )
    for bad in result.bad:
        typer.echo(f"BAD partition {bad.partition} offset {bad.offset}: {bad.reason}")
    if result.ok:
        typer.echo("OK: no breaks")
    else:
        typer.echo(
            f"FAILED: {len(chain.breaks)} chain breaks, {len(result.losses)} gaps, "
            f"{len(result.bad)} bad records"
        )


FromOption = typer.Option(
    "earliest", "--from", help=FROM_HELP, callback=check_bound, metavar="WHEN"
)
ToOption = typer.Option("latest", "--to", help=TO_HELP, callback=check_bound, metavar="WHEN")


@app.command()
def verify(
    from_: str = FromOption,
    to: str = ToOption,
    topic: str | None = typer.Option(
        None, metavar="TOPIC", help="Audit stream (default live.audit_trail_entry)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    verbose: bool = typer.Option(
        False, "--verbose", "-v", help="List every range of transaction markers too."
    ),
) -> None:
    """Check hash chains per key and offset continuity per partition; exit 1 on any break."""
    check_range_of(from_, to)
    settings = load_settings()
    topic = resolve_topic(settings, topic) if topic else None
    progress = NoProgress() if quiet or as_json else OffsetProgress()
    result = run_or_exit(
        lambda: verify_audit(
            settings, parse_bound(from_), parse_bound(to), topic=topic, progress=progress
        )
    )
    if as_json:
        typer.echo(orjson.dumps(result.to_json(), option=orjson.OPT_INDENT_2).decode())
    else:
        print_verify(result, verbose=verbose)
    raise typer.Exit(0 if result.ok else 1)


def _range(value: Any) -> str:
    if isinstance(value, dict):
        return describe(AtOffsets({int(p): o for p, o in value.items()}))
    return "" if value is None else str(value)


def print_sessions(found: Sessions) -> None:
    table = Table("time (UTC)", "subject", "action", "via", "topic", "from", "to", "client",
                  "details")  # fmt: skip
    for row in found.rows:
        entry = row["event"]
        table.add_row(
            describe(AtTime(entry["metadata"]["occurred_at"])),
            entry["subject"],
            entry["action"],
            entry["via"],
            entry["topic"] or "",
            _range(entry["from"]),
            _range(entry["to"]),
            entry["client_address"] or "",
            " ".join(f"{k}={v}" for k, v in sorted(entry["details"].items())),
        )
    # In a pipe rich assumes 80 columns; audit tables are wider, and logs do not wrap.
    Console(width=None if sys.stdout.isatty() else 200).print(table)


def topic_spellings(settings: Settings, names: list[str]) -> list[str]:
    """Each topic as the audit may have recorded it: the gateway records event type names
    (``DecisionMade``), ``regstream replay`` Kafka topics (``live.decision_made``)."""
    out: list[str] = []
    for name in names:
        topic = resolve_topic(settings, name)
        event_type = settings.catalog.event_type_of(topic)
        out.extend(dict.fromkeys([name, topic, *([event_type] if event_type else [])]))
    return list(dict.fromkeys(out))


@app.command()
def sessions(
    from_: str = FromOption,
    to: str = ToOption,
    subject: list[str] = typer.Option([], metavar="SUB", help="Only these subjects (repeatable)."),
    action: list[str] = typer.Option(
        [], metavar="ACTION", help="Only these actions, e.g. REPLAY (repeatable)."
    ),
    via: str | None = typer.Option(None, metavar="CLI|GATEWAY", help="Only this channel."),
    topic: list[str] = typer.Option(
        [], metavar="TOPIC", help="Only accesses to these topics or types (repeatable)."
    ),
    where: list[str] = typer.Option(
        [], "--where", "-w", metavar="COND", help="More filters, as for replay."
    ),
    as_json: bool = typer.Option(False, "--json", help="One JSON row per line."),
) -> None:
    """List access-audit entries (who connected, subscribed, replayed what) with filters.

    A dashboard resuming after a reconnect is SUBSCRIBE (from token), not REPLAY: REPLAY
    lists only the requests for the past (from earliest or a time, or up to an end).
    """
    check_range_of(from_, to)
    settings = load_settings()
    conditions = list(where)
    for name, values in (("subject", subject), ("action", [a.upper() for a in action]),
                         ("event.topic", topic_spellings(settings, topic)),
                         ("via", [via.upper()] if via else [])):  # fmt: skip
        if values:
            conditions.append(f"{name}={','.join(values)}")
    try:
        row_filter = RowFilter(conditions)
        check_filter(row_filter, ACCESS_AUDIT)
    except ValueError as exc:
        fail(str(exc), 2)
    found = run_or_exit(
        lambda: list_sessions(settings, parse_bound(from_), parse_bound(to), row_filter)
    )
    if as_json:
        for row in found.rows:
            typer.echo(orjson.dumps(row).decode())
    else:
        print_sessions(found)
    for bad in found.bad:
        typer.secho(f"bad record: {bad}", err=True, fg=typer.colors.YELLOW)
    if found.lost:
        typer.secho(f"{found.lost} offsets were deleted by retention", err=True)
