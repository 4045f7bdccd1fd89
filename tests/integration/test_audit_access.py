"""Every CLI replay leaves an AccessAuditEntry in the audit topic; `audit sessions` lists them."""

from __future__ import annotations

import getpass
import subprocess
import sys
import time
from pathlib import Path

import orjson

from schemas.access import AccessEntry, Action, Via
from schemas.codec import AvroCodec
from streams.access_log import record_access
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
