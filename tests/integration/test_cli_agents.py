"""`regstream agents load|list|remove` against a real broker, with the examples of
docs/reference/agents.md run as written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import orjson

from streams.agents import load_agents, read_agents
from streams.samples import AGENT_DIRECTORY
from streams.settings import Settings
from tests.integration.helpers import settings_env

DOC = Path(__file__).resolve().parents[2] / "docs" / "reference" / "agents.md"


def regstream(settings: Settings, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "streams.cli.main", *args], env=settings_env(settings),
        input=stdin, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def doc_blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", DOC.read_text(), re.S)


def console(block: str) -> tuple[str, list[str]]:
    """(the command after ``$ regstream``, the lines printed on stdout) of a console block."""
    command, *printed = block.strip().splitlines()
    return command.removeprefix("$ regstream "), printed


async def test_list_prints_the_demo_directory_as_documented(settings: Settings) -> None:
    await load_agents(settings, AGENT_DIRECTORY)
    command, printed = console(doc_blocks("console")[0])
    result = regstream(settings, *command.split())
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == printed[:-1]
    assert result.stderr.strip() == printed[-1].replace("ref.agents", settings.agents_topic)


async def test_load_adds_and_updates_then_changes_nothing(settings: Settings, tmp_path: Path) -> None:  # fmt: skip
    await load_agents(settings, AGENT_DIRECTORY)
    (tmp_path / "agents.jsonl").write_text(doc_blocks("json")[0])
    command, printed = console(doc_blocks("console")[1])
    first = subprocess.run(
        [sys.executable, "-m", "streams.cli.main", *command.split()], cwd=tmp_path,
        env=settings_env(settings), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == printed
    again = regstream(settings, "agents", "load", str(tmp_path / "agents.jsonl"))
    assert again.stdout.splitlines() == ["0 added, 0 updated, 0 removed, 2 unchanged"]
    agents = await read_agents(settings)
    assert agents["agent-kyc"]["name"] == "KYC screening (v2)"
    assert agents["agent-fraud"] == {"name": "Card fraud detection", "team": "payments"}
    assert len(agents) == len(AGENT_DIRECTORY) + 1


async def test_bad_lines_are_reported_and_good_ones_loaded(settings: Settings) -> None:
    lines = [
        '{"agent_id": "agent-a", "name": "A"}',
        "{not json",
        '{"name": "no id"}',
        '{"agent_id": "agent-b", "name": "  "}',
        "",
        '{"agent_id": "agent-c", "name": "C", "notes": "' + "x" * 20_000 + '"}',
        '{"agent_id": "agent-d", "name": "D"}',
    ]
    result = regstream(settings, "agents", "load", stdin="\n".join(lines) + "\n")
    assert result.returncode == 1
    reported = [line.split(":")[0] for line in result.stderr.splitlines()]
    assert reported == ["line 2", "line 3", "line 4", "line 6"]
    assert "agent_id must be a non-blank string" in result.stderr
    assert "name must be a non-blank string" in result.stderr
    assert result.stdout.splitlines()[-1] == "2 added, 0 updated, 0 removed, 0 unchanged"
    assert set(await read_agents(settings)) == {"agent-a", "agent-d"}


async def test_remove_and_the_json_round_trip(settings: Settings, tmp_path: Path) -> None:
    await load_agents(settings, AGENT_DIRECTORY)
    removed = regstream(settings, "agents", "remove", "agent-kyc", "agent-nobody")
    assert removed.stdout.splitlines() == [
        "removed agent-kyc", "0 added, 0 updated, 1 removed, 0 unchanged"
    ]  # fmt: skip
    listed = regstream(settings, "agents", "list", "--json")
    rows = [orjson.loads(line) for line in listed.stdout.splitlines()]
    assert [r["agent_id"] for r in rows] == sorted(set(AGENT_DIRECTORY) - {"agent-kyc"})
    (tmp_path / "back.jsonl").write_text(listed.stdout)
    again = regstream(settings, "agents", "load", str(tmp_path / "back.jsonl"))
    assert again.stdout.splitlines() == ["0 added, 0 updated, 0 removed, 6 unchanged"]


def test_an_unreadable_file_is_a_usage_error(settings: Settings, tmp_path: Path) -> None:
    result = regstream(settings, "agents", "load", str(tmp_path / "missing.jsonl"))
    assert result.returncode == 2
    assert result.stderr.startswith("error: cannot read")
