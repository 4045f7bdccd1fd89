"""`regstream produce`: good lines go out, bad lines are reported by number, exit status says so."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

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


def produce_cli(
    settings: Settings, *args: str, stdin: bytes = b""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streams.cli.main", "produce", *args],
        env=settings_env(settings), capture_output=True, timeout=120, check=False, input=stdin,
    )  # fmt: skip


@pytest.mark.parametrize("via", ["file", "stdin"])
async def test_undecodable_and_binary_lines_are_reported_and_the_rest_still_go_out(
    settings: Settings, tmp_path: Path, via: str
) -> None:
    """An invalid UTF-8 byte in a file was a traceback, and the good lines before it were lost."""
    await create_topics(settings)
    samples = SampleEvents(seed=9)
    good = [samples.next("DecisionMade") for _ in range(3)]
    data = b"\n".join(
        [
            orjson.dumps(good[0]),
            orjson.dumps(good[1])[:-1] + b"\xff}",  # one invalid UTF-8 byte
            bytes(range(256)) * 4,  # binary junk, with a newline inside it
            orjson.dumps(good[2]),
        ]
    )
    source = tmp_path / "mixed.jsonl"
    source.write_bytes(data)
    args = ["DecisionMade", str(source)] if via == "file" else ["DecisionMade"]
    result = produce_cli(settings, *args, stdin=data if via == "stdin" else b"")
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr.decode()
    assert b"line 2:" in result.stderr and b"line 3:" in result.stderr
    assert b"sent 2" in result.stdout
    landed = await read_all(settings, settings.catalog.input_topic("DecisionMade"), 2)
    ids = {AvroCodec().decode(m.value).record["metadata"]["event_id"] for m in landed}
    assert ids == {good[0]["metadata"]["event_id"], good[2]["metadata"]["event_id"]}


@pytest.mark.parametrize("target", ["missing.jsonl", "."])
def test_a_file_that_cannot_be_read_is_a_one_line_error(
    settings: Settings, tmp_path: Path, target: str
) -> None:
    result = produce_cli(settings, "DecisionMade", str(tmp_path / target))
    assert result.returncode == 2
    stderr = result.stderr.decode()
    assert "Traceback" not in stderr and f"cannot read {tmp_path / target}" in stderr
