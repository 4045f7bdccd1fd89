"""make bench-pipeline: worker events/s beside a raw aiokafka copy of the same bytes, per guarantee;
and the worker's latency at steady rates (1,000/s, the target, and 200/s).

Throughput: the input (all six types, ``EVENTS`` records) is produced ahead. For each guarantee,
alternately, a raw aiokafka consume→produce loop copies the same records' bytes to a sink topic
(at-least-once: idempotent producer, offsets committed per fetched batch; exactly-once: one
transaction per fetched batch with the offsets in it), and the worker (a real ``regstream worker``
subprocess with a fresh group and its own output topics) drains the same input. Both are timed
from the first record processed to the last one delivered, so start-up is excluded for both:
the raw copy from its first fetch to its last commit, the worker from the earliest
``processed_at`` in its output to the last output record's timestamp.

Latency, on a fresh broker per rate and guarantee: a worker runs idle, then events are produced
one by one at the rate, the first ``WARMUP_SECONDS`` of them unmeasured; a ``read_committed``
consumer of ``live.*`` takes, per event, the time it became readable minus the input record's
Kafka timestamp (``enrichment.ingested_at``). That includes the batch window,
processing, the commit and both Kafka hops; the target is on p99 minus the batch window.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from schemas.catalog import TopicSpec
from schemas.codec import AvroCodec
from schemas.contract import EVENT_TYPES, partition_key
from streams.kafka import committed_consumer, reliable_producer
from streams.producer import EventProducer
from streams.samples import SampleEvents
from streams.settings import Settings
from streams.topics import create_topics
from streams.worker.config import WorkerSettings
from streams.worker.ledger import read_counts
from streams.worker.reading import read_to_end
from tests.bench.harness import bench_broker, median, record
from tests.integration.helpers import settings_env
from tests.integration.test_worker_harness import running_workers

EVENTS = 30_000
REPEATS = 2
RATES = (1_000, 200)
"""The target rate, and a rate the worker is far from saturated at (its latency floor)."""
LATENCY_SECONDS = 15
WARMUP_SECONDS = 5
"""Sent at the rate before the measured seconds, and not measured: the first seconds of a new
worker include loading metadata and state for every partition on its first records."""
GUARANTEES = ("at_least_once", "exactly_once")
WINDOW_MS = WorkerSettings().batch_within_ms
ENCODER = AvroCodec()


def run_settings(bootstrap: str, tag: str, inputs: str) -> Settings:
    """Shared input topics, outputs of this run only."""
    return Settings(
        bootstrap_servers=bootstrap,
        input_prefix=f"{inputs}.events.",
        live_prefix=f"{tag}.live.",
        dlq_topic=f"{tag}.dlq",
        agents_topic=f"{inputs}.ref.agents",
        audit_topic=f"{tag}.audit",
    )


async def produce_input(settings: Settings, count: int) -> None:
    samples = SampleEvents(seed=3, source="bench")
    records = [samples.any() for _ in range(count)]
    async with EventProducer(settings) as sdk:
        for start in range(0, count, 5_000):
            chunk = records[start : start + 5_000]
            for event_type in EVENT_TYPES:
                await sdk.send_many(event_type, [r for t, r in chunk if t == event_type])


async def raw_copy(settings: Settings, guarantee: str, count: int) -> float:
    """Events/s of a plain consume → produce copy of the input bytes."""
    group = f"raw-{uuid.uuid4().hex[:8]}"
    sink = f"{settings.live_prefix}raw-sink"
    await create_topics(settings, [TopicSpec(sink, settings.partitions, 1)])
    consumer = AIOKafkaConsumer(
        *(settings.catalog.input_topic(t) for t in EVENT_TYPES),
        bootstrap_servers=settings.bootstrap_servers,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        max_partition_fetch_bytes=4 << 20,
    )
    transactional = guarantee == "exactly_once"
    producer: AIOKafkaProducer = reliable_producer(
        settings, transactional_id=f"{group}-tx" if transactional else None
    )
    await consumer.start()
    await producer.start()
    copied, started = 0, 0.0
    try:
        while copied < count:
            batches = await consumer.getmany(timeout_ms=500, max_records=2_000)
            if not batches:
                continue
            started = started or time.perf_counter()
            if transactional:
                await producer.begin_transaction()
            futures = [
                await producer.send(sink, m.value, key=m.key, partition=tp.partition)
                for tp, messages in batches.items()
                for m in messages
            ]
            await asyncio.gather(*futures)
            offsets = {tp: messages[-1].offset + 1 for tp, messages in batches.items()}
            if transactional:
                await producer.send_offsets_to_transaction(offsets, group)
                await producer.commit_transaction()
            else:
                await consumer.commit(offsets)
            copied += sum(len(m) for m in batches.values())
        return copied / (time.perf_counter() - started)
    finally:
        await consumer.stop()
        await producer.stop()


def worker_env(settings: Settings, guarantee: str, app_id: str, data: Path) -> dict[str, str]:
    env = settings_env(settings)
    env.update(
        {
            "REGSTREAM_WORKER_APP_ID": app_id,
            "REGSTREAM_WORKER_PROCESSING_GUARANTEE": guarantee,
            "REGSTREAM_WORKER_DATA_DIR": str(data),
            "REGSTREAM_WORKER_LOG_LEVEL": "warning",
        }
    )
    return env


async def output_span(settings: Settings) -> tuple[int, float]:
    """(events, seconds from the first processing to the last output record)."""
    codec = AvroCodec()
    consumer = committed_consumer(
        settings,
        *(settings.catalog.live_topic(t) for t in EVENT_TYPES),
        max_partition_fetch_bytes=8 << 20,
    )
    await consumer.start()
    events, first_ms, last_ms = 0, None, 0
    try:
        async for message in read_to_end(consumer):
            _, batch = codec.decode(message.value)
            events += len(batch["events"])
            first = min(e["enrichment"]["processed_at"] for e in batch["events"])
            first_ms = first if first_ms is None else min(first_ms, first)
            last_ms = max(last_ms, message.timestamp)
    finally:
        await consumer.stop()
    return events, (last_ms - (first_ms or last_ms)) / 1000


async def worker_run(settings: Settings, guarantee: str, count: int, directory: Path) -> float:
    """Events/s of a worker draining the produced input into its own output topics."""
    app_id = f"bench-{uuid.uuid4().hex[:8]}"
    with running_workers(
        worker_env(settings, guarantee, app_id, directory / app_id), directory
    ) as workers:
        workers.start(app_id)
        deadline = time.monotonic() + 600
        while sum((await read_counts(settings, app_id)).values()) < count:
            if time.monotonic() > deadline or not workers.started[0].alive:
                raise RuntimeError(f"worker did not drain {count} events:\n{workers.logs()}")
            await asyncio.sleep(1)
    events, seconds = await output_span(settings)
    return events / seconds


async def latency(
    settings: Settings, guarantee: str, rate: int, directory: Path
) -> tuple[float, float, int]:
    """(p50 ms, p99 ms, events) from input append to readable in live.*, at ``rate`` events/s."""
    app_id = f"lat-{uuid.uuid4().hex[:8]}"
    codec = AvroCodec()
    topics = [settings.catalog.live_topic(t) for t in EVENT_TYPES]
    with running_workers(
        worker_env(settings, guarantee, app_id, directory / app_id), directory
    ) as workers:
        workers.start(app_id)
        reader = committed_consumer(settings, *topics)
        await reader.start()
        samples = SampleEvents(seed=9, source="latency")
        latencies: list[tuple[int, float]] = []
        producer = reliable_producer(settings, linger_ms=0)
        await producer.start()
        try:
            topic, key, value = _encoded(settings, samples.next("DecisionMade"))
            await producer.send_and_wait(topic, value, key=key)
            while not latencies:  # the worker is up
                await collect(reader, codec, latencies)
            latencies.clear()
            total = rate * (WARMUP_SECONDS + LATENCY_SECONDS)
            measured_from_ms = (time.time() + WARMUP_SECONDS) * 1000

            async def send_steadily() -> None:
                """``rate`` events/s on a fixed schedule; acknowledgements are not waited for."""
                interval, next_at, pending = 1 / rate, time.monotonic(), []
                for _ in range(total):
                    topic, key, value = _encoded(settings, samples.any()[1])
                    pending.append(await producer.send(topic, value, key=key))
                    next_at += interval
                    await asyncio.sleep(max(0.0, next_at - time.monotonic()))
                await asyncio.gather(*pending)

            sender = asyncio.create_task(send_steadily())
            deadline = time.monotonic() + WARMUP_SECONDS + LATENCY_SECONDS + 120
            try:
                while not sender.done() or len(latencies) < total:
                    if time.monotonic() > deadline:
                        raise RuntimeError(
                            f"only {len(latencies)} events arrived:\n{workers.logs()}"
                        )
                    await collect(reader, codec, latencies)
                    if sender.done() and sender.exception():
                        raise sender.exception()  # type: ignore[misc]
            finally:
                sender.cancel()
        finally:
            await producer.stop()
            await reader.stop()
    measured = [latency for sent_ms, latency in latencies if sent_ms >= measured_from_ms]
    cuts = statistics.quantiles(measured, n=100)
    print(
        f"{guarantee}: p50 {cuts[49]:.1f} p90 {cuts[89]:.1f} p99 {cuts[98]:.1f} max {max(measured):.1f} ms",
        flush=True,
    )
    return cuts[49], cuts[98], len(measured)


def _encoded(settings: Settings, record: dict[str, Any]) -> tuple[str, bytes, bytes]:
    """(topic, key, value) as the producer SDK would send it."""
    event_type = record["metadata"]["event_type"]
    key = partition_key(event_type, record).encode()
    return settings.catalog.input_topic(event_type), key, ENCODER.encode(event_type, record)


async def collect(
    reader: AIOKafkaConsumer, codec: AvroCodec, latencies: list[tuple[int, float]]
) -> None:
    """(input timestamp, ms from it until readable) of every event the reader finds now."""
    batches = await reader.getmany(timeout_ms=200)
    now_ms = time.time() * 1000
    for messages in batches.values():
        for message in messages:
            _, batch = codec.decode(message.value)
            for event in batch["events"]:
                ingested = event["enrichment"]["ingested_at"]
                latencies.append((ingested, now_ms - ingested))


FLOOR_MARK = "FAUST-FLOOR"


def faust_floor(bootstrap: str, input_prefix: str, app_id: str, count: int) -> None:
    """Subprocess: a Faust agent doing nothing but take_events() over the same input topics.

    The ceiling any Faust-based worker has on this machine: prints the events/s and exits.
    """
    import faust
    from faust.worker import Worker

    app = faust.App(
        app_id,
        broker=f"kafka://{bootstrap}",
        topic_disable_leader=True,
        consumer_auto_offset_reset="earliest",
        table_standby_replicas=1,
        web_enabled=False,
    )
    settings = Settings(bootstrap_servers=bootstrap, input_prefix=input_prefix)
    source = app.topic(
        *(settings.catalog.input_topic(t) for t in EVENT_TYPES),
        key_serializer="raw",
        value_serializer="raw",
    )
    seen = {"n": 0, "first": 0.0}

    @app.agent(source)
    async def drain(stream: Any) -> None:
        async for events in stream.take_events(500, within=WINDOW_MS / 1000):
            seen["first"] = seen["first"] or time.perf_counter()
            seen["n"] += len(events)
            if seen["n"] >= count:
                rate = seen["n"] / (time.perf_counter() - seen["first"])
                print(f"{FLOOR_MARK} {rate:.0f}", flush=True)
                os._exit(0)

    runner = Worker(app, loglevel="warning", quiet=True, redirect_stdouts=False)
    runner.spinner = None
    runner.execute_from_commandline()


async def faust_floor_run(settings: Settings, count: int) -> float:
    app_id = f"floor-{uuid.uuid4().hex[:8]}"
    args = [settings.bootstrap_servers, settings.input_prefix, app_id, str(count)]
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.bench.pipeline", "faust-floor", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        output, _ = await asyncio.wait_for(process.communicate(), 600)
    finally:
        if process.returncode is None:
            process.kill()
    for line in output.decode().splitlines():
        if line.startswith(FLOOR_MARK):
            return float(line.split()[1])
    raise RuntimeError("the Faust floor run printed no rate")


async def throughput(bootstrap: str) -> tuple[list[str], float, float]:
    """(table rows per guarantee, Faust floor events/s, best raw copy events/s)."""
    inputs = f"b{uuid.uuid4().hex[:6]}"
    base = run_settings(bootstrap, inputs, inputs)
    await create_topics(base)
    await produce_input(base, EVENTS)
    rows: list[str] = []
    raw_best = 0.0
    floor = median([await faust_floor_run(base, EVENTS) for _ in range(REPEATS)])
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp:
        for guarantee in GUARANTEES:
            raw_rates, worker_rates = [], []
            for repeat in range(REPEATS):
                tag = f"{inputs}-{guarantee[:3]}{repeat}"
                settings = run_settings(bootstrap, tag, inputs)
                await create_topics(settings)
                raw_rates.append(await raw_copy(settings, guarantee, EVENTS))
                worker_rates.append(await worker_run(settings, guarantee, EVENTS, Path(tmp)))
            raw, worker = median(raw_rates), median(worker_rates)
            raw_best = max(raw_best, raw)
            rows.append(f"| {guarantee} | {raw:,.0f} | {worker:,.0f} | **{worker / raw:.2f}** |")
    return rows, floor, raw_best


async def latency_row(bootstrap: str, rate: int, guarantee: str) -> str:
    tag = f"lat{rate}-{guarantee[:3]}"
    settings = run_settings(bootstrap, tag, tag)
    await create_topics(settings)
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp:
        p50, p99, n = await latency(settings, guarantee, rate, Path(tmp))
    return (
        f"| {rate:,}/s | {guarantee} | {p50:.1f} | {p99:.1f} | **{p99 - WINDOW_MS:.1f}** | {n:,} |"
    )


def main() -> None:
    """Each measurement on a broker of its own: what one left behind (compaction of its
    changelogs, hundreds of partitions) must not slow the next."""
    with bench_broker() as bootstrap:
        rows, floor, raw_best = asyncio.run(throughput(bootstrap))
    lat_rows = []
    for rate in RATES:
        for guarantee in GUARANTEES:
            with bench_broker() as bootstrap:
                lat_rows.append(asyncio.run(latency_row(bootstrap, rate, guarantee)))
    record(
        "pipeline",
        "make bench-pipeline",
        f"""
Throughput: {EVENTS:,} events produced ahead (six types, 6 partitions each), median of {REPEATS}
runs, each timed from the first record processed to the last one delivered.

| guarantee | raw aiokafka copy, events/s | regstream worker, events/s | worker / raw (target ≥ 0.5) |
|---|---|---|---|
{chr(10).join(rows)}

For scale: a Faust agent that does nothing but `take_events(500, within=20 ms)` over the same
input drains {floor:,.0f} events/s ({floor / max(1.0, raw_best):.2f} of the best raw copy) — the
ceiling of any Faust agent on this machine, set by Faust's per-message dispatch.

Latency, {LATENCY_SECONDS} s at each rate after {WARMUP_SECONDS} s of warm-up at it, each on a fresh
broker: input record appended → readable in `live.*` (read_committed), batch window {WINDOW_MS} ms. The target is at 1,000 events/s; the lower rate
shows the latency of a worker that is not saturated.

| rate | guarantee | p50 ms | p99 ms | p99 − window ms (target ≤ 30) | events |
|---|---|---|---|---|---|
{chr(10).join(lat_rows)}
""",
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["faust-floor"]:
        faust_floor(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
    else:
        main()
