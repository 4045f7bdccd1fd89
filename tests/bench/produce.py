"""make bench-produce: producer SDK events/s beside raw aiokafka sending the same encoded bytes.

All use the same producer configuration (idempotent, acks=all, the same linger and batch size)
and wait for every acknowledgement. Two baselines send the SDK's own encoded bytes with the same
keys: aiokafka's ``send`` per record (what a hand-written producer does; the target is measured
against it), and one record batch per partition (``send_batch``, what the SDK itself does since
it builds batches), so the second ratio is exactly what validation, encoding and the per-record
results cost. The machine must be idle (:func:`tests.bench.machine.check_idle`); the CPU the
broker and other processes used meanwhile is reported.
"""

from __future__ import annotations

import asyncio
import time
import uuid

from schemas.contract import EVENT_TYPES
from streams.batching import Outgoing, send_records
from streams.kafka import reliable_producer
from streams.producer import EventProducer
from streams.samples import SampleEvents
from streams.settings import Settings
from streams.topics import create_topics
from tests.bench.harness import bench_cluster, median, record, spread, timed
from tests.bench.machine import CpuSampler, MachineState, check_idle

EVENTS = 60_000
REPEATS = 3
CHUNK = 2_000


async def main(bootstrap: str, state: MachineState, sampler: CpuSampler) -> None:
    settings = Settings(bootstrap_servers=bootstrap, input_prefix=f"b{uuid.uuid4().hex[:6]}.")
    await create_topics(settings)
    samples = SampleEvents(seed=1)
    by_type = [(t, samples.next(t)) for _ in range(EVENTS // len(EVENT_TYPES)) for t in EVENT_TYPES]

    async with EventProducer(settings) as sdk:
        started = time.perf_counter()
        encoded = [sdk.encode(t, r) for t, r in by_type]
        encode_us = (time.perf_counter() - started) / len(by_type) * 1e6

        async def run_sdk() -> int:
            for start in range(0, len(by_type), CHUNK):
                chunk = by_type[start : start + CHUNK]
                for event_type in EVENT_TYPES:
                    await sdk.send_many(event_type, [r for t, r in chunk if t == event_type])
            return len(by_type)

        raw = reliable_producer(settings)
        await raw.start()
        try:

            async def run_raw() -> int:
                for start in range(0, len(encoded), CHUNK):
                    futures = [
                        await raw.send(topic, value, key=key)
                        for topic, key, value in encoded[start : start + CHUNK]
                    ]
                    await asyncio.gather(*futures)
                return len(encoded)

            async def run_batches() -> int:
                for start in range(0, len(encoded), CHUNK):
                    chunk = encoded[start : start + CHUNK]
                    await send_records(raw, [Outgoing(t, None, k, v) for t, k, v in chunk])
                return len(encoded)

            sdk_rates, raw_rates, batch_rates = [], [], []
            await run_raw()  # warm-up: connections, metadata, JIT-free but cache-warm
            started = time.time()
            for _ in range(REPEATS):
                raw_rates.append(await timed(run_raw))
                batch_rates.append(await timed(run_batches))
                sdk_rates.append(await timed(run_sdk))
            usage = sampler.usage(started, time.time())
        finally:
            await raw.stop()

    sdk_rate, raw_rate, batch_rate = median(sdk_rates), median(raw_rates), median(batch_rates)
    record(
        "produce",
        "make bench-produce",
        f"""
{state.describe()}. While measuring, the broker used {usage.processes.get("broker", 0.0):.2f}
cores and processes outside the benchmark {usage.others or 0.0:.2f} cores.

| producer | events/s, median (min-max) of {REPEATS} × {len(by_type):,} |
|---|---|
| raw aiokafka `send` per record, pre-encoded bytes (baseline) | {spread(raw_rates)} |
| raw aiokafka, pre-encoded bytes, one record batch per partition | {spread(batch_rates)} |
| regstream SDK `send_many` (validate + encode + key + batch + a result per record) | {spread(sdk_rates)} |

Ratio SDK / raw `send`: **{sdk_rate / raw_rate:.2f}** (target ≥ 0.6).
Ratio SDK / raw batches: **{sdk_rate / batch_rate:.2f}**: what validation and encoding cost.

Validating and encoding one event costs {encode_us:.0f} µs in this run; aiokafka's `send` costs
{1e6 / raw_rate:.0f} µs per record (metadata check, size estimate, its pure-Python murmur2
partitioner, a future per record), which the SDK avoids by appending its events to one record
batch per partition (`streams/batching.py`). Validation is kept: a bad event is an error at the
caller, in its slot of `send_many`'s results, never a dead letter downstream.
""",
    )


if __name__ == "__main__":
    machine_state = check_idle()
    with bench_cluster() as (bootstrap_servers, broker_pids), CpuSampler() as cpu:
        for pid in broker_pids:
            cpu.watch("broker", pid)
        asyncio.run(main(bootstrap_servers, machine_state, cpu))
