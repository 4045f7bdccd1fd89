"""Every command that needs Kafka says so in one clean line when none answers: no traceback, no
"Unclosed AIOKafka..." noise, exit status 1.

The bootstrap address is a loopback port nothing listens on, so each command fails at once.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

NOWHERE = "127.0.0.1:1"
COMMANDS = [
    ["gateway", "--port", "0", "--ops-port", "0"],
    ["dlq", "inspect"],
    ["dlq", "replay", "--offset", "0:0"],
    ["demo", "--limit", "1"],
    ["produce", "DecisionMade"],
    ["worker"],
    ["topics", "create"],
    ["replay", "live.decision_made", "--quiet"],
    ["audit", "verify", "--quiet"],
    ["audit", "sessions"],
    ["agents", "list"],
    ["agents", "load"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_no_broker_is_one_clean_error(command: list[str], tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGSTREAM_")}
    env["REGSTREAM_BOOTSTRAP_SERVERS"] = NOWHERE
    env["REGSTREAM_WORKER_DATA_DIR"] = str(tmp_path / "worker")
    result = subprocess.run(
        [sys.executable, "-m", "streams.cli.main", *command],
        env=env,
        cwd=tmp_path,
        input=b'{"metadata": {}}\n',
        capture_output=True,
        timeout=120,
    )
    err = result.stderr.decode(errors="replace")
    assert result.returncode == 1, err
    assert f"cannot reach Kafka at {NOWHERE}" in err
    assert "Traceback" not in err, err
    assert "Unclosed" not in err, err
