"""Both clients react to every close code the way ``gateway/core/errors.py`` defines it.

The table is the gateway's (``closing_errors``): retriable or not from the range, ``drops_token``
for the codes that blame the resume token, and the two retry codes that say *how* to retry. The
Python SDK derives its decisions from that module; the browser module cannot import Python, so
its copied constants and its ``decideClose`` are run under node and compared with the same table.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from gateway.client.policy import CLOSING_ERRORS, Decision, decide_close
from gateway.core.errors import (
    RETRY_RANGE,
    TERMINAL_RANGE,
    CloseCode,
    closing_errors,
    token_rejecting_codes,
)

CLIENT_JS = Path(__file__).resolve().parents[3] / "gateway" / "static" / "client.js"
CODES = [*closing_errors(), 1000, 1001, 1006, 1011, 3999, 4100, 4600, 5000]


def expected(code: int) -> Decision:
    """What the gateway's error table says a client must do after ``code``."""
    if code not in RETRY_RANGE and code not in TERMINAL_RANGE:
        return Decision(reconnect=True)  # the transport's codes, not our state
    if code in RETRY_RANGE:
        return Decision(
            reconnect=True,
            refresh_credentials=code == CloseCode.AUTH_EXPIRED,
            longer_backoff=code == CloseCode.RATE_LIMITED,
        )
    return Decision(reconnect=False, token_rejected=code in token_rejecting_codes())


def test_the_table_itself() -> None:
    table = closing_errors()
    assert all(cls().retriable == (code in RETRY_RANGE) for code, cls in table.items())
    assert token_rejecting_codes() == {4510, 4511, 4512, 4513, 4520}
    assert "token_forged" in CLOSING_ERRORS and "rate_limited" not in CLOSING_ERRORS


@pytest.mark.parametrize("code", CODES)
def test_the_python_client_follows_the_table(code: int) -> None:
    assert decide_close(code) == expected(code)


def browser(script: str) -> object:
    node = shutil.which("node")
    assert node, "node is needed to check gateway/static/client.js"
    module = json.dumps(CLIENT_JS.as_uri())
    run = subprocess.run(
        [node, "--input-type=module", "-e", f"import * as m from {module};\n{script}"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    return json.loads(run.stdout)


def test_the_browser_client_follows_the_table() -> None:
    got = browser(
        f"const codes = {json.dumps(CODES)};\n"
        "console.log(JSON.stringify({constants: m.CLOSE_CODES,"
        " decisions: codes.map((c) => m.decideClose(c))}));"
    )
    assert isinstance(got, dict)
    constants = got["constants"]
    assert constants["retry"] == [RETRY_RANGE[0], RETRY_RANGE[-1]]
    assert constants["terminal"] == [TERMINAL_RANGE[0], TERMINAL_RANGE[-1]]
    assert (constants["authExpired"], constants["rateLimited"]) == (
        CloseCode.AUTH_EXPIRED,
        CloseCode.RATE_LIMITED,
    )
    assert sorted(constants["tokenRejected"]) == sorted(token_rejecting_codes())
    assert sorted(constants["closingErrors"]) == sorted(CLOSING_ERRORS)
    for code, decision in zip(CODES, got["decisions"], strict=True):
        want = expected(code)
        assert decision.get("reconnect") == want.reconnect, code
        assert bool(decision.get("refreshCredentials")) == want.refresh_credentials, code
        assert bool(decision.get("longerBackoff")) == want.longer_backoff, code
        assert bool(decision.get("tokenRejected")) == want.token_rejected, code
