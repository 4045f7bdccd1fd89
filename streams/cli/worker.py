"""`regstream worker`: run the Faust pipeline worker until SIGTERM or Ctrl-C.

The only importer of the Faust app (ARCHITECTURE.md: nothing else imports it). The catalog's topics
and the worker's changelog topics are created first (idempotently), so a fresh cluster needs no
separate `regstream topics create`. A running worker rides out a broker that goes away (it
reconnects with backoff, its logs stay bounded) and stops within
:data:`~streams.worker.runner.STOP_DEADLINE_S` of SIGTERM, broker or not
(:mod:`streams.worker.runner`).
"""

from __future__ import annotations

import asyncio

import typer

from streams.kafka import BrokerUnavailable
from streams.settings import load_settings
from streams.topics import TopicsNotCreated, create_topics


def worker(
    guarantee: str | None = typer.Option(
        None, help="exactly_once | at_least_once (default: REGSTREAM_WORKER_PROCESSING_GUARANTEE)."
    ),
    web: bool | None = typer.Option(
        None, "--web/--no-web", help="Serve /metrics on REGSTREAM_WORKER_WEB_PORT."
    ),
) -> None:
    """Filter, dedupe, enrich and batch events.* into live.*; bad records go to the DLQ."""
    from streams.worker.app import build_app
    from streams.worker.config import load_worker_settings
    from streams.worker.runner import WorkerRunner
    from streams.worker.state import changelog_specs
    from streams.worker.suspects import suspects_spec

    overrides: dict[str, object] = {}
    if guarantee is not None:
        overrides["processing_guarantee"] = guarantee
    if web is not None:
        overrides["web_enabled"] = web
    settings = load_settings()
    worker_settings = load_worker_settings(**overrides)
    app_id = worker_settings.resolved_app_id(settings)
    specs = [
        *settings.catalog.all_specs(),
        *changelog_specs(settings, app_id),
        suspects_spec(settings, app_id),
    ]
    try:
        asyncio.run(create_topics(settings, specs))
    except (BrokerUnavailable, TopicsNotCreated) as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        raise typer.Exit(1) from exc
    worker_settings.data_dir.mkdir(parents=True, exist_ok=True)
    app = build_app(settings, worker_settings)
    typer.echo(
        f"worker {app.conf.id}: {worker_settings.processing_guarantee}, batches of at most "
        f"{worker_settings.batch_max_events}",
        err=True,
    )
    runner = WorkerRunner(
        app,
        loglevel=worker_settings.log_level,
        quiet=True,
        redirect_stdouts=False,
        workdir=str(worker_settings.data_dir),
    )
    # Faust's terminal spinner lowers the root logger to DEBUG at any level >= WARNING, so every
    # debug call of aiokafka builds a log record: about a tenth of the worker's CPU, for nothing.
    runner.spinner = None
    runner.execute_from_commandline()
