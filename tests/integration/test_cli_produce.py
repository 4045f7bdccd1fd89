"""`regstream produce`: good lines go out, bad lines are reported by number, exit status says so."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson

from schemas.codec import AvroCodec
from streams.samples import SampleEvents
from streams.settings import Settings
from streams.topics import create_topics
from tests.integration.helpers import read_all, settings_env


async def test_produce_reports_bad_lines_and_sends_good_ones(
    settings: Settings, tmp_path: Path
) -> None:
    await create_topics(settings)
    samples = SampleEvents(seed=5)
    good = [samples.next("AuditTrailEntry") for _ in range(4)]
    lines = [
        orjson.dumps(good[0]).decode(),
        "{not json",
        orjson.dumps(good[1]).decode(),
        orjson.dumps({**good[2], "title": 42}).decode(),
        "",
        orjson.dumps(good[3]).decode(),
    ]
    source = tmp_path / "audit.jsonl"
    source.write_text("\n".join(lines) + "\n")

    result = subprocess.run(
        [sys.executable, "-m", "streams.cli.main", "produce", "audit_trail_entry", str(source)],
        env=settings_env(settings), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip

    assert result.returncode == 1, result.stderr
    assert "line 2:" in result.stderr
    assert "line 4:" in result.stderr
    assert "sent 3, failed 2" in result.stdout
    landed = await read_all(settings, settings.catalog.input_topic("AuditTrailEntry"), 3)
    codec = AvroCodec()
    ids = {codec.decode(m.value).record["metadata"]["event_id"] for m in landed}
    assert ids == {good[0]["metadata"]["event_id"], good[1]["metadata"]["event_id"],
                   good[3]["metadata"]["event_id"]}  # fmt: skip


def test_unknown_event_type_is_a_usage_error() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "streams.cli.main", "produce", "NoSuchType"],
        capture_output=True, text=True, timeout=60, check=False, input="",
    )  # fmt: skip
    assert result.returncode == 2
    assert "unknown event type" in result.stderr
