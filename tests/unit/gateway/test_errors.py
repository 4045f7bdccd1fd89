"""The close-code table: ranges mean retry / don't, and docs/protocol.md lists exactly it."""

from __future__ import annotations

import re
from pathlib import Path

from gateway.core.errors import (
    CloseCode,
    ClosingError,
    RateLimited,
    RequestError,
    closing_errors,
    is_retriable_close,
)

DOC = Path(__file__).parents[3] / "docs" / "protocol.md"


def test_every_close_code_has_one_error_and_the_range_decides_retry() -> None:
    table = closing_errors()
    assert sorted(table) == sorted(int(c) for c in CloseCode)
    for code, cls in table.items():
        assert 4000 <= code <= 4999
        assert cls().retriable is is_retriable_close(code) is (code < 4500)
        assert issubclass(cls, ClosingError)


def test_request_errors_carry_codes() -> None:
    assert RateLimited().retriable and RateLimited().code == "rate_limited"
    assert issubclass(RateLimited, RequestError) and RateLimited.close_code is None


def test_protocol_doc_lists_the_table() -> None:
    rows = re.findall(r"^\|\s*(4\d{3})\s*\|\s*`([a-z_]+)`", DOC.read_text(), re.MULTILINE)
    assert {int(code): name for code, name in rows} == {
        code: cls.code for code, cls in closing_errors().items()
    }
