"""The command line's conventions (streams/cli/conventions.py), checked without a broker: help
without type placeholders, `--version`, suggestions, impossible filters and ranges refused with
exit status 2, and docs/reference/cli.md generated from the commands."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from streams.cli.main import app
from streams.cli.reference import _commands

ROOT = Path(__file__).resolve().parents[3]
NOWHERE = "127.0.0.1:1"
PLACEHOLDER = re.compile(r"<(str|int|float|bool|path|uuid|list\[[^]]*\]|[a-z]+ range)>|\{[a-z_]+\}")


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGSTREAM_")}
    env["REGSTREAM_BOOTSTRAP_SERVERS"] = NOWHERE  # whatever connects fails at once
    return env


def regstream(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streams.cli.main", *args], env=clean_env(), input="",
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_the_reference_page_is_generated_from_the_commands() -> None:
    page = subprocess.run(
        [sys.executable, "-m", "streams.cli.reference"], env=clean_env(), cwd=ROOT,
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout  # fmt: skip
    assert page == (ROOT / "docs" / "reference" / "cli.md").read_text(), (
        "docs/reference/cli.md is stale: python -m streams.cli.reference > docs/reference/cli.md"
    )


def test_help_shows_no_type_placeholders() -> None:
    helps = dict(_commands(app.click_command(), ["regstream"], None))
    assert len(helps) > 25
    for name, text in helps.items():
        assert not PLACEHOLDER.search(text), f"{name}:\n{text}"
    replay = helps["regstream replay"]
    assert "Usage: regstream replay [OPTIONS] TOPIC\n" in replay
    assert "  -q, --quiet " in replay  # a flag alone, no <bool>
    assert "--where COND" in replay
    assert "Usage: regstream produce [OPTIONS] TYPE [FILE]\n" in helps["regstream produce"]


def test_version() -> None:
    from importlib.metadata import version

    result = regstream("--version")
    assert (result.returncode, result.stdout) == (0, f"regstream {version('regstream')}\n")


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["replya"], "No such command 'replya'. Did you mean 'replay'?"),
        (["replay", "DecisionMade", "--wher", "x=1"], "--where"),
        (["produce", "DecisonMade"], "unknown event type 'DecisonMade' (did you mean 'DecisionMade'?)"),
        (["produce", "live.decision_made"], "events go to events.decision_made"),
        (["replay", "live.decision_made", "--type", "Decison"], "(did you mean 'DecisionMade'?)"),
        (["replay", "DecisionMade", "--where", "nosuchfield=1"],
         "DecisionMade rows have no field 'nosuchfield'; fields: "),
        (["replay", "DecisionMade", "--where", "metadata.severty>=HIGH"],
         "no field 'metadata.severty' (did you mean 'metadata.severity'"),
        (["replay", "decision_made", "--where", "metadata.severity=high"],
         "metadata.severity is never 'high' (did you mean 'HIGH'?)"),
        (["replay", "SimulationUpdate", "--where", "status=RUNING"],
         "status is never 'RUNING' (did you mean 'RUNNING'?)"),
        (["replay", "DecisionMade", "--from", "2026-11-24", "--to", "2026-11-23"],
         "--from 2026-11-24T00:00:00.000Z is not before --to 2026-11-23T00:00:00.000Z"),
        (["replay", "DecisionMade", "--from", "2026-11-23", "--to", "2026-11-23"], "the range is empty"),
        (["replay", "DecisionMade", "--from", "0:50", "--to", "0:10"],
         "partition 0: --from offset 50 is after --to offset 10"),
        (["audit", "verify", "--from", "2026-11-24", "--to", "2026-11-23"], "is not before --to"),
        (["audit", "sessions", "--where", "subjekt=ana"], "no field 'subjekt' (did you mean 'subject'"),
        (["audit", "sessions", "--action", "replays"], "action is never 'REPLAYS' (did you mean 'REPLAY'?)"),
    ],
)  # fmt: skip
def test_impossible_requests_are_usage_errors_with_a_suggestion(args: list[str], said: str) -> None:
    """Each of these used to connect and print 0 rows (exit 0), or a bare error; now it is
    refused before anything connects (the broker address here answers nothing)."""
    result = regstream(*args)
    assert result.returncode == 2, result.stderr
    assert said in result.stderr
    assert "cannot reach Kafka" not in result.stderr
    assert "Traceback" not in result.stderr
