"""`regstream broker start|stop|status|logs`: the embedded local Kafka cluster."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from streams.broker.cluster import LocalCluster
from streams.broker.errors import BrokerError

app = typer.Typer(
    help="Run a real Apache Kafka broker (KRaft) on this machine.", no_args_is_help=True
)

DEFAULT_DIR = Path(os.environ.get("REGSTREAM_BROKER_DIR", ".regstream/broker"))
DataDir = typer.Option(DEFAULT_DIR, "--data-dir", help="Cluster state, data and logs.")


def _fail(exc: BrokerError) -> None:
    typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
    raise typer.Exit(1)


@app.command()
def start(
    nodes: int = typer.Option(1, help="1, or 3 for a replicated cluster (failure tests)."),
    port: int = typer.Option(9092, help="First broker port; 0 picks free ports."),
    data_dir: Path = DataDir,
) -> None:
    """Fetch Kafka once, format storage on first use, start and wait until metadata answers."""
    try:
        bootstrap = LocalCluster(data_dir).start(nodes=nodes, port=port)
    except BrokerError as exc:
        _fail(exc)
    typer.echo(bootstrap)


@app.command()
def stop(data_dir: Path = DataDir) -> None:
    """Controlled shutdown of every node (SIGKILL after 30 s)."""
    try:
        LocalCluster(data_dir).stop()
    except BrokerError as exc:
        _fail(exc)


@app.command()
def status(data_dir: Path = DataDir) -> None:
    """Which nodes run and where they listen; exit 1 when none runs."""
    cluster = LocalCluster(data_dir)
    try:
        running = cluster.running_nodes()
        state = cluster.load_state()
    except BrokerError as exc:
        _fail(exc)
    if state is None or not running:
        typer.echo("stopped")
        raise typer.Exit(1)
    typer.echo(f"running nodes {running} at {cluster.bootstrap_servers}")


@app.command()
def logs(
    node: int = typer.Option(1, help="Node id."),
    lines: int = typer.Option(50, help="How many lines from the end."),
    data_dir: Path = DataDir,
) -> None:
    """Print the end of a node's server log."""
    log = data_dir / f"node-{node}" / "server.log"
    if not log.exists():
        typer.echo(f"no log at {log}", err=True)
        raise typer.Exit(1)
    typer.echo("\n".join(log.read_text(errors="replace").splitlines()[-lines:]))
