"""Latency runs of ``make bench-pipeline``: append → readable, at steady rates, per contender.

One contender (a regstream worker, or the quix-streams app) runs on topics of its own. It is first
shown to be up (a few events go through), then, for each rate in turn, a sender process sends
events at that rate for ``warmup_s + seconds`` and a reader process (``read_committed``) records
for each event the time it became readable minus its input record's Kafka timestamp. Events
ingested during the first ``warmup_s`` are not measured. A rate whose p99 exceeds ``limit_ms``, or
whose events did not all arrive, ends the ramp: the rate before it is the saturation point.
"""

from __future__ import annotations

import statistics
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

import orjson

from schemas.catalog import TopicSpec
from schemas.contract import EVENT_TYPES
from streams.settings import Settings
from streams.topics import create_topics
from tests.bench.children import child, loadgen
from tests.bench.machine import Usage
from tests.bench.quix_env import quix_argv, quix_env
from tests.bench.throughput import Context, worker_processes
from tests.integration.helpers import settings_env

UP_TIMEOUT_S = 300
NAN = float("nan")


@dataclass(frozen=True)
class Step:
    contender: str
    guarantee: str
    rate: int
    p50: float
    p90: float
    p99: float
    max: float
    measured: int
    expected: int
    behind_ms: float
    usage: Usage

    @property
    def complete(self) -> bool:
        return self.measured >= self.expected


@dataclass(frozen=True)
class Target:
    """A running contender: what to send to, what to read, how its output is written."""

    contender: str
    guarantee: str
    settings: Settings
    outputs: list[str]
    json_output: bool


async def _step(
    context: Context, target: Target, rate: int, warmup_s: float, seconds: float
) -> Step:
    total = max(1, int(rate * (warmup_s + seconds)))
    out = context.directory / f"latency-{uuid.uuid4().hex[:8]}.json"
    reader_config = {
        "bootstrap": context.bootstrap,
        "topics": target.outputs,
        "format": "json" if target.json_output else "batch",
        "expect": total,
        "since_ms": 0,
        "timeout_s": warmup_s + seconds + 120,
        "out": str(out),
    }
    sender_config = {
        "bootstrap": context.bootstrap,
        "input_prefix": target.settings.input_prefix,
        "rate": rate,
        "total": total,
        "seed": rate,
    }
    sampler, directory = context.sampler, context.directory
    async with child(
        "latency reader", loadgen("read", reader_config), directory, sampler
    ) as reader:
        await reader.ready()
        async with child(
            "load generator", loadgen("steady", sender_config), directory, sampler
        ) as sender:
            await sender.ready()
            sent = await sender.result(warmup_s + seconds + 600)
        await reader.result(warmup_s + seconds + 300)
        start_ms = sent["start_at"] * 1000
        window = (start_ms + warmup_s * 1000, start_ms + (warmup_s + seconds) * 1000)
        usage = sampler.usage(window[0] / 1000, window[1] / 1000)
    samples = orjson.loads(out.read_bytes())
    out.unlink()
    measured = sorted(latency for ingested, latency in samples if window[0] <= ingested < window[1])
    cuts = statistics.quantiles(measured, n=100) if len(measured) > 1 else [NAN] * 99
    expected = sum(1 for n in range(total) if window[0] <= start_ms + n * 1000 / rate < window[1])
    return Step(
        target.contender, target.guarantee, rate, cuts[49], cuts[89], cuts[98],
        max(measured, default=NAN), len(measured), expected, sent["behind_ms"], usage,
    )  # fmt: skip


async def ramp(
    context: Context,
    target: Target,
    rates: Sequence[int],
    *,
    warmup_s: float,
    seconds: float,
    limit_ms: float,
) -> list[Step]:
    """One step per rate, in order, until a step's p99 passes ``limit_ms`` or events are missing."""
    await _step(context, target, 20, 0, 2)  # up: the first events go all the way through
    steps = []
    for rate in rates:
        step = await _step(context, target, rate, warmup_s, seconds)
        print(_line(step), flush=True)
        steps.append(step)
        if not step.complete or step.p99 > limit_ms:
            break
    return steps


def _line(step: Step) -> str:
    return (
        f"{step.contender} {step.guarantee} {step.rate}/s: p50 {step.p50:.1f} p90 {step.p90:.1f} "
        f"p99 {step.p99:.1f} max {step.max:.1f} ms, {step.measured}/{step.expected} events, "
        f"sender behind {step.behind_ms:.0f} ms; cores: {step.usage.describe()}"
    )


@asynccontextmanager
async def running(context: Context, contender: str, guarantee: str) -> AsyncIterator[Target]:
    """A worker or the quix app, idle on topics of its own, until the block exits."""
    tag = f"l{uuid.uuid4().hex[:8]}"
    settings = context.settings(tag, inputs=tag)
    await create_topics(settings)
    if contender == "worker":
        async with worker_processes(context, settings, guarantee, f"lat-{tag}", ["worker"]):
            outputs = [settings.catalog.live_topic(t) for t in EVENT_TYPES]
            yield Target("worker", guarantee, settings, outputs, json_output=False)
        return
    output = f"{tag}.quix.live"
    await create_topics(settings, [TopicSpec(output, settings.partitions, 1)])
    argv = quix_argv(settings, output, f"lat-{tag}", guarantee, context.directory / tag)
    env = quix_env(settings_env(settings))
    async with child("quix", argv, context.directory, context.sampler, env):
        yield Target("quix-streams", guarantee, settings, [output], json_output=True)
