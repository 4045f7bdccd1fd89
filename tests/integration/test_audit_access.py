"""Every CLI replay leaves an AccessAuditEntry in the audit topic; `audit sessions` lists them."""

from __future__ import annotations

import asyncio
import getpass
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson

from schemas.access import AccessEntry, Action, Via
from schemas.codec import AvroCodec
from streams.access_log import record_access
from streams.kafka import committed_consumer
from streams.settings import Settings
from streams.topics import create_topics
from tests.integration.helpers import read_all, settings_env
from tests.integration.test_replay import produce, replay_cli
from tests.unit.replay.factories import encode, events


def sessions_cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streams.cli.main", "audit", "sessions", *args],
        env=settings_env(settings), capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip


async def test_a_replay_is_recorded_with_who_what_and_range(
    settings: Settings, tmp_path: Path
) -> None:
    await create_topics(settings)
    topic = settings.catalog.input_topic("DecisionMade")
    now = int(time.time() * 1000)
    await produce(settings, topic, [(1, encode("DecisionMade", r), now)
                                    for r in events("DecisionMade", 4)])  # fmt: skip
    out = tmp_path / "decisions.csv"

    run = replay_cli(settings, topic, "--from", "1:1", "--format", "csv", "--out", str(out), "-q")

    assert run.returncode == 0, run.stderr
    (landed,) = await read_all(settings, settings.audit_topic, 1)
    event_type, entry = AvroCodec().decode(landed.value)
    assert event_type == "AccessAuditEntry"
    assert landed.key == getpass.getuser().encode()
    assert (entry["subject"], entry["action"], entry["via"], entry["topic"]) == (
        getpass.getuser(), "REPLAY", "CLI", topic,
    )  # fmt: skip
    assert (entry["from"], entry["to"]) == ({"1": 1}, {"1": 4})
    assert entry["details"]["format"] == "csv"
    assert entry["details"]["output"] == str(out)
    assert entry["details"]["from"] == "1:1"
    assert now - 60_000 < entry["metadata"]["occurred_at"] <= int(time.time() * 1000)


async def test_sessions_lists_entries_with_filters(settings: Settings) -> None:
    await create_topics(settings)
    for subject, action, via in [("alice", Action.SUBSCRIBE, Via.GATEWAY),
                                 ("bob", Action.REPLAY, Via.CLI),
                                 ("alice", Action.REPLAY, Via.GATEWAY)]:  # fmt: skip
        await record_access(settings, AccessEntry(subject, action, via, topic="live.x",
                                                  client_address="10.0.0.7:5123"))  # fmt: skip

    alice = sessions_cli(settings, "--subject", "alice", "--json")
    replays = sessions_cli(settings, "--action", "replay", "--via", "gateway", "--json")
    table = sessions_cli(settings)

    assert alice.returncode == 0, alice.stderr
    rows = [orjson.loads(line) for line in alice.stdout.splitlines()]
    assert [(r["event"]["subject"], r["event"]["action"]) for r in rows] == [
        ("alice", "SUBSCRIBE"), ("alice", "REPLAY"),
    ]  # fmt: skip
    assert [orjson.loads(line)["event"]["subject"] for line in replays.stdout.splitlines()] == [
        "alice"
    ]
    assert table.returncode == 0 and table.stdout.count("10.0.0.7:5123") == 3


async def subscribe_entries(settings: Settings, count: int) -> list[dict[str, Any]]:
    """The first ``count`` entries the gateway wrote for a subscribe (the writes are async)."""
    consumer = committed_consumer(settings, settings.audit_topic)
    await consumer.start()
    found: list[dict[str, Any]] = []
    try:
        async with asyncio.timeout(60):
            while len(found) < count:
                for batch in (await consumer.getmany(timeout_ms=500)).values():
                    entries = [AvroCodec().decode(m.value).record for m in batch]
                    found += [e for e in entries if "from" in e["details"]]
    finally:
        await consumer.stop()
    return found


async def test_a_dashboard_resuming_is_not_a_replay(settings: Settings, tmp_path: Path) -> None:
    """A client that reconnects resumes from its token: the gateway records a SUBSCRIBE (from
    token), so `audit sessions --action replay` lists the real replays only, and `--topic`
    takes the type name the gateway records as well as the live topic."""
    from gateway.client import Client
    from tests.e2e.processes import Gateway, running
    from tests.integration.test_client_gateway import jwt

    await create_topics(settings)
    checkpoints: list[str] = []
    with running(Gateway(settings, tmp_path)) as gw:
        assert isinstance(gw, Gateway)
        token = jwt(settings, sub="dana")
        checkpointed = asyncio.Event()

        def keep(checkpoint: str) -> None:
            checkpoints.append(checkpoint)
            checkpointed.set()

        async with Client(gw.ws_url, token=token, on_checkpoint=keep) as live:
            live.subscribe("DecisionMade", id="feed")
            await asyncio.wait_for(checkpointed.wait(), 60)
        async with Client(gw.ws_url, token=token, resume_token=checkpoints[-1]) as again:
            resumed = again.subscribe("DecisionMade", id="feed")
            replay = again.subscribe("DecisionMade", id="past", start="earliest")
            await asyncio.wait_for(resumed.subscribed.wait(), 60)
            await asyncio.wait_for(replay.subscribed.wait(), 60)
        subscribes = await subscribe_entries(settings, 3)

    assert sorted((e["details"]["id"], e["details"]["from"], e["action"]) for e in subscribes) == [
        ("feed", "latest", "SUBSCRIBE"), ("feed", "token", "SUBSCRIBE"),
        ("past", "earliest", "REPLAY"),
    ]  # fmt: skip
    for topic in ("DecisionMade", "decision_made", settings.catalog.live_topic("DecisionMade")):
        replays = sessions_cli(settings, "--action", "replay", "--topic", topic, "--json")
        assert replays.returncode == 0, replays.stderr
        rows = [orjson.loads(line)["event"] for line in replays.stdout.splitlines()]
        assert [(r["subject"], r["details"]["id"]) for r in rows] == [("dana", "past")], topic
