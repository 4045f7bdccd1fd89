"""A replay killed with SIGKILL mid-way and run again writes the bytes of an uninterrupted one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from streams.replay.checkpoint import checkpoint_path
from streams.settings import Settings
from streams.topics import create_topics
from tests.integration.helpers import settings_env
from tests.integration.test_replay import produce, replay_cli
from tests.unit.replay.factories import batch, encode, events

BATCHES = 3_000
KILL_AFTER_RECORDS = 900


def checkpointed_records(out: Path) -> int:
    """Records the checkpoint vouches for (0 while there is none)."""
    try:
        return int(orjson.loads(checkpoint_path(out).read_bytes())["records"])
    except FileNotFoundError:
        return 0


def kill_mid_way(settings: Settings, args: list[str], out: Path) -> int:
    """Start the replay, SIGKILL it once a checkpoint passed ``KILL_AFTER_RECORDS``."""
    process = subprocess.Popen(
        [sys.executable, "-m", "streams.cli.main", "replay", *args, "--out", str(out)],
        env=settings_env(settings), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    try:
        while checkpointed_records(out) < KILL_AFTER_RECORDS:
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "the export made no progress"
            time.sleep(0.002)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait()
        if process.stderr:
            process.stderr.close()
    return checkpointed_records(out)


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "avro"])
async def test_killed_export_resumes_to_identical_bytes(
    settings: Settings, tmp_path: Path, fmt: str
) -> None:
    await create_topics(settings)
    topic = settings.catalog.live_topic("DecisionMade")
    decisions = events("DecisionMade", 40)
    values = [
        encode("EventBatch", batch("DecisionMade", decisions[n % 8 * 5 :][:5], first_offset=n * 5))
        for n in range(BATCHES)
    ]
    now = int(time.time() * 1000)
    await produce(settings, topic, [(i % 3, v, now + i) for i, v in enumerate(values)])
    args = [topic, "--format", fmt, "--checkpoint-every", "100", "--quiet"]
    whole, part = tmp_path / f"whole.{fmt}", tmp_path / f"part.{fmt}"

    uninterrupted = replay_cli(settings, *args, "--out", str(whole))
    at_kill = kill_mid_way(settings, args, part)
    resumed = replay_cli(settings, *args, "--out", str(part))

    assert uninterrupted.returncode == 0, uninterrupted.stderr
    assert KILL_AFTER_RECORDS <= at_kill < BATCHES  # really killed mid-way
    assert resumed.returncode == 0, resumed.stderr
    assert part.read_bytes() == whole.read_bytes()
    assert not checkpoint_path(part).exists()
