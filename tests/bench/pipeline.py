"""make bench-pipeline: the worker beside quix-streams and a raw aiokafka copy, same run, same broker.

What it measures (docs/benchmarks.md, "pipeline", shows the last run):

1. **Throughput** per guarantee: the raw copy, the quix-streams app doing the same job
   (:mod:`tests.bench.quix_app`), one regstream worker, and two workers in one group, each alone
   draining the same input produced ahead (:mod:`tests.bench.throughput`); repeated, the order
   rotated each round, median and spread reported; plus a do-nothing Faust agent for scale.
2. **Latency** at steady rates, append → readable with ``read_committed``
   (:mod:`tests.bench.latency`): the worker ramps through ``RATES`` until its p99 passes 250 ms
   (the saturation curve), quix-streams is measured at the target rate.

How it keeps the numbers honest:

- it refuses to start when the load average says the machine is busy
  (:func:`tests.bench.machine.check_idle`; ``BENCH_ALLOW_BUSY=1`` measures anyway and marks the
  results untrusted);
- every participant is a process of its own (load generators, readers, contenders); this process
  only orchestrates and samples, every few milliseconds, the CPU of each of them, of the broker
  JVM, and of the machine: each result says how many cores its contender, the broker and *other*
  processes used while it was timed;
- throughput runs alternate contenders, and each is timed without its start-up.

Knobs (environment): ``BENCH_EVENTS`` (30000), ``BENCH_REPEATS`` (3), ``BENCH_SECONDS`` (15,
measured per latency step), ``BENCH_WARMUP`` (5), ``BENCH_RATES`` (the ramp),
``BENCH_ONLY`` (comma-separated: throughput, latency), ``BENCH_CONTENDERS`` (comma-separated:
raw, quix, worker, workers, faust), ``BENCH_RECORD=0`` (print only, do not write
docs/benchmarks.md).
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path

from tests.bench.harness import bench_cluster, median, record, spread
from tests.bench.latency import Step, ramp, running
from tests.bench.machine import CpuSampler, MachineState, check_idle
from tests.bench.throughput import (
    Context,
    Run,
    produce_input,
    run_floor,
    run_quix,
    run_raw,
    run_worker,
)

GUARANTEES = ("at_least_once", "exactly_once")
TARGET_RATE = 1_000
LIMIT_MS = 250.0
EVENTS = int(os.environ.get("BENCH_EVENTS", 30_000))
REPEATS = int(os.environ.get("BENCH_REPEATS", 3))
SECONDS = float(os.environ.get("BENCH_SECONDS", 15))
WARMUP = float(os.environ.get("BENCH_WARMUP", 5))
RATES = [
    int(r)
    for r in os.environ.get(
        "BENCH_RATES", "250,500,1000,2000,3000,4000,6000,8000,11000,15000"
    ).split(",")
]
ONLY = set(os.environ.get("BENCH_ONLY", "throughput,latency").split(","))
CONTENDERS = os.environ.get("BENCH_CONTENDERS", "raw,quix,worker,workers,faust").split(",")


async def throughput(context: Context) -> list[Run]:
    await produce_input(context)
    runs: list[Run] = []
    every = {
        "raw": lambda g: run_raw(context, g),
        "quix": lambda g: run_quix(context, g),
        "worker": lambda g: run_worker(context, g),
        "workers": lambda g: run_worker(context, g, processes=2),
    }
    contenders = [run for name, run in every.items() if name in CONTENDERS]
    for repeat in range(REPEATS):
        order = contenders[repeat % len(contenders) :] + contenders[: repeat % len(contenders)]
        for guarantee in GUARANTEES:
            for run in order:
                result = await run(guarantee)
                print(
                    f"{result.contender} {guarantee}: {result.rate:,.0f} events/s "
                    f"({result.events:,} in {result.seconds:.2f} s); cores: "
                    f"{result.usage.describe()}",
                    flush=True,
                )
                runs.append(result)
        if "faust" in CONTENDERS:
            floor = await run_floor(context)
            print(f"faust agent: {floor.rate:,.0f} events/s", flush=True)
            runs.append(floor)
    return runs


async def latency(context: Context) -> list[Step]:
    steps: list[Step] = []
    for guarantee in GUARANTEES:
        async with running(context, "worker", guarantee) as target:
            steps += await ramp(
                context, target, RATES, warmup_s=WARMUP, seconds=SECONDS, limit_ms=LIMIT_MS
            )
        async with running(context, "quix", guarantee) as target:
            steps += await ramp(
                context,
                target,
                [TARGET_RATE],
                warmup_s=WARMUP,
                seconds=SECONDS,
                limit_ms=float("inf"),
            )
    return steps


def measure(phase: str, work: str) -> list[Run] | list[Step]:
    """Run one phase on a broker of its own (what one phase leaves behind — changelogs being
    compacted, hundreds of partitions — must not slow the next)."""
    with bench_cluster() as (bootstrap, broker_pids), tempfile.TemporaryDirectory(prefix=f"bench-{phase}-") as tmp, CpuSampler() as sampler:  # fmt: skip
        for n, pid in enumerate(broker_pids):
            sampler.watch("broker" if n == 0 else f"broker-{n}", pid)
        sampler.watch("orchestrator", os.getpid())
        context = Context(bootstrap, f"b{uuid.uuid4().hex[:6]}", EVENTS, Path(tmp), sampler)
        if work == "throughput":
            return asyncio.run(throughput(context))
        return asyncio.run(latency(context))


def main() -> None:
    state = check_idle()
    print(state.describe(), flush=True)
    started = time.monotonic()
    runs = measure("throughput", "throughput") if "throughput" in ONLY else []
    steps = measure("latency", "latency") if "latency" in ONLY else []
    body = report(state, runs, steps, time.monotonic() - started)
    if os.environ.get("BENCH_RECORD", "1") == "1":
        record("pipeline", "make bench-pipeline", body)
    else:
        print(body)


def _rates(runs: list[Run], contender: str, guarantee: str) -> list[float]:
    return [r.rate for r in runs if r.contender == contender and r.guarantee == guarantee]


def report(state: MachineState, runs: list[Run], steps: list[Step], elapsed_s: float) -> str:
    others = [r.usage.others for r in runs if r.usage.others is not None]
    others += [s.usage.others for s in steps if s.usage.others is not None]
    trust = (
        "idle before measuring"
        if state.trusted
        else "**BUSY before measuring: these numbers are NOT trustworthy; only the same-run ratios mean something**"
    )
    lines = [
        f"Machine: {state.cores} cores, load average {state.load[0]:.2f} / {state.load[1]:.2f} / "
        f"{state.load[2]:.2f} (1/5/15 min) — {trust}. While contenders were timed, processes "
        f"outside the benchmark used a median of {median(others) if others else 0:.2f} cores "
        f"(at most {max(others, default=0):.2f}). The whole run took {elapsed_s / 60:.0f} min.",
        "",
    ]
    if runs:
        lines += _throughput_section(runs)
    if steps:
        lines += _latency_section(steps)
    return "\n".join(lines)


def _throughput_section(runs: list[Run]) -> list[str]:
    lines = [
        f"### Throughput\n\n{EVENTS:,} events produced ahead by a separate process (six types, 6 "
        f"partitions each); each contender alone, {REPEATS} rounds in rotating order, timed "
        "without start-up. Events/s, median (min–max):\n",
        "| guarantee | raw aiokafka copy | quix-streams (same job) | regstream worker | "
        "worker / quix (target ≥ 1.5) | worker / raw (target ≥ 0.25) |",
        "|---|---|---|---|---|---|",
    ]
    for g in GUARANTEES:
        raw, quix, worker = (_rates(runs, c, g) for c in ("raw copy", "quix-streams", "worker"))
        if not (raw and quix and worker):
            continue
        lines.append(
            f"| {g} | {spread(raw)} | {spread(quix)} | {spread(worker)} | "
            f"**{median(worker) / median(quix):.2f}** | **{median(worker) / median(raw):.2f}** |"
        )
    lines += [
        "\nCores each process used while its contender was timed (median over the rounds; "
        "1.00 = one core), and the contender's CPU per event:\n",
        "| contender | guarantee | contender | broker JVM | other processes | contender CPU µs/event |",
        "|---|---|---|---|---|---|",
    ]
    grouped: dict[tuple[str, str], list[Run]] = defaultdict(list)
    for run in runs:
        grouped[(run.contender, run.guarantee)].append(run)
    for (contender, g), group in grouped.items():
        names = [
            n for n in group[0].usage.processes if n.startswith(("worker", "quix", "raw", "faust"))
        ]
        own = median([sum(r.usage.processes.get(n, 0.0) for n in names) for r in group])
        broker = median([r.usage.processes.get("broker", 0.0) for r in group])
        other = median([r.usage.others or 0.0 for r in group])
        per_event = median([sum(r.cpu_us_per_event(n) for n in names) for r in group])
        lines.append(
            f"| {contender} | {g} | {own:.2f} | {broker:.2f} | {other:.2f} | {per_event:.0f} |"
        )
    lines.append("")
    for g in GUARANTEES:
        one, two = _rates(runs, "worker", g), _rates(runs, "2 workers", g)
        if one and two:
            lines.append(
                f"Two workers in one group, {g}: {spread(two)} events/s, "
                f"**{median(two) / median(one):.2f}×** one worker."
            )
    floor = [r.rate for r in runs if r.contender == "faust agent"]
    if floor:
        lines.append(
            f"\nFor scale: a stock Faust agent doing nothing but `take_events()` over the same input "
            f"drains {spread(floor)} events/s."
        )
    return lines


def _latency_section(steps: list[Step]) -> list[str]:
    lines = [
        f"\n### Latency\n\nAppend → readable in the output with `read_committed`, at steady rates "
        f"from a separate sender process, read by a separate reader process; {SECONDS:.0f} s "
        f"measured after {WARMUP:.0f} s at each rate. Target at {TARGET_RATE:,}/s: at-least-once "
        "p50 ≤ 10 ms and p99 ≤ 50 ms, exactly-once p99 ≤ 100 ms.\n",
        "| contender | guarantee | rate/s | p50 ms | p90 ms | p99 ms | max ms | events | "
        "sender behind ms | cores: contender / broker / others |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in steps:
        names = [n for n in s.usage.processes if n.startswith(("worker", "quix"))]
        own = sum(s.usage.processes.get(n, 0.0) for n in names)
        missing = "" if s.complete else f" (**{s.expected - s.measured:,} missing**)"
        lines.append(
            f"| {s.contender} | {s.guarantee} | {s.rate:,} | {s.p50:.1f} | {s.p90:.1f} | "
            f"{s.p99:.1f} | {s.max:.1f} | {s.measured:,}{missing} | {s.behind_ms:.0f} | "
            f"{own:.2f} / {s.usage.processes.get('broker', 0.0):.2f} / {s.usage.others or 0.0:.2f} |"
        )
    for g in GUARANTEES:
        curve = [s for s in steps if s.contender == "worker" and s.guarantee == g]
        ok = [s.rate for s in curve if s.complete and s.p99 <= LIMIT_MS]
        if curve:
            lines.append(
                f"\nSaturation, worker, {g}: the highest rate whose p99 stayed ≤ {LIMIT_MS:.0f} ms "
                f"was **{max(ok, default=0):,}/s** (rates tried: "
                f"{', '.join(f'{s.rate:,}' for s in curve)})."
            )
    return lines


if __name__ == "__main__":
    main()
