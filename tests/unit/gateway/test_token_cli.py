"""`regstream token mint` never prints a token the gateway would refuse."""

from __future__ import annotations

import subprocess
import sys


def mint(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streams.cli.main", "token", "mint", *args],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_a_blank_subject_is_refused_with_the_reason() -> None:
    """It printed a token that every gateway then refused at the handshake."""
    result = mint("--sub", " ")
    assert result.returncode == 2 and result.stdout == ""
    assert "sub must be a non-empty printable string" in result.stderr


def test_a_valid_subject_gets_a_token() -> None:
    result = mint("--sub", "ana")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(".") == 2
