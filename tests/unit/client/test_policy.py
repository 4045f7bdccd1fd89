"""Close codes and handshake statuses → reconnect or not, decided by the range alone."""

from __future__ import annotations

import pytest

from gateway.client.policy import decide_close, decide_handshake
from gateway.core.errors import CloseCode, closing_errors


@pytest.mark.parametrize("code", [4000, 4001, 4002, 4003, 4004, 4100, 4499])
def test_retry_range_reconnects(code: int) -> None:
    assert decide_close(code).reconnect


@pytest.mark.parametrize("code", [4500, 4510, 4511, 4512, 4513, 4520, 4600, 4999])
def test_terminal_range_does_not(code: int) -> None:
    assert not decide_close(code).reconnect


def test_every_documented_code_agrees_with_the_gateway() -> None:
    for code, error in closing_errors().items():
        assert decide_close(code).reconnect == error("x").retriable, code


@pytest.mark.parametrize("code", [None, 1000, 1001, 1006, 1011, 1012, 3000])
def test_transport_closes_are_retried(code: int | None) -> None:
    decision = decide_close(code)
    assert decision.reconnect and not decision.refresh_credentials


def test_how_to_retry() -> None:
    assert decide_close(CloseCode.AUTH_EXPIRED).refresh_credentials
    assert decide_close(CloseCode.RATE_LIMITED).longer_backoff
    assert not decide_close(CloseCode.SERVER_DRAINING).longer_backoff


def test_token_codes_allow_a_fresh_start_and_others_do_not() -> None:
    assert decide_close(CloseCode.TOKEN_EXPIRED).token_rejected
    assert decide_close(CloseCode.POSITION_BEYOND_END).token_rejected
    assert not decide_close(CloseCode.FRAME_TOO_LARGE).token_rejected
    assert not decide_close(CloseCode.SLOW_CONSUMER).token_rejected


@pytest.mark.parametrize(
    ("status", "code", "reconnect", "refresh"),
    [
        (401, "credentials_expired", True, True),
        (401, "invalid_credentials", False, False),
        (401, "missing_credentials", False, False),
        (403, "origin_not_allowed", False, False),
        (429, "too_many_connections", True, False),
        (503, "auth_unavailable", True, False),
        (502, "", True, False),
        (404, "", False, False),
    ],
)
def test_handshake(status: int, code: str, reconnect: bool, refresh: bool) -> None:
    decision = decide_handshake(status, code)
    assert (decision.reconnect, decision.refresh_credentials) == (reconnect, refresh)
