"""Run the browser client's unit tests (tests/unit/client/js) under node's test runner.

The browser module has the Python SDK's semantics; these tests pin the same pure decisions
(backoff, close codes, dedupe) and the reconnect/resume/publish behaviour with a fake socket.
Node is Debian's ``nodejs`` package (a test package, like chromium); if it is missing
the test fails with that reason rather than being skipped.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

HERE = Path(__file__).parent


def test_browser_client_under_node() -> None:
    node = shutil.which("node")
    assert node, "node is needed to unit-test gateway/static/client.js"
    result = subprocess.run(
        [node, "--test", str(HERE / "js" / "client.test.mjs")],
        capture_output=True, text=True, timeout=120, cwd=HERE,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
