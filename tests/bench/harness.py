"""What every benchmark shares: a real broker, repeated timed runs, and the results page.

Each benchmark measures regstream and a baseline in the same run, on the same broker, alternating
them so that machine noise hits both alike, and reports the median of the repeats. Results are
written to docs/benchmarks.md between markers named after the benchmark, with the command and
the machine, so the page always shows the last measured numbers.
"""

from __future__ import annotations

import os
import platform
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.kafka_broker import provide_broker

RESULTS = Path(__file__).resolve().parents[2] / "docs" / "benchmarks.md"


@contextmanager
def bench_broker() -> Iterator[str]:
    """Bootstrap address of a broker for a benchmark (same rules as the test fixture)."""
    with bench_cluster() as (bootstrap, _):
        yield bootstrap


@contextmanager
def bench_cluster() -> Iterator[tuple[str, list[int]]]:
    """(bootstrap address, pids of the broker JVMs when they run here, so their CPU can be
    sampled; none for an external or containerised broker)."""
    with (
        tempfile.TemporaryDirectory(prefix="regstream-bench-") as directory,
        provide_broker(Path(directory)) as handle,
    ):
        state = handle.cluster.load_state() if handle.cluster is not None else None
        yield handle.bootstrap_servers, sorted(state.pids.values()) if state else []


async def timed(run: Callable[[], Awaitable[int]]) -> float:
    """Run once; return items per second (``run`` returns how many items it handled)."""
    started = time.perf_counter()
    items = await run()
    return items / (time.perf_counter() - started)


def median(values: list[float]) -> float:
    return statistics.median(values)


def spread(values: list[float], unit: str = "") -> str:
    """``median (min-max)`` of repeated runs, so a reader sees how far one run is from another."""
    if len(values) == 1:
        return f"{values[0]:,.0f}{unit} (1 run)"
    return f"{median(values):,.0f}{unit} ({min(values):,.0f}–{max(values):,.0f})"


def machine() -> str:
    return f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} cores"


def record(name: str, command: str, body: str) -> None:
    """Replace the section ``name`` of docs/benchmarks.md with ``body``; print it too."""
    section = (
        f"<!-- bench:{name} -->\n"
        f"Command: `{command}` — measured {time.strftime('%Y-%m-%d')} on {machine()}.\n\n"
        f"{body.strip()}\n<!-- /bench:{name} -->"
    )
    print(section)
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmarks\n"
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        after = rest.split(end, 1)[1]
        text = before + section + after
    else:
        text = text.rstrip() + f"\n\n## {name}\n\n{section}\n"
    RESULTS.write_text(text)
