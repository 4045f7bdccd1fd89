"""Processes a benchmark starts: load generators, baselines, contenders.

Every participant of a measurement runs as a process of its own, so the orchestrating process
does nothing but start them, wait and sample their CPU (:class:`tests.bench.machine.CpuSampler`).
A child speaks a two-line protocol on stdout (:mod:`tests.bench.loadgen`): ``READY`` once set up,
``RESULT <json>`` when done; its stderr goes to a log file that is shown when it fails. A child is
killed, with its process group, when the block that started it exits.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

import orjson

from tests.bench.loadgen import READY, RESULT
from tests.bench.machine import CpuSampler


class ChildFailed(RuntimeError):
    pass


class Child:
    def __init__(self, name: str, process: asyncio.subprocess.Process, log: Path) -> None:
        self.name = name
        self.process = process
        self.log = log

    async def _line(self, deadline: float) -> str:
        assert self.process.stdout is not None
        loop = asyncio.get_running_loop()
        try:
            raw = await asyncio.wait_for(
                self.process.stdout.readline(), max(0.1, deadline - loop.time())
            )
        except TimeoutError:
            raise ChildFailed(f"{self.name}: no answer in time\n{self.tail()}") from None
        if not raw:
            await self.process.wait()
            raise ChildFailed(f"{self.name} exited ({self.process.returncode})\n{self.tail()}")
        return raw.decode(errors="replace").rstrip("\n")

    async def ready(self, timeout_s: float = 300) -> None:
        deadline = asyncio.get_running_loop().time() + timeout_s
        while (await self._line(deadline)) != READY:
            pass

    async def result(self, timeout_s: float = 900) -> dict[str, Any]:
        deadline = asyncio.get_running_loop().time() + timeout_s
        while not (line := await self._line(deadline)).startswith(RESULT):
            pass
        await asyncio.wait_for(self.process.wait(), 60)
        result: dict[str, Any] = orjson.loads(line[len(RESULT) :])
        return result

    def tail(self, lines: int = 30) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def kill(self) -> None:
        if self.process.returncode is None:
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)


@asynccontextmanager
async def child(
    name: str,
    argv: Sequence[str],
    directory: Path,
    sampler: CpuSampler | None = None,
    env: dict[str, str] | None = None,
) -> AsyncIterator[Child]:
    """Start ``argv`` as ``name`` (CPU sampled under that name); SIGKILL it on exit."""
    log = directory / f"{name}.log"
    with log.open("ab") as err:
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdout=asyncio.subprocess.PIPE,
            stderr=err,
            env=env,
            start_new_session=True,
            limit=1 << 24,
        )
    started = Child(name, process, log)
    if sampler is not None:
        sampler.watch(name, process.pid)
    try:
        yield started
    finally:
        if sampler is not None:
            sampler.unwatch(name)
        started.kill()
        await process.wait()


def python_module(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]


def loadgen(command: str, config: dict[str, Any]) -> list[str]:
    return python_module("tests.bench.loadgen", command, orjson.dumps(config).decode())
