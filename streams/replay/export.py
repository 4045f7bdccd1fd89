"""The export engine behind ``regstream replay``: plan → access audit → read → rows → file.

Steps, in this order on purpose:

1. Resolve the plan (per-partition offsets) — or take it from the checkpoint when resuming, so a
   resumed export covers exactly the offsets the first run promised.
2. Record the access in the audit topic. Nothing is read before that record is acknowledged.
3. Read partitions in ascending order, each in offset order (see :mod:`streams.replay.source`),
   decode each record into rows, filter, write. Output order is therefore fixed: partition, then
   offset, then index in the batch.
4. Checkpoint as described in :mod:`streams.replay.checkpoint`; remove the checkpoint at the end.

A bad record is reported through ``on_bad`` and skipped, or — with ``on_error="fail"`` — the
export checkpoints just before it and stops with :class:`ExportFailed`; running again with
skipping enabled continues from there.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

from aiokafka import AIOKafkaConsumer, ConsumerRecord

from schemas.access import AccessEntry, Action, Via
from schemas.contract import ACCESS_AUDIT
from schemas.formats import codec_for
from streams.access_log import record_access
from streams.errors import StreamsError
from streams.replay.checkpoint import (
    Checkpoint,
    durable_length,
    load_checkpoint,
    open_output,
    remove_checkpoint,
    save_checkpoint,
)
from streams.replay.fieldcheck import check_filter
from streams.replay.filters import RowFilter
from streams.replay.progress import NoProgress, ProgressSink
from streams.replay.ranges import OffsetRange, check_range, parse_bound
from streams.replay.rows import BadRecord, Row, RowDecoder
from streams.replay.source import Lost, describe_topic, read_plan, resolve_plan, start_consumer
from streams.replay.writers import RowWriter, check_format, open_writer
from streams.settings import Settings

OnError = Literal["fail", "skip"]
CHECKPOINT_EVERY = 10_000


class ExportFailed(StreamsError, RuntimeError):
    """A bad record stopped the export (``on_error="fail"``); ``bad`` says which and why."""

    def __init__(self, bad: BadRecord) -> None:
        super().__init__(str(bad))
        self.bad = bad


@dataclass(frozen=True, slots=True)
class ExportJob:
    """What is exported; two runs with equal jobs write identical bytes."""

    topic: str
    format: str
    event_type: str | None
    lower: str = "earliest"
    upper: str = "latest"
    where: tuple[str, ...] = ()
    checkpoint_every: int = CHECKPOINT_EVERY


@dataclass(frozen=True, slots=True)
class Reporter:
    """Where the engine tells a person what happens (the CLI prints; tests collect)."""

    on_bad: Callable[[BadRecord], None] = lambda bad: None
    on_lost: Callable[[Lost], None] = lambda lost: None
    on_resume: Callable[[Checkpoint], None] = lambda saved: None
    progress: ProgressSink = field(default_factory=NoProgress)


def infer_event_type(settings: Settings, topic: str) -> str | None:
    """The row type of a topic the catalog knows: its event type, or AccessAuditEntry."""
    if topic == settings.audit_topic:
        return ACCESS_AUDIT
    return settings.catalog.event_type_of(topic)


async def export(
    settings: Settings,
    job: ExportJob,
    *,
    subject: str,
    out: Path | None = None,
    checkpoint: Path | None = None,
    on_error: OnError = "fail",
    reporter: Reporter | None = None,
) -> Checkpoint:
    """Run (or resume) ``job`` into ``out`` (stdout when None); return the final counters.

    ``checkpoint`` makes the export resumable and needs ``out``: an existing checkpoint file is
    resumed, a missing one started. Usage errors (format, bounds, filters, a checkpoint of
    another job) raise ``ValueError`` before anything is read or recorded.
    """
    reporter = reporter or Reporter()
    check_format(job.format, job.event_type)
    row_filter = RowFilter(job.where)
    if job.event_type is not None:
        check_filter(row_filter, job.event_type)
    lower, upper = parse_bound(job.lower), parse_bound(job.upper)
    check_range(lower, upper)
    decode = RowDecoder(
        codec_for(settings.wire_format, settings.schema_registry_url), job.event_type
    )
    identity = asdict(job) | {"where": list(job.where)}
    saved = load_checkpoint(checkpoint) if checkpoint else None
    if saved is not None:
        saved.check_job(identity)
        reporter.on_resume(saved)
    consumer = await start_consumer(settings)
    try:
        if saved is None:
            layout = await describe_topic(settings, job.topic)
            plan, _ = await resolve_plan(consumer, job.topic, layout.partitions, lower, upper)
            state = Checkpoint.start(identity, plan)
        else:
            state = saved
        handle = open_output(out, state.length) if out else sys.stdout.buffer
        try:
            if checkpoint is not None and saved is None:
                save_checkpoint(checkpoint, state)
            await record_access(settings, _access(job, state.plan, subject, out, saved is not None))
            writer = open_writer(job.format, handle, job.event_type, resume=state.length > 0,
                                 sync_marker=state.sync_marker())  # fmt: skip

            def persist() -> None:
                writer.flush()
                if checkpoint is not None:
                    state.length = durable_length(handle)
                    save_checkpoint(checkpoint, state)

            await _copy(consumer, job, state, decode.rows, writer, row_filter, persist, on_error,
                        reporter)  # fmt: skip
            persist()
        finally:
            if out:
                handle.close()
    finally:
        await consumer.stop()
    if checkpoint is not None:
        remove_checkpoint(checkpoint)
    return state


async def _copy(
    consumer: AIOKafkaConsumer,
    job: ExportJob,
    state: Checkpoint,
    decode: Callable[[ConsumerRecord[bytes, bytes]], list[Row]],
    writer: RowWriter,
    row_filter: RowFilter,
    persist: Callable[[], None],
    on_error: OnError,
    reporter: Reporter,
) -> None:
    """The hot loop: every record of the plan from ``state.next`` on, into ``writer``."""
    write, keep = writer.write, (row_filter.matches if row_filter else None)
    plan, every, progress = state.plan, job.checkpoint_every, reporter.progress
    position = dict(state.next)  # what the progress bar has counted, per partition
    progress.start(job.topic, sum(r.size for r in plan.values()),
                   sum(position[p] - r.start for p, r in plan.items()))  # fmt: skip
    since = 0
    try:
        async for item in read_plan(consumer, job.topic, plan, state.next):
            partition = item.partition
            if isinstance(item, Lost):
                reporter.on_lost(item)
                state.lost += item.end - item.first
                next_offset = item.end
            else:
                for record in item.records:
                    try:
                        rows = decode(record)
                    except BadRecord as bad:
                        if on_error == "fail":
                            state.next[partition] = record.offset
                            persist()
                            raise ExportFailed(bad) from bad
                        reporter.on_bad(bad)
                        state.bad += 1
                        rows = []
                    for row in rows:
                        if keep is None or keep(row):
                            write(row)
                            state.rows += 1
                        else:
                            state.filtered += 1
                    state.records += 1
                    since += 1
                    if since >= every:
                        state.next[partition] = record.offset + 1
                        persist()
                        since = 0
                next_offset = item.next_offset
            progress.advance(next_offset - position[partition])
            position[partition] = state.next[partition] = next_offset
            if next_offset >= plan[partition].end:
                persist()
                since = 0
    finally:
        progress.stop()


def _access(
    job: ExportJob, plan: dict[int, OffsetRange], subject: str, out: Path | None, resumed: bool
) -> AccessEntry:
    details = {
        "from": job.lower,
        "to": job.upper,
        "format": job.format,
        "output": str(out) if out else "-",
        "host": socket.gethostname(),
        "resumed": "true" if resumed else "false",
    }
    if job.where:
        details["where"] = " AND ".join(job.where)
    return AccessEntry(
        subject=subject,
        action=Action.REPLAY,
        via=Via.CLI,
        topic=job.topic,
        range_from={p: r.start for p, r in plan.items()},
        range_to={p: r.end for p, r in plan.items()},
        details=details,
    )
