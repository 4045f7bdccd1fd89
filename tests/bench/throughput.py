"""Throughput runs of ``make bench-pipeline``: each contender drains the same input, alone.

The input (``count`` events of the six types, 6 partitions per topic) is produced once, ahead, by
a load-generator process. Each run then starts one contender — the regstream worker (one or two
``regstream worker`` processes), the quix-streams app, the raw aiokafka copy, or a Faust agent that
does nothing — with a fresh consumer group and output topics of its own, waits until the group's
committed offsets cover the whole input, and times it:

- worker and quix from the earliest ``processed_at`` in their output to the latest output record's
  timestamp (start-up excluded, the same rule for both);
- the raw copy and the Faust agent time themselves (first fetched record to last commit).

Meanwhile the orchestrator only samples CPU: every run reports the cores its contender, the broker
JVM and every other process of the machine used over the timed span.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from schemas.catalog import TopicSpec
from schemas.codec import AvroCodec
from schemas.contract import EVENT_TYPES
from streams.kafka import committed_consumer
from streams.settings import Settings
from streams.topics import create_topics
from streams.worker.reading import read_to_end
from tests.bench.children import child, loadgen, python_module
from tests.bench.machine import CpuSampler, Usage
from tests.bench.quix_env import quix_argv, quix_env
from tests.integration.helpers import settings_env
from tests.integration.test_worker_harness import Workers, running_workers

DRAIN_TIMEOUT_S = 900


@dataclass(frozen=True)
class Context:
    """What every run of one benchmark shares: the broker, the input, where logs go."""

    bootstrap: str
    inputs: str
    count: int
    directory: Path
    sampler: CpuSampler

    def settings(self, tag: str, inputs: str | None = None) -> Settings:
        """The shared input topics (or those of ``inputs``); outputs of this run only."""
        return Settings(
            bootstrap_servers=self.bootstrap,
            input_prefix=f"{inputs or self.inputs}.events.",
            live_prefix=f"{tag}.live.",
            dlq_topic=f"{tag}.dlq",
            agents_topic=f"{self.inputs}.ref.agents",
            audit_topic=f"{tag}.audit",
        )


@dataclass(frozen=True)
class Run:
    contender: str
    guarantee: str
    events: int
    seconds: float
    usage: Usage

    @property
    def rate(self) -> float:
        return self.events / self.seconds

    def cpu_us_per_event(self, process: str) -> float:
        return self.usage.processes.get(process, 0.0) * self.seconds / self.events * 1e6


async def produce_input(context: Context) -> None:
    settings = context.settings(context.inputs)
    await create_topics(settings)
    config = {"bootstrap": context.bootstrap, "input_prefix": settings.input_prefix}
    async with child(
        "fill", loadgen("fill", {**config, "count": context.count}), context.directory
    ) as filler:
        await filler.result()


async def committed(bootstrap: str, group: str, topics: set[str]) -> int:
    """Sum of ``group``'s committed offsets on ``topics`` (0 while it has none)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    except KafkaError as exc:
        if exc.retriable:
            return 0
        raise
    finally:
        await admin.close()
    return sum(
        meta.offset for tp, meta in offsets.items() if tp.topic in topics and meta.offset > 0
    )


async def wait_drained(context: Context, group: str, alive: Any) -> None:
    inputs = {context.settings("-").catalog.input_topic(t) for t in EVENT_TYPES}
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    while await committed(context.bootstrap, group, inputs) < context.count:
        if time.monotonic() > deadline or not alive():
            raise RuntimeError(f"{group} did not drain {context.count} events")
        await asyncio.sleep(0.5)


async def span_of_outputs(
    settings: Settings, topics: list[str], json_output: bool
) -> tuple[int, float, float]:
    """(events, first processed_at, last output timestamp), epoch seconds, from the outputs."""
    codec = AvroCodec()
    consumer = committed_consumer(settings, *topics, max_partition_fetch_bytes=8 << 20)
    await consumer.start()
    events, first_ms, last_ms = 0, float("inf"), 0.0
    try:
        async for message in read_to_end(consumer, timeout_s=300):
            if json_output:
                items = [orjson.loads(message.value)]
            else:
                items = codec.decode(message.value)[1]["events"]
            events += len(items)
            first_ms = min(first_ms, *(e["enrichment"]["processed_at"] for e in items))
            last_ms = max(last_ms, message.timestamp)
    finally:
        await consumer.stop()
    return events, first_ms / 1000, last_ms / 1000


