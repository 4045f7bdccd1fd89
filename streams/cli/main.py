"""Entry point of the `regstream` console script: registers every command group."""

from __future__ import annotations

import asyncio
import sys
from importlib.metadata import entry_points, version
from pathlib import Path
from typing import Any

import typer
from aiokafka.errors import KafkaConnectionError

from streams.cli import agents, audit, broker, dlq, produce, replay, topics, worker
from streams.cli.conventions import conventional
from streams.kafka import BrokerUnavailable
from streams.settings import load_settings


class Regstream(typer.Typer):
    """The root command: a broker nobody can reach is one line on stderr and exit status 1,
    whichever command met it, never a traceback (commands may still say it themselves). Help
    follows :mod:`streams.cli.conventions`."""

    def click_command(self) -> Any:
        """The command tree as click runs it (and docs/reference/cli.md is generated from)."""
        command = typer.main.get_command(self)
        conventional(command)
        return command

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return self.click_command()(*args, **kwargs)
        except (BrokerUnavailable, KafkaConnectionError) as exc:
            if not isinstance(exc, BrokerUnavailable):
                exc = BrokerUnavailable(load_settings().bootstrap_servers, exc)
            typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
            sys.exit(1)


app = Regstream(
    name="regstream",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def show_version(value: bool) -> None:
    if value:
        typer.echo(f"regstream {version('regstream')}")
        raise typer.Exit()


@app.callback()
def root(
    _version: bool = typer.Option(
        False, "--version", callback=show_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Stream compliance events from Kafka to people.

    Every command that takes a topic also takes an event type name (DecisionMade, decision_made).
    Exit status: 0 done, 1 the work failed (Kafka unreachable, bad lines or records, a failed
    check), 2 the command line is wrong, 130 interrupted. Reference: docs/reference/cli.md.
    """


app.add_typer(broker.app, name="broker")
app.add_typer(topics.app, name="topics")
app.command("produce")(produce.produce)
app.command("worker")(worker.worker)
app.add_typer(dlq.app, name="dlq")
app.command("replay")(replay.replay)
app.add_typer(audit.app, name="audit")
app.add_typer(agents.app, name="agents")


def add_component_commands(root: typer.Typer) -> None:
    """Add the command groups other components declare under the ``regstream.cli`` entry point.

    The gateway depends on streams, never the reverse: it contributes its commands (`gateway`,
    `token`) through package metadata, so this module needs no import of it.
    """
    for entry in entry_points(group="regstream.cli"):
        command = entry.load()
        if isinstance(command, typer.Typer):
            root.add_typer(command, name=entry.name)
        else:
            root.command(entry.name)(command)


add_component_commands(app)

schemas_app = typer.Typer(help="The Avro data contract.", no_args_is_help=True)
app.add_typer(schemas_app, name="schemas")


@schemas_app.command("check")
def schemas_check() -> None:
    """Fail when a schema is not BACKWARD compatible with the released baseline."""
    from schemas.compat import run_check

    raise typer.Exit(run_check())


@app.command()
def demo(
    rate: float = typer.Option(20.0, help="Events per second, all six types mixed."),
    limit: int | None = typer.Option(None, help="Stop after this many events."),
) -> None:
    """Publish realistic demo events until Ctrl-C."""
    try:
        sent = asyncio.run(run_demo_cli(rate, limit))
    except KeyboardInterrupt:
        return
    typer.echo(f"sent {sent}")


async def run_demo_cli(rate: float, limit: int | None) -> int:
    from streams.demo import run_demo

    return await run_demo(load_settings(), rate, limit)


@app.command()
def dev(
    data_dir: Path = typer.Option(Path(".regstream/broker"), help="Local broker state."),
    port: int = typer.Option(9092, help="Kafka port."),
    demo_rate: float = typer.Option(20.0, help="Demo events per second."),
    gateway_port: int = typer.Option(8080, help="Dashboard and WebSocket port."),
) -> None:
    """Run the whole system on this machine until Ctrl-C (what `make dev` runs)."""
    from streams.broker.errors import BrokerError
    from streams.devlock import AlreadyRunning
    from streams.devstack import run_dev

    try:
        run_dev(data_dir, port, demo_rate, gateway_port)
    except AlreadyRunning as exc:
        typer.secho(str(exc), err=True, fg=typer.colors.YELLOW)
        raise typer.Exit(1) from exc
    except BrokerError as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        raise typer.Exit(1) from exc


if __name__ == "__main__":
    app()
