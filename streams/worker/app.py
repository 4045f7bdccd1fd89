"""The Faust app: the six input topics, the pipeline runtime they feed, and Faust's signals.

Built from :class:`streams.settings.Settings` and :class:`~streams.worker.config.WorkerSettings`;
``regstream worker`` (:mod:`streams.cli.worker`) is the only importer.

Records reach the runtime through the worker's own transport (``regstream://``,
:mod:`streams.worker.transport`), which hands each fetch over as one batch: one batch at a time
for all six input topics, split per topic-partition inside. That matters under exactly-once: Faust
keeps one transactional producer per *partition number* of a copartitioned group (``events.*`` all
have the same partition count, so partition 0 of every input topic shares one producer), and two
batches committing through one producer would commit each other's half-finished work. The agent
over the six topics is what subscribes Faust's consumer to them; no record goes through its stream.

Faust settings chosen here, and why:

- ``acks=False`` on the input topics: offsets are committed by the batch (see
  :mod:`streams.worker.delivery`), never by Faust's ack bookkeeping;
- ``agent_supervisor=CrashingSupervisor``: an agent that raises takes the worker down; restarting
  just the agent would skip the failed batch (its records were already fetched);
- no Faust tables (see :mod:`streams.worker.state`), but ``table_standby_replicas=1``: without
  tables Faust only keeps its copartitioning assignor when standbys are configured, and the
  per-partition transactional ids above rely on partition *n* of every input topic being assigned
  to the same worker;
- ``topic_disable_leader``: no ``on_leader`` tasks, so no leader topic.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import faust
from faust.types import TP
from mode import CrashingSupervisor

from schemas.contract import EVENT_TYPES
from schemas.formats import codec_for
from streams.settings import Settings
from streams.worker.config import WorkerSettings
from streams.worker.delivery import delivery_for
from streams.worker.directory import AgentDirectory, DirectoryReader
from streams.worker.inbound import from_record
from streams.worker.metrics import BatchLatency, consumer_lag, render
from streams.worker.output import BatchEncoder
from streams.worker.partition import PartitionProcessor
from streams.worker.restore import restore_partitions
from streams.worker.runtime import PipelineRuntime, Tables
from streams.worker.state import TABLES, ChangelogTable, changelog_topic
from streams.worker.suspects import SuspectLog
from streams.worker.transport import SCHEME, Records, deliver_batches

AGENT_NAME = "pipeline"
HOLE_RETRY_S = 2.0


def faust_settings(settings: Settings, worker: WorkerSettings) -> dict[str, Any]:
    """Keyword arguments of ``faust.App`` for these settings."""
    session_s = worker.session_timeout_ms / 1000
    return {
        "broker": [f"{SCHEME}://{server}" for server in settings.bootstrap_list],
        "broker_max_poll_records": worker.batch_max_events,
        "broker_client_id": settings.client_id,
        "processing_guarantee": worker.processing_guarantee,
        "datadir": str(worker.data_dir),
        "table_standby_replicas": 1,
        "topic_partitions": settings.partitions,
        "topic_replication_factor": settings.replication_factor,
        "topic_disable_leader": True,
        "consumer_auto_offset_reset": "earliest",
        "agent_supervisor": CrashingSupervisor,
        "broker_session_timeout": session_s,
        "broker_heartbeat_interval": min(3.0, session_s / 3),
        "broker_request_timeout": max(settings.request_timeout_ms / 1000, session_s + 5),
        "producer_acks": -1,
        "stream_wait_empty": True,
        "web_enabled": worker.web_enabled,
        "web_port": worker.web_port,
        "web_bind": worker.web_bind,
    }


def build_runtime(app: faust.App, settings: Settings, worker: WorkerSettings) -> PipelineRuntime:
    """The pipeline runtime wired to ``app``'s consumer and producers."""
    app_id = worker.resolved_app_id(settings)
    codec = codec_for(settings.wire_format, settings.schema_registry_url)
    tables = Tables(*(ChangelogTable(name, changelog_topic(app_id, name)) for name in TABLES))

    async def restore(tables: Tables, partitions: set[int]) -> int:
        return await restore_partitions(settings, tables.all, partitions)

    async def seek(tp: tuple[str, int], offset: int) -> None:
        await app.consumer.seek(TP(*tp), offset)

    encoder = BatchEncoder(
        codec,
        settings.catalog,
        worker.batch_max_events,
        worker.batch_max_bytes,
        tables.positions.changelog_topic,
    )
    return PipelineRuntime(
        processor=PartitionProcessor(settings.catalog, worker.pipeline_config(), encoder),
        encoder=encoder,
        tables=tables,
        directory=AgentDirectory(),
        delivery=delivery_for(worker.processing_guarantee, app),
        dedupe_window_ms=worker.dedupe_window_ms,
        directory_timeout_s=worker.directory_timeout_ms / 1000,
        restore=restore,
        seek=seek,
        suspects=SuspectLog(settings, app_id),
        on_failure=lambda exc: asyncio.ensure_future(crash(app, exc)),  # type: ignore[arg-type]
    )


