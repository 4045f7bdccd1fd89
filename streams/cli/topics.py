"""`regstream topics create|list`: the catalog's topics on the configured cluster."""

from __future__ import annotations

import asyncio

import typer

from streams.kafka import BrokerUnavailable
from streams.settings import load_settings
from streams.topics import TopicsNotCreated, create_topics

app = typer.Typer(help="Kafka topics of the catalog.", no_args_is_help=True)


@app.command()
def create() -> None:
    """Create every catalog topic that does not exist yet (idempotent)."""
    settings = load_settings()
    try:
        report = asyncio.run(create_topics(settings))
    except (BrokerUnavailable, TopicsNotCreated) as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        raise typer.Exit(1) from exc
    for name in report.created:
        typer.echo(f"created {name}")
    for name in report.existing:
        typer.echo(f"exists  {name}")


@app.command("list")
def list_specs() -> None:
    """Print the catalog: name, partitions, replication and configuration of each topic."""
    for spec in load_settings().catalog.all_specs():
        config = " ".join(f"{k}={v}" for k, v in sorted(spec.config.items()))
        typer.echo(f"{spec.name:32} p={spec.partitions} rf={spec.replication_factor} {config}")