def _run(
    context: Context, contender: str, guarantee: str, events: int, first: float, last: float
) -> Run:
    return Run(contender, guarantee, events, last - first, context.sampler.usage(first, last))


@asynccontextmanager
async def worker_processes(
    context: Context, settings: Settings, guarantee: str, app_id: str, names: list[str]
) -> AsyncIterator[Workers]:
    """``regstream worker`` processes in group ``app_id``, one per name, CPU sampled by name."""
    env = settings_env(settings)
    env.update(
        {
            "REGSTREAM_WORKER_APP_ID": app_id,
            "REGSTREAM_WORKER_PROCESSING_GUARANTEE": guarantee,
            "REGSTREAM_WORKER_DATA_DIR": str(context.directory / app_id),
            "REGSTREAM_WORKER_LOG_LEVEL": "warning",
        }
    )
    with running_workers(env, context.directory) as workers:
        for name in names:
            context.sampler.watch(name, workers.start(name).process.pid)
        try:
            yield workers
        finally:
            for name in names:
                context.sampler.unwatch(name)


async def run_worker(context: Context, guarantee: str, processes: int = 1) -> Run:
    """``processes`` regstream workers in one group drain the input."""
    tag = f"w{uuid.uuid4().hex[:8]}"
    settings = context.settings(tag)
    await create_topics(settings)
    app_id = f"bench-{tag}"
    names = [f"worker-{chr(97 + n)}" if processes > 1 else "worker" for n in range(processes)]
    async with worker_processes(context, settings, guarantee, app_id, names) as workers:
        try:
            await wait_drained(context, app_id, lambda: all(w.alive for w in workers.started))
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}\n{workers.logs()}") from None
        live = [settings.catalog.live_topic(t) for t in EVENT_TYPES]
        events, first, last = await span_of_outputs(settings, live, json_output=False)
    contender = "worker" if processes == 1 else f"{processes} workers"
    return _run(context, contender, guarantee, events, first, last)


async def run_quix(context: Context, guarantee: str) -> Run:
    tag = f"q{uuid.uuid4().hex[:8]}"
    settings = context.settings(tag)
    output = f"{tag}.quix.live"
    # quix gives an output record its input's timestamp: the broker's append time says when
    # it was written, which is what the span needs
    append_time = {"message.timestamp.type": "LogAppendTime"}
    await create_topics(settings, [TopicSpec(output, settings.partitions, 1, append_time)])
    group = f"bench-{tag}"
    argv = quix_argv(settings, output, group, guarantee, context.directory / tag)
    env = quix_env(settings_env(settings))
    async with child("quix", argv, context.directory, context.sampler, env) as app:
        try:
            await wait_drained(context, group, lambda: app.process.returncode is None)
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}\n{app.tail()}") from None
        events, first, last = await span_of_outputs(settings, [output], json_output=True)
    return _run(context, "quix-streams", guarantee, events, first, last)


async def run_raw(context: Context, guarantee: str) -> Run:
    tag = f"r{uuid.uuid4().hex[:8]}"
    settings = context.settings(tag)
    sink = f"{tag}.raw-sink"
    await create_topics(settings, [TopicSpec(sink, settings.partitions, 1)])
    config = {
        "bootstrap": context.bootstrap,
        "input_prefix": settings.input_prefix,
        "count": context.count,
        "sink": sink,
        "guarantee": guarantee,
    }
    argv = python_module("tests.bench.rawcopy", orjson.dumps(config).decode())
    async with child("raw copy", argv, context.directory, context.sampler) as copy:
        result = await copy.result(DRAIN_TIMEOUT_S)
    return _run(context, "raw copy", guarantee, result["events"], result["first"], result["last"])


async def run_floor(context: Context) -> Run:
    """A Faust agent doing nothing but ``take_events()``: Faust's own ceiling on this machine."""
    config = {
        "bootstrap": context.bootstrap,
        "input_prefix": context.settings("-").input_prefix,
        "count": context.count,
        "app_id": f"floor-{uuid.uuid4().hex[:8]}",
    }
    argv = python_module("tests.bench.faust_floor", orjson.dumps(config).decode())
    async with child("faust agent", argv, context.directory, context.sampler) as agent:
        result = await agent.result(DRAIN_TIMEOUT_S)
    return _run(context, "faust agent", "none", result["events"], result["first"], result["last"])
