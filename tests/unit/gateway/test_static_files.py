"""The dashboard's files are read-only: GET and HEAD, everything else 405 with Allow."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.io.static_files import StaticFiles


@pytest.fixture
def static(tmp_path: Path) -> StaticFiles:
    (tmp_path / "index.html").write_text("<!doctype html><title>regstream</title>")
    return StaticFiles(tmp_path)


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"])
@pytest.mark.parametrize("path", ["/", "/index.html", "/missing.js"])
def test_other_methods_are_405_with_allow(static: StaticFiles, method: str, path: str) -> None:
    """Regression: POST/PUT/DELETE on a static file answered 200 with the file."""
    reply = static.serve(method, path)
    assert reply.status_code == 405
    assert reply.headers["Allow"] == "GET, HEAD"
    assert b"regstream" not in reply.body


def test_get_and_head(static: StaticFiles) -> None:
    got = static.serve("GET", "/")
    assert got.status_code == 200 and b"regstream" in got.body
    head = static.serve("HEAD", "/")
    assert head.status_code == 200 and head.body == b""
    assert head.headers["Content-Length"] == got.headers["Content-Length"] == str(len(got.body))
    assert head.headers["Content-Type"] == got.headers["Content-Type"]
    assert static.serve("HEAD", "/missing.js").status_code == 404
