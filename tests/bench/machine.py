"""Is the machine fit to measure on, and what did every process spend while it was measured?

A benchmark on a shared machine measures the other tenants as much as the code: a run at load 30
on two cores reported the worker 2 to 50 times slower than an outside run of the same job. So
before measuring, :func:`check_idle` compares the load average with the number of cores and
refuses (or, when the operator insists, stamps the results as untrusted); and while measuring,
:class:`CpuSampler` samples the CPU time of every process that takes part (the contender, the load
generators, the broker JVM) and of the whole machine from ``/proc`` every few milliseconds, so the
report can say, for any span, how busy each process was and how much of the machine went to
processes that are not part of the benchmark at all.

Linux only (``/proc``); a benchmark is not a test, and runs where the product's broker runs.
"""

from __future__ import annotations

import os
import threading
import time
from bisect import bisect_left
from dataclasses import dataclass, field
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")
MAX_LOAD_ENV = "BENCH_MAX_LOAD"
ALLOW_BUSY_ENV = "BENCH_ALLOW_BUSY"
DEFAULT_MAX_LOAD = 0.5
"""Per core: a one-minute load average above half a core each means someone else is working."""


class MachineBusy(RuntimeError):
    """The load average says other work is running: numbers taken now would measure it."""


@dataclass(frozen=True)
class MachineState:
    cores: int
    load: tuple[float, float, float]
    trusted: bool

    def describe(self) -> str:
        one, five, fifteen = self.load
        verdict = "idle" if self.trusted else "BUSY: numbers are NOT trustworthy"
        return (
            f"{self.cores} cores, load average {one:.2f} / {five:.2f} / {fifteen:.2f} "
            f"(1/5/15 min) before measuring: {verdict}"
        )


def check_idle(environ: dict[str, str] | None = None) -> MachineState:
    """The machine's state; raise :class:`MachineBusy` when its one-minute load average exceeds
    ``BENCH_MAX_LOAD`` (per core, default 0.5) unless ``BENCH_ALLOW_BUSY=1``, in which case the
    state comes back marked untrusted and the reports say so loudly."""
    env = os.environ if environ is None else environ
    cores = os.cpu_count() or 1
    load = os.getloadavg()
    limit = float(env.get(MAX_LOAD_ENV, DEFAULT_MAX_LOAD)) * cores
    trusted = load[0] <= limit
    state = MachineState(cores, load, trusted)
    if not trusted and env.get(ALLOW_BUSY_ENV) != "1":
        raise MachineBusy(
            f"{state.describe()}; the limit is {limit:.1f}. Wait until the machine is quiet "
            f"(uptime), or set {ALLOW_BUSY_ENV}=1 to measure anyway (results are marked untrusted)."
        )
    if not trusted:
        print(f"\n*** WARNING: {state.describe()} ***\n", flush=True)
    return state


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of ``pid`` (all its threads), None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / TICKS


def machine_cpu_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, summed over its cores."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])  # guest time is already counted in user
    return (total - idle) / TICKS, total / TICKS


@dataclass
class _Series:
    times: list[float] = field(default_factory=list)
    values: list[float] = field(default_factory=list)

    def add(self, at: float, value: float) -> None:
        self.times.append(at)
        self.values.append(value)

    def at(self, moment: float) -> float | None:
        """The value at ``moment``, interpolated between the samples around it; clamped to the
        first and last samples (a process started late, or gone: its CPU time stands still)."""
        if not self.times:
            return None
        if moment <= self.times[0]:
            return self.values[0]
        if moment >= self.times[-1]:
            return self.values[-1]
        i = bisect_left(self.times, moment)
        if self.times[i] == moment:
            return self.values[i]
        t0, t1 = self.times[i - 1], self.times[i]
        v0, v1 = self.values[i - 1], self.values[i]
        return v0 + (v1 - v0) * (moment - t0) / (t1 - t0)

    def between(self, start: float, end: float) -> float | None:
        first, last = self.at(start), self.at(end)
        return None if first is None or last is None else last - first


class CpuSampler:
    """Samples, every ``interval_s``, the CPU seconds of the processes it watches and of the
    machine, stamped with ``time.time()`` so that spans reported by other processes (epoch
    milliseconds in their outputs) can be looked up. Runs in a thread of the orchestrating
    process, which does nothing else while a contender is measured."""

    def __init__(self, interval_s: float = 0.05) -> None:
        self._interval_s = interval_s
        self._pids: dict[str, int] = {}
        self._series: dict[str, _Series] = {}
        self._machine = _Series()
        self._machine_total = _Series()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cpu-sampler", daemon=True)

    def __enter__(self) -> CpuSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def watch(self, name: str, pid: int) -> None:
        """Sample ``pid`` as ``name`` from now on (a new pid under a known name replaces it)."""
        with self._lock:
            self._pids[name] = pid
            self._series[name] = _Series()
        self._sample()

    def unwatch(self, name: str) -> None:
        self._sample()
        with self._lock:
            self._pids.pop(name, None)

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            self._sample()

    def _sample(self) -> None:
        now = time.time()
        busy, total = machine_cpu_seconds()
        with self._lock:
            self._machine.add(now, busy)
            self._machine_total.add(now, total)
            for name, pid in self._pids.items():
                seconds = process_cpu_seconds(pid)
                if seconds is not None:
                    self._series[name].add(now, seconds)

    def usage(self, start: float, end: float) -> Usage:
        """CPU of each watched process and of the machine over ``[start, end]`` (epoch s)."""
        self._sample()
        seconds = end - start
        with self._lock:
            processes = {
                name: used / seconds
                for name, series in self._series.items()
                if (used := series.between(start, end)) is not None
            }
            busy = self._machine.between(start, end)
            total = self._machine_total.between(start, end)
        machine = busy / total * (os.cpu_count() or 1) if busy is not None and total else None
        return Usage(seconds, processes, machine)


@dataclass(frozen=True)
class Usage:
    """Cores used (1.0 = one core fully busy) per process and by the whole machine."""

    seconds: float
    processes: dict[str, float]
    machine: float | None

    @property
    def others(self) -> float | None:
        """Cores used by processes that are not part of the benchmark."""
        if self.machine is None:
            return None
        return max(0.0, self.machine - sum(self.processes.values()))

    def describe(self, names: list[str] | None = None) -> str:
        shown = [
            n for n in (names or sorted(self.processes)) if self.processes.get(n, 0.0) >= 0.005
        ]
        parts = [f"{name} {self.processes[name]:.2f}" for name in shown]
        if self.others is not None:
            parts.append(f"other processes {self.others:.2f}")
        return ", ".join(parts)
