"""`regstream agents load|list|remove`: the agent directory the pipeline enriches events with.

regstream agents load agents.jsonl     # {"agent_id": "agent-kyc", "name": "KYC screening", ...}
regstream agents list                  # id, name and other fields; --json for machines
regstream agents remove agent-kyc      # a tombstone: events of agent-kyc become unknown again

Format and semantics: docs/reference/agents.md. Exit status: 0 done, 1 some lines were bad (the
good ones were loaded) or Kafka could not be reached, 2 a usage error (unreadable file).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import orjson
import typer

from streams.agents import Entry, LoadReport, describe, entry_from_line, load_agents, read_agents
from streams.agents import remove_agents as remove_from_directory
from streams.cli.errors import fail
from streams.publish_file import LineTooLong, read_lines
from streams.settings import load_settings

app = typer.Typer(
    help="The agent directory (ref.agents) that names the agents in every event.",
    no_args_is_help=True,
)


def parse_file(lines: list[bytes | LineTooLong]) -> tuple[dict[str, Entry], list[str]]:
    """(agent id → entry, in file order, the last line of an id winning; failures by line)."""
    entries: dict[str, Entry] = {}
    failures: list[str] = []
    for number, line in enumerate(lines, start=1):
        if not isinstance(line, LineTooLong) and not line.strip():
            continue
        try:
            if isinstance(line, LineTooLong):
                raise line
            agent_id, entry = entry_from_line(orjson.loads(line))
        except (orjson.JSONDecodeError, ValueError) as exc:
            failures.append(f"line {number}: {exc}")
            continue
        entries[agent_id] = entry
    return entries, failures


def print_report(report: LoadReport) -> None:
    for verb, ids in (("added", report.added), ("updated", report.updated),
                      ("removed", report.removed)):  # fmt: skip
        for agent_id in ids:
            typer.echo(f"{verb} {agent_id}")
    typer.echo(
        f"{len(report.added)} added, {len(report.updated)} updated, "
        f"{len(report.removed)} removed, {len(report.unchanged)} unchanged"
    )


@app.command()
def load(
    file: Path | None = typer.Argument(
        None, help="JSON lines, one agent each; stdin when omitted or -."
    ),
) -> None:
    """Add or update agents from a file; agents not in the file are left as they are."""
    try:
        stream = file.open("rb") if file and file != Path("-") else sys.stdin.buffer
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror}", 2)
    with stream:
        entries, failures = parse_file(list(read_lines(stream)))
    for failure in failures:
        typer.secho(failure, err=True, fg=typer.colors.RED)
    print_report(asyncio.run(load_agents(load_settings(), entries)))
    raise typer.Exit(1 if failures else 0)


@app.command("list")
def list_agents(
    as_json: bool = typer.Option(
        False, "--json", help="One JSON object per line, as `load` reads."
    ),
) -> None:
    """Print the directory as the pipeline sees it now."""
    agents = asyncio.run(read_agents(load_settings()))
    if as_json:
        for agent_id, entry in agents.items():
            typer.echo(orjson.dumps({"agent_id": agent_id, **entry}).decode())
        return
    for line in describe(agents):
        typer.echo(line)
    typer.echo(f"{len(agents)} agent(s) in {load_settings().catalog.agents}", err=True)


@app.command()
def remove(agent_ids: list[str] = typer.Argument(..., metavar="AGENT_ID...")) -> None:
    """Remove agents: their events are enriched as unknown agents from then on."""
    print_report(asyncio.run(remove_from_directory(load_settings(), agent_ids)))
