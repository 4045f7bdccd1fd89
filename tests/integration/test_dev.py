"""`regstream dev` (what `make dev` runs) on a fresh directory with default settings: it starts
its own broker, the topics, the worker, the gateway and the demo, prints a working dashboard URL
and token, demo events reach a client through the pipeline enriched with the demo's agents, and
Ctrl-C stops everything."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gateway.client import Client, Event
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


@contextmanager
def dev_running(directory: Path) -> Iterator[tuple[subprocess.Popen[str], list[str]]]:
    """`regstream dev` in ``directory``; its output lines collected as they come."""
    argv = [sys.executable, "-m", "streams.cli.main", "dev", "--port", str(free_port()),
            "--gateway-port", str(free_port())]  # fmt: skip
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


async def test_dev_runs_the_whole_system_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    with dev_running(tmp_path) as (process, lines):
        found = await wait_for_dashboard(process, lines)
        port, token = found.groups()
        async with Client(f"ws://127.0.0.1:{port}/ws", token=token) as client:
            feed = client.subscribe("DecisionMade", id="demo", start="earliest")
            first = asyncio.create_task(anext(i async for i in feed if isinstance(i, Event)))
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
        assert event.enrichment["agent_name"] == AGENT_DIRECTORY[event.payload["agent_id"]]["name"]
        process.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(exited, STOP_S) == 0, "".join(lines[-40:])
    assert lines[-1].strip() == "stopped"
    assert not any("exited with" in line for line in lines), "".join(lines[-60:])
