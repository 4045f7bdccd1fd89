"""`regstream produce`: good lines go out, bad lines are reported by number, exit status says so."""

from __future__ import annotations

import re
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


PRODUCE_DOC = Path(__file__).resolve().parents[2] / "docs" / "reference" / "produce.md"


def minimal_lines() -> dict[str, str]:
    """Event type → the minimal line docs/reference/produce.md gives for it."""
    text = PRODUCE_DOC.read_text().split("## A minimal line per type", 1)[1]
    paragraph = r"(?:^|\n\n)([A-Z]\w+)\b[^\n]*(?:\n[^\n]+)*"
    found = re.findall(paragraph + r"\n\n```json\n(.+?)\n```", text)
    return dict(found)


async def test_the_minimal_line_of_every_type_is_published_and_passes_the_pipeline(
    settings: Settings,
) -> None:
    """Each documented minimal line goes out with its envelope filled in, and the pipeline's
    checks accept the result (it would not be dead-lettered)."""
    from schemas.contract import EVENT_TYPES
    from streams.pipeline.checks import validate

    lines = minimal_lines()
    assert sorted(lines) == sorted(EVENT_TYPES)
    await create_topics(settings)
    for event_type, line in lines.items():
        result = produce_cli(settings, event_type, stdin=(line + "\n").encode())
        out, err = result.stdout.decode(), result.stderr.decode()
        assert result.returncode == 0, err
        assert out.strip() == "sent 1, failed 0"
        assert "filled in (absent from the lines): event_id on 1" in err
        [landed] = await read_all(settings, settings.catalog.input_topic(event_type), 1)
        record = AvroCodec().decode(landed.value).record
        assert record["metadata"]["event_type"] == event_type
        assert record["metadata"]["source"] == "regstream-produce"
        now_ms = record["metadata"]["occurred_at"]
        assert validate(event_type, record, now_ms=now_ms, max_future_skew_ms=0).is_pass, record


async def test_the_documented_session_and_given_fields_kept(settings: Settings) -> None:
    """The reference's first console example, as printed; a line's own envelope fields win and
    a wrong one fails that line only."""
    await create_topics(settings)
    block = re.findall(r"```console\n(.*?)```", PRODUCE_DOC.read_text(), re.S)[0]
    command, *printed = block.strip().splitlines()
    line, argv = re.fullmatch(r"\$ echo '(.*)' \| regstream produce (.*)", command).groups()  # type: ignore[union-attr]
    result = produce_cli(settings, *argv.split(), stdin=(line + "\n").encode())
    out, err = result.stdout.decode(), result.stderr.decode()
    assert [*err.splitlines(), *out.splitlines()] == printed

    own_id = "0d4f6c1e-8a0b-4e55-9a7e-1f2e3d4c5b6a"
    given = {"metadata": {"event_id": own_id, "severity": "HIGH", "source": "s"},
             "agent_id": "agent-kyc", "status": "ERROR"}  # fmt: skip
    wrong = {"metadata": {"severity": "URGENT"}, "agent_id": "agent-kyc", "status": "ERROR"}
    lines = b"\n".join(orjson.dumps(item) for item in (given, wrong))
    to_topic = [settings.catalog.input_topic("AgentStatusUpdate"), "--source", "batch-7"]
    result = produce_cli(settings, *to_topic, stdin=lines)
    out, err = result.stdout.decode(), result.stderr.decode()
    assert result.returncode == 1
    assert out.strip() == "sent 1, failed 1"
    assert "line 2:" in err and "URGENT" in err
    assert "event_id" not in err.split("filled in", 1)[1]
    landed = await read_all(settings, settings.catalog.input_topic("AgentStatusUpdate"), 2)
    records = [AvroCodec().decode(m.value).record for m in landed]
    mine = [r for r in records if r["metadata"]["event_id"] == own_id]
    assert [(r["metadata"]["severity"], r["metadata"]["source"]) for r in mine] == [("HIGH", "s")]
