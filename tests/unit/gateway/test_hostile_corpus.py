"""The gateway's hostile-input corpus (tests/corpus/gateway): every case gets its documented
answer. Frames go through a session, tokens through the JWT verifier, handshakes through the
request checks and the verifier, exactly as the server chains them; nothing else may escape."""

from __future__ import annotations

from typing import Any

import pytest
from websockets.datastructures import Headers

from gateway.core.errors import GatewayError, HandshakeError
from gateway.core.handshake import Handshake
from gateway.core.origin import OriginPolicy, own_origins
from tests.unit.gateway.corpus import (
    ALLOWED_ORIGINS,
    PUBLIC_URL,
    TokenForge,
    case_id,
    cases,
    expand,
    frame_data,
    verifier,
)
from tests.unit.gateway.helpers import Client

FRAMES = cases("frames")
TOKENS = cases("tokens")
HANDSHAKES = [c for c in cases("handshake") if "raw" not in c]
VERIFIER = verifier()
FORGE = TokenForge()


@pytest.mark.parametrize("case", FRAMES, ids=case_id)
def test_frame_case(case: dict[str, Any]) -> None:
    client = Client()
    client.frames.clear()  # the hello
    replies = client.send(frame_data(case["data"]))
    expect = case["expect"]
    errors = [f for f in replies if f["op"] == "error"]
    if "close" in expect:
        assert client.close is not None and client.close[0] == expect["close"], replies
        assert errors, "a refusal that closes still says why in an error frame"
    else:
        assert client.close is None, f"closed with {client.close}"
    if "error" in expect:
        assert [e["code"] for e in errors] == [expect["error"]], replies
        assert expect.get("message", "") in errors[0]["message"]
        assert len(errors[0]["message"]) <= 200
    if "reply" in expect:
        assert [f["op"] for f in replies] == [expect["reply"]]
    if expect.get("accepted"):
        assert errors == [], errors


@pytest.mark.parametrize("case", TOKENS, ids=case_id)
def test_token_case(case: dict[str, Any]) -> None:
    token = FORGE.build(case)
    if case["expect"] == "ok":
        assert VERIFIER.verify(token).sub == "alice"
        return
    with pytest.raises(HandshakeError) as refused:
        VERIFIER.verify(token)
    assert refused.value.code == case["expect"]
    assert refused.value.http_status == 401
    assert not token or token not in str(refused.value), "a refusal never quotes the token"


def handshake() -> Handshake:
    own = own_origins(PUBLIC_URL, "0.0.0.0", 8080, tls=False)
    return Handshake(OriginPolicy((*own, *ALLOWED_ORIGINS)))


def admit(headers: Headers) -> int:
    """What the server answers for these headers: 101, or the refusal's HTTP status."""
    credentials = handshake().screen(headers)
    VERIFIER.verify(credentials.token)
    return 101


@pytest.mark.parametrize("case", HANDSHAKES, ids=case_id)
def test_handshake_case(case: dict[str, Any]) -> None:
    token = FORGE.build({})
    headers = Headers()
    for name, value in case["headers"]:
        headers[name] = expand(value, token=token, port="8080")
    expect = case["expect"]
    if expect["status"] == 101:
        assert admit(headers) == 101
        return
    with pytest.raises(GatewayError) as refused:
        admit(headers)
    assert isinstance(refused.value, HandshakeError), refused.value
    assert (refused.value.http_status, refused.value.code) == (expect["status"], expect["error"])
