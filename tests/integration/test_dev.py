"""`regstream dev` (what `make dev` runs) on a fresh directory with default settings: it starts
its own broker, the topics, the worker, the gateway and the demo, prints a working dashboard URL
and token, demo events reach a client through the pipeline enriched with the demo's agents; a
second `regstream dev` there is
refused and touches nothing; a gateway that dies is started again and the client carries on;
and Ctrl-C stops everything. One run of the whole system for all of it (it is slow to start)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gateway.client import Backoff, Client, Event
from streams.broker.cluster import free_port
from streams.samples import AGENT_DIRECTORY

START_S = 180.0
EVENT_S = 120.0
STOP_S = 60.0
DASHBOARD = re.compile(r"^dashboard: http://127\.0\.0\.1:(\d+)/#token=(\S+)$")


def newcomer_env() -> dict[str, str]:
    """The environment of someone who has configured nothing (the broker jar cache is kept)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("REGSTREAM_") or k == "REGSTREAM_KAFKA_CACHE"
    }
    env["REGSTREAM_GATEWAY_OPS_PORT"] = "0"  # the one fixed port a test run cannot share
    return env


def dev_argv() -> list[str]:
    return [sys.executable, "-m", "streams.cli.main", "dev", "--port", str(free_port()),
            "--gateway-port", str(free_port())]  # fmt: skip


@contextmanager
def dev_running(directory: Path) -> Iterator[tuple[subprocess.Popen[str], list[str]]]:
    """`regstream dev` in ``directory``; its output lines collected as they come."""
    argv = dev_argv()
    process = subprocess.Popen(
        argv, cwd=directory, env=newcomer_env(), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    lines: list[str] = []
    assert process.stdout is not None
    reader = threading.Thread(target=lambda: lines.extend(process.stdout or ()), daemon=True)
    reader.start()
    try:
        yield process, lines
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        reader.join(timeout=10)
        process.stdout.close()


async def wait_for_dashboard(process: subprocess.Popen[str], lines: list[str]) -> re.Match[str]:
    async with asyncio.timeout(START_S):
        while True:
            for line in list(lines):
                found = DASHBOARD.match(line.strip())
                if found:
                    return found
            assert process.poll() is None, "regstream dev exited:\n" + "".join(lines[-60:])
            await asyncio.sleep(0.5)


def run_second(directory: Path) -> tuple[int | None, str]:
    """Another `regstream dev` in the same directory: its exit status and what it said.

    Its output goes to a file, not a pipe, and it runs in a process group of its own that is
    killed if it does not exit: whatever it started must not outlive the test."""
    said = directory / "second-dev.txt"
    with said.open("w") as out:
        second = subprocess.Popen(dev_argv(), cwd=directory, env=newcomer_env(), stdout=out,
                                  stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        try:
            code: int | None = second.wait(timeout=120)
        except subprocess.TimeoutExpired:
            code = None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(second.pid, signal.SIGKILL)
        second.wait()
    return code, said.read_text()


async def next_line(lines: list[str], pattern: str, after: int, timeout_s: float) -> re.Match[str]:
    """The first output line from index ``after`` on that matches ``pattern``."""
    async with asyncio.timeout(timeout_s):
        while True:
            for line in lines[after:]:
                if found := re.search(pattern, line):
                    return found
            await asyncio.sleep(0.2)


async def test_dev_runs_supervises_refuses_a_second_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    with dev_running(tmp_path) as (process, lines):
        found = await wait_for_dashboard(process, lines)
        port, token = found.groups()
        gateway_pid = int((await next_line(lines, r"started gateway \(pid (\d+)\)", 0, 5))[1])
        async with Client(
            f"ws://127.0.0.1:{port}/ws", token=token, backoff=Backoff(0.1, 1.0)
        ) as client:
            feed = client.subscribe("DecisionMade", id="demo", start="earliest")
            events = aiter(i async for i in feed if isinstance(i, Event))
            first = asyncio.create_task(anext(events))
            exited = asyncio.create_task(asyncio.to_thread(process.wait))
            done, _ = await asyncio.wait(
                {first, exited}, timeout=EVENT_S, return_when="FIRST_COMPLETED"
            )
            first.cancel()
            assert first in done, "no demo event:\n" + "".join(lines[-80:])
            event = first.result()
            assert event.event_id
            assert event.enrichment is not None, event
            assert event.enrichment["agent_known"] is True, event.enrichment
            agent = AGENT_DIRECTORY[event.payload["agent_id"]]["name"]
            assert event.enrichment["agent_name"] == agent

            code, said = await asyncio.to_thread(run_second, tmp_path)
            assert code == 1, said
            assert f"already running for {tmp_path}" in said
            assert f"pid {process.pid}" in said and f":{port}/" in said

            seen = len(lines)
            os.killpg(gateway_pid, signal.SIGKILL)
            await next_line(lines, r"gateway exited with -9; starting it again", seen, 30)
            restarted = await next_line(lines, r"started gateway \(pid (\d+)\)", seen, 60)
            assert int(restarted[1]) != gateway_pid
            async with asyncio.timeout(EVENT_S):  # the client resumes on its own
                while client.connections < 2:
                    await anext(events)
                later = await anext(events)
            assert later.event_id and not exited.done(), "".join(lines[-40:])
        process.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(exited, STOP_S) == 0, "".join(lines[-40:])
    assert lines[-1].strip() == "stopped"
    assert [line for line in lines if "exited with" in line] == [
        line for line in lines if "gateway exited with -9" in line
    ], "".join(lines[-60:])