async def crash(app: faust.App, exc: BaseException) -> None:
    """Stop the worker on ``exc``. Raised again here so that the crash is logged (by Faust's
    ``log.exception``) with its traceback instead of ``NoneType: None``."""
    try:
        raise exc
    except BaseException:
        await app.crash(exc)


def build_app(settings: Settings, worker: WorkerSettings) -> faust.App:
    """The worker's Faust app, ready for ``faust.Worker``."""
    # Faust creates only the last path component; a fresh checkout has no .regstream/ yet.
    worker.data_dir.parent.mkdir(parents=True, exist_ok=True)
    app = faust.App(worker.resolved_app_id(settings), **faust_settings(settings, worker))
    codec = codec_for(settings.wire_format, settings.schema_registry_url)
    source = app.topic(
        *(settings.catalog.input_topic(t) for t in EVENT_TYPES),
        key_serializer="raw",
        value_serializer="raw",
        acks=False,
    )
    runtime = build_runtime(app, settings, worker)
    app.service(DirectoryReader(settings, runtime.directory))  # type: ignore[arg-type]

    latency = BatchLatency()

    async def handle(records: Records) -> None:
        started = time.monotonic()
        await runtime.handle([from_record(record, codec) for record in records])
        latency.observe(time.monotonic() - started)

    deliver_batches(app, handle)

    @app.agent(source, name=AGENT_NAME, concurrency=1)
    async def pipeline(stream: Any) -> None:
        """Subscribes the consumer to the input topics; records go to ``handle`` instead."""
        async for _ in stream:
            raise RuntimeError(
                "an input record reached the Faust stream: is the broker URL regstream://?"
            )

    async def on_rebalance_complete(sender: Any, **_: Any) -> None:
        # Next Faust resumes the stream partitions, seeks them to the committed offsets and then
        # clears its queues, while its fetcher may already be fetching them: records fetched in
        # between are cleared after the seek and never fetched again. Stopping the flow here makes
        # the fetcher wait for Faust's own resume_flow(), which follows the seek and the clearing.
        # (The position guard would catch the hole anyway; this keeps it from opening.)
        app.consumer.stop_flow()

    async def on_revoked(sender: Any, revoked: set[Any], **_: Any) -> None:
        await runtime.on_revoked({(tp.topic, tp.partition) for tp in revoked})

    async def on_assigned(sender: Any, assigned: set[Any], **_: Any) -> None:
        runtime.on_assigned()

    app.on_rebalance_complete.connect(on_rebalance_complete)  # type: ignore[arg-type]
    app.on_partitions_assigned.connect(on_assigned)  # type: ignore[arg-type]
    app.on_partitions_revoked.connect(on_revoked)  # type: ignore[arg-type]
    app.timer(HOLE_RETRY_S)(runtime.tick)

    if worker.web_enabled:

        def is_input(topic: str) -> bool:
            return bool(settings.catalog.event_type_of(topic)) and not settings.catalog.is_live(
                topic
            )

        @app.page("/metrics")
        async def metrics(web: Any, request: Any) -> Any:
            lag = await consumer_lag(app.consumer, is_input)
            text = render(runtime.counter, runtime.gauges(), lag, latency)
            return web.text(text)

        @app.page("/healthz")
        async def healthz(web: Any, request: Any) -> Any:
            return web.json({"status": "ok"})

        @app.page("/readyz")
        async def readyz(web: Any, request: Any) -> Any:
            return web.json({"ready": runtime.ready}, status=200 if runtime.ready else 503)

    return app
