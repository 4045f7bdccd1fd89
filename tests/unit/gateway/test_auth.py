"""Handshake auth: token extraction, JWT verification, claims, origin allow-list."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from websockets.datastructures import Headers
from websockets.http11 import Request

from gateway.core.auth import (
    SUBPROTOCOL,
    AuthConfig,
    JwtVerifier,
    VerificationKey,
    extract_credentials,
    mint_token,
    offered_subprotocols,
    select_subprotocol,
)
from gateway.core.errors import (
    AuthUnavailable,
    CredentialsExpired,
    InvalidCredentials,
    MissingCredentials,
)
from gateway.core.origin import origin_allowed
from gateway.io.jwks import JwksKeys

AUD, ISS = "regstream", "https://id.example"
SECRET = b"h" * 32
EC_KEY = ec.generate_private_key(ec.SECP256R1())
EC_KEY2 = ec.generate_private_key(ec.SECP256R1())
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key: Any) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def verifier(**kw: Any) -> JwtVerifier:
    keys = kw.pop(
        "keys",
        (
            VerificationKey("hs1", "HS256", SECRET),
            VerificationKey("ec1", "ES256", pem(EC_KEY)),
            VerificationKey("rs1", "RS256", pem(RSA_KEY)),
        ),
    )
    algorithms = kw.pop("algorithms", frozenset({"HS256", "ES256", "RS256"}))
    return JwtVerifier(AuthConfig(AUD, ISS, keys=keys, algorithms=algorithms, **kw))


def mint(key: Any = SECRET, **kw: Any) -> str:
    kw.setdefault("sub", "alice")
    kw.setdefault("kid", "hs1")
    kw.setdefault("now_s", int(time.time()))
    kw.setdefault("audience", AUD)
    kw.setdefault("issuer", ISS)
    return mint_token(key, **kw)


# -- verification -------------------------------------------------------------------------------


def test_good_tokens_all_algorithms() -> None:
    v = verifier()
    p = v.verify(
        mint(
            topics=["Decision*"],
            publish=["CollaborationEvent"],
            replay_horizon_s=60,
            role="analyst",
        )
    )
    assert (p.sub, p.role, p.replay_horizon_s) == ("alice", "analyst", 60)
    assert p.may_read("DecisionMade") and not p.may_read("AuditTrailEntry")
    assert p.may_publish("CollaborationEvent") and not p.may_publish("DecisionMade")
    assert v.verify(mint(EC_KEY, kid="ec1", algorithm="ES256")).sub == "alice"
    assert v.verify(mint(RSA_KEY, kid="rs1", algorithm="RS256")).sub == "alice"


def test_alg_none_refused() -> None:
    claims = jwt.decode(mint(), options={"verify_signature": False})
    unsigned = jwt.encode(claims, "", algorithm="none", headers={"kid": "hs1"})
    with pytest.raises(InvalidCredentials, match="algorithm"):
        verifier().verify(unsigned)


def test_algorithm_outside_allow_list_refused() -> None:
    with pytest.raises(InvalidCredentials, match="algorithm"):
        verifier().verify(mint(SECRET * 2, algorithm="HS512"))


def test_key_bound_to_its_algorithm() -> None:
    """An HS256 token whose kid names the RSA key must not be checked as HMAC with the PEM."""
    forged = jwt.encode({"sub": "x"}, "k" * 32, algorithm="HS256", headers={"kid": "rs1"})
    with pytest.raises(InvalidCredentials, match="does not match its key"):
        verifier().verify(forged)


def test_expired_wrong_aud_wrong_iss_missing_claims() -> None:
    v = verifier()
    with pytest.raises(CredentialsExpired):
        v.verify(mint(now_s=int(time.time()) - 7200, lifetime_s=3600))
    with pytest.raises(InvalidCredentials, match="audience"):
        v.verify(mint(audience="other"))
    with pytest.raises(InvalidCredentials, match="issuer"):
        v.verify(mint(issuer="https://evil.example"))
    no_iat = jwt.encode(
        {"sub": "a", "aud": AUD, "iss": ISS, "exp": int(time.time()) + 60},
        SECRET,
        algorithm="HS256",
        headers={"kid": "hs1"},
    )
    with pytest.raises(InvalidCredentials, match="missing claim iat"):
        v.verify(no_iat)


def test_lifetime_cap_and_leeway() -> None:
    v = verifier(max_lifetime_s=3600)
    with pytest.raises(InvalidCredentials, match="lifetime"):
        v.verify(mint(lifetime_s=7200))
    # expired 10 s ago, inside the 30 s leeway
    assert v.verify(mint(now_s=int(time.time()) - 70, lifetime_s=60)).sub == "alice"


def test_bad_signature_and_garbage() -> None:
    v = verifier()
    with pytest.raises(InvalidCredentials, match="signature"):
        v.verify(mint(b"x" * 32))
    with pytest.raises(InvalidCredentials, match="malformed"):
        v.verify("not.a.jwt")
    with pytest.raises(InvalidCredentials):
        v.verify(mint(EC_KEY2, kid="ec1", algorithm="ES256"))


def test_unknown_kid_and_rotation() -> None:
    with pytest.raises(InvalidCredentials, match="unknown key"):
        verifier().verify(mint(kid="gone"))
    old, new = b"o" * 32, b"n" * 32
    both = verifier(
        keys=(VerificationKey("2024", "HS256", old), VerificationKey("2025", "HS256", new))
    )
    assert both.verify(mint(old, kid="2024")).sub == both.verify(mint(new, kid="2025")).sub
    only_new = verifier(keys=(VerificationKey("2025", "HS256", new),))
    with pytest.raises(InvalidCredentials):
        only_new.verify(mint(old, kid="2024"))


def test_single_key_without_kid() -> None:
    v = verifier(keys=(VerificationKey("only", "HS256", SECRET),))
    assert v.verify(mint(kid=None)).sub == "alice"
    with pytest.raises(InvalidCredentials, match="unknown key"):
        verifier().verify(mint(kid=None))


def test_bad_claim_types() -> None:
    with pytest.raises(InvalidCredentials, match="topics"):
        verifier().verify(mint(extra_claims={"topics": [1]}))
    with pytest.raises(InvalidCredentials, match="replay_horizon_s"):
        verifier().verify(mint(extra_claims={"replay_horizon_s": "1d"}))


def test_empty_subject_is_refused() -> None:
    """Regression: ``sub: ""`` was accepted, so every such token shared one anonymous subject
    (resume tokens, connection caps and audit records are keyed by it)."""
    with pytest.raises(InvalidCredentials, match="sub"):
        verifier().verify(mint(sub=""))


@pytest.mark.parametrize("claim", ["topics", "publish"])
def test_a_string_pattern_claim_is_malformed_not_one_pattern(claim: str) -> None:
    """Regression: ``"topics": "*"`` was read as the pattern list ``["*"]``; the contract is a
    list of strings, and a token breaking it is refused rather than interpreted."""
    with pytest.raises(InvalidCredentials, match=f"{claim} must be a list"):
        verifier().verify(mint(extra_claims={claim: "*"}))


def test_config_guards() -> None:
    with pytest.raises(ValueError, match="shorter"):
        verifier(keys=(VerificationKey("k", "HS256", b"short"),))
    with pytest.raises(ValueError, match="allow-list"):
        verifier(keys=(VerificationKey("k", "HS256", SECRET),), algorithms=frozenset({"ES256"}))
    with pytest.raises(ValueError, match="not supported"):
        verifier(algorithms=frozenset({"none"}))


class FakeJwks:
    def __init__(self, keys: dict[str, jwt.PyJWK], down: bool = False) -> None:
        self.keys, self.down, self.calls = keys, down, 0

    def get_signing_key(self, kid: str) -> jwt.PyJWK:
        self.calls += 1
        if self.down:
            raise jwt.PyJWKClientConnectionError("unreachable")
        if kid not in self.keys:
            raise jwt.PyJWKClientError("no such kid")
        return self.keys[kid]


def test_jwks_lookup_for_unknown_kid() -> None:
    jwk = jwt.PyJWK(
        jwt.algorithms.ECAlgorithm.to_jwk(EC_KEY2.public_key(), as_dict=True)
        | {"kid": "remote", "alg": "ES256"}
    )
    jwks = FakeJwks({"remote": jwk})
    v = JwtVerifier(AuthConfig(AUD, ISS, keys=(), algorithms=frozenset({"ES256"})), JwksKeys(jwks))
    assert v.verify(mint(EC_KEY2, kid="remote", algorithm="ES256")).sub == "alice"
    with pytest.raises(InvalidCredentials, match="unknown key"):
        v.verify(mint(EC_KEY2, kid="other", algorithm="ES256"))
    jwks.down = True
    with pytest.raises(AuthUnavailable):
        v.verify(mint(EC_KEY2, kid="remote", algorithm="ES256"))


def test_jwks_symmetric_keys_are_not_trusted() -> None:
    """A JWKS is public: an HMAC ("oct") key found there is a secret anyone can read."""
    leaked = b"k" * 32
    jwk = jwt.PyJWK({"kty": "oct", "k": jwt.utils.base64url_encode(leaked).decode(), "kid": "oct"})
    v = JwtVerifier(
        AuthConfig(AUD, ISS, algorithms=frozenset({"HS256"})), JwksKeys(FakeJwks({"oct": jwk}))
    )
    with pytest.raises(InvalidCredentials, match="asymmetric"):
        v.verify(mint(leaked, kid="oct"))


def test_errors_never_contain_the_token() -> None:
    token = mint(audience="other")
    with pytest.raises(InvalidCredentials) as info:
        verifier().verify(token)
    assert token not in str(info.value) and token.split(".")[1] not in repr(info.value)


# -- extraction ---------------------------------------------------------------------------------


def test_bearer_from_header() -> None:
    creds = extract_credentials(Headers({"Authorization": "Bearer abc.def.ghi"}))
    assert (creds.token, creds.via) == ("abc.def.ghi", "header")
    assert "abc" not in repr(creds)


def test_bearer_from_subprotocol_slot() -> None:
    headers = Headers()
    headers["Sec-WebSocket-Protocol"] = f"{SUBPROTOCOL}, bearer.abc.def.ghi"
    creds = extract_credentials(headers)
    assert (creds.token, creds.via) == ("abc.def.ghi", "subprotocol")
    offered = offered_subprotocols(headers)
    assert select_subprotocol(offered) == SUBPROTOCOL  # never echoes the bearer entry
    assert select_subprotocol(["bearer.x"]) is None


def test_query_string_is_ignored() -> None:
    request = Request("/ws?access_token=abc.def.ghi&token=abc.def.ghi", Headers())
    with pytest.raises(MissingCredentials):
        extract_credentials(request.headers)


def test_header_wins_and_junk_ignored() -> None:
    headers = Headers()
    headers["Authorization"] = "Basic Zm9vOmJhcg=="
    headers["Sec-WebSocket-Protocol"] = "regstream.v1, bearer."
    with pytest.raises(MissingCredentials):
        extract_credentials(headers)
    headers["Authorization"] = "Bearer fromheader"
    headers["Sec-WebSocket-Protocol"] = "bearer.fromslot"
    assert extract_credentials(headers).token == "fromheader"


# -- origin -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("origin", "ok"),
    [
        ("https://app.example.com", True),
        ("https://APP.example.com/", True),
        ("https://eu.dash.example.com", True),
        ("https://example.com", False),
        ("http://eu.example.com", False),
        ("https://evil.com", False),
        ("https://example.com.evil.com", False),
        ("https://app.example.com:8443", False),
        ("null", False),
        ("http://localhost:5173", True),
        (None, True),
    ],
)
def test_origin_allow_list(origin: str | None, ok: bool) -> None:
    allowed = ["https://app.example.com", "https://*.example.com", "http://localhost:5173"]
    assert origin_allowed(origin, allowed) is ok


def test_origin_missing_can_be_refused() -> None:
    assert not origin_allowed(None, ["*"], allow_missing=False)
    assert origin_allowed("https://anything.test", ["*"])
