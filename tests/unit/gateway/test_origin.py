"""The gateway's own origins come from configuration, never from the request's Host header."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from websockets.datastructures import Headers

from gateway.core.errors import OriginNotAllowed, UnsupportedSubprotocol
from gateway.core.handshake import Handshake, check_subprotocols
from gateway.core.origin import OriginPolicy, origin_of, own_origins, valid_entry
from gateway.io.settings import GatewaySettings


@pytest.mark.parametrize(
    ("public_url", "host", "tls", "expected"),
    [
        ("https://gw.example.com/regstream/", "0.0.0.0", False, ("https://gw.example.com",)),
        (None, "127.0.0.1", False, ("http://localhost:8080", "http://127.0.0.1:8080", "http://[::1]:8080")),
        (None, "::1", True, ("https://localhost:8080", "https://127.0.0.1:8080", "https://[::1]:8080")),
        (None, "10.1.2.3", False, ("http://10.1.2.3:8080",)),
        (None, "fd00::5", False, ("http://[fd00::5]:8080",)),
        (None, "gw.internal", True, ("https://gw.internal:8080",)),
        (None, "0.0.0.0", False, ()),
        (None, "::", False, ()),
    ],
)  # fmt: skip
def test_own_origins_from_configuration(
    public_url: str | None, host: str, tls: bool, expected: tuple[str, ...]
) -> None:
    assert own_origins(public_url, host, 8080, tls=tls) == expected


def test_a_forged_host_header_does_not_make_a_foreign_origin_ours() -> None:
    """Regression: the server compared Origin with the client's own Host header, so a request
    with ``Host: evil.example`` and ``Origin: https://evil.example`` (a forged header, or any
    page after DNS rebinding) passed as same-origin."""
    gate = Handshake(OriginPolicy(own_origins(None, "127.0.0.1", 8080, tls=False)))
    forged = Headers([("Host", "evil.example:8080"), ("Origin", "http://evil.example:8080")])
    forged["Authorization"] = "Bearer x.y.z"
    with pytest.raises(OriginNotAllowed):
        gate.screen(forged)
    ours = Headers([("Host", "evil.example:8080"), ("Origin", "http://localhost:8080")])
    ours["Authorization"] = "Bearer x.y.z"
    assert gate.screen(ours).token == "x.y.z"  # the Host header plays no part either way


def test_subprotocol_rule() -> None:
    check_subprotocols([])
    check_subprotocols(["bearer.abc"])
    check_subprotocols(["regstream.v1", "bearer.abc"])
    with pytest.raises(UnsupportedSubprotocol):
        check_subprotocols(["regstream.v2"])
    with pytest.raises(UnsupportedSubprotocol):
        check_subprotocols(["REGSTREAM.V1"])  # subprotocol names are case-sensitive


@pytest.mark.parametrize(
    ("entry", "ok"),
    [
        ("*", True),
        ("https://app.example.com", True),
        ("https://*.example.com", True),
        ("http://localhost:5173", True),
        ("example.com", False),
        ("https://app.example.com/path", False),
        ("ftp://app.example.com", False),
        ("https://user@app.example.com", False),
        ("https://app.example.com:99999", False),
    ],
)
def test_allow_list_entries_that_can_never_match_are_refused(entry: str, ok: bool) -> None:
    assert valid_entry(entry) is ok
    if not ok:
        with pytest.raises(ValidationError, match="not origins"):
            GatewaySettings(allowed_origins=[entry])


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://gw.example.com", "https://gw.example.com"),
        ("HTTPS://GW.example.com:8443/x/", "https://gw.example.com:8443"),
        ("gw.example.com", None),
        ("https://gw.example.com/?q=1", None),
        ("https://a@gw.example.com", None),
        ("wss://gw.example.com", None),
    ],
)
def test_public_url(url: str, origin: str | None) -> None:
    assert origin_of(url) == origin
    if origin is None:
        with pytest.raises(ValidationError, match="public_url"):
            GatewaySettings(public_url=url)
