"""Reads the gateway's hostile-input corpus (tests/corpus/gateway/*.json) into test inputs.

The corpus is data so that it can be read, reviewed and extended without reading test code;
this module only turns its small notation into bytes and tokens: ``$now``/``$now+N`` (epoch
seconds), ``$repeat:C:N`` (C repeated N times), ``$token``/``$port`` (given by the runner), and
the signing modes of tokens.json. Shared by the unit tests and the live (integration) test.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from gateway.core.auth import AuthConfig, JwtVerifier, VerificationKey

CORPUS = Path(__file__).resolve().parents[2] / "corpus" / "gateway"
AUDIENCE, ISSUER = "regstream", "https://id.example"
HS1 = b"corpus-hmac-secret-of-32-bytes!!"
RS1 = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC1 = ec.generate_private_key(ec.SECP256R1())
ATTACKER_EC = ec.generate_private_key(ec.SECP256R1())
PUBLIC_URL = "https://gw.example.com"
ALLOWED_ORIGINS = ("https://dash.example.com", "https://*.corp.example")
_NOW = re.compile(r"\$now(?:([+-])(\d+(?:\.\d+)?))?")
_REPEAT = re.compile(r"\$repeat:(.):(\d+)")


def cases(name: str) -> list[dict[str, Any]]:
    """The cases of ``<name>.json``."""
    loaded: list[dict[str, Any]] = json.loads((CORPUS / f"{name}.json").read_text())["cases"]
    return loaded


def case_id(case: dict[str, Any]) -> str:
    return str(case["name"])


def expand(text: str, now: int | None = None, **values: str) -> str:
    """Apply ``$repeat``, ``$now`` and the named ``$values`` inside a string."""
    text = _REPEAT.sub(lambda m: m[1] * int(m[2]), text)
    stamp = int(time.time()) if now is None else now
    text = _NOW.sub(lambda m: _now_value(stamp, m), text)
    for key, value in values.items():
        text = text.replace(f"${key}", value)
    return text


def _now_value(now: int, match: re.Match[str]) -> str:
    if match[1] is None:
        return str(now)
    delta = float(match[2]) if "." in match[2] else int(match[2])
    return str(now + delta if match[1] == "+" else now - delta)


def _value(value: Any, now: int) -> Any:
    """A claim/header value: ``$now…`` strings become numbers, other ``$`` strings expand."""
    if isinstance(value, str) and _NOW.fullmatch(value):
        return json.loads(expand(value, now))
    return expand(value, now) if isinstance(value, str) else value


def frame_data(spec: dict[str, Any]) -> str | bytes:
    """The frame a frames.json case sends: text, or bytes for a binary frame."""
    if "text" in spec:
        return str(spec["text"])
    if "parts" in spec:
        return "".join(piece * times for piece, times in spec["parts"])
    if "base64_parts" in spec:
        return base64.b64decode("".join(piece * times for piece, times in spec["base64_parts"]))
    return base64.b64decode(spec["base64"])


def verifier(max_lifetime_s: int = 3600) -> JwtVerifier:
    """The verifier tokens.json is written against."""
    keys = (
        VerificationKey("hs1", "HS256", HS1),
        VerificationKey("rs1", "RS256", _public_pem(RS1)),
        VerificationKey("ec1", "ES256", _public_pem(EC1)),
    )
    config = AuthConfig(
        AUDIENCE,
        ISSUER,
        keys=keys,
        algorithms=frozenset({"HS256", "RS256", "ES256"}),
        max_lifetime_s=max_lifetime_s,
    )
    return JwtVerifier(config)


def _public_pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass(frozen=True)
class TokenForge:
    """Builds the token of a tokens.json case, signing exactly the bytes the case describes."""

    secret: bytes = HS1
    audience: str = AUDIENCE
    issuer: str = ISSUER
    kid: str = "hs1"

    def good_claims(self, now: int) -> dict[str, Any]:
        return {
            "sub": "alice",
            "aud": self.audience,
            "iss": self.issuer,
            "iat": now,
            "exp": now + 600,
            "topics": ["*"],
            "publish": [],
        }

    def build(self, case: dict[str, Any], now: int | None = None) -> str:
        stamp = int(time.time()) if now is None else now
        if "token" in case:
            return expand(case["token"], stamp)
        header = _merge({"alg": "HS256", "kid": self.kid, "typ": "JWT"}, case.get("header"), stamp)
        claims = _merge(self.good_claims(stamp), case.get("claims"), stamp)
        sign = case.get("sign", "hs1")
        if sign == "attacker-ec":
            public = ATTACKER_EC.public_key()
            header["jwk"] = jwt.algorithms.ECAlgorithm.to_jwk(public, as_dict=True)
        head = expand(case["header_raw"], stamp) if "header_raw" in case else json.dumps(header)
        body = expand(case["payload_raw"], stamp) if "payload_raw" in case else json.dumps(claims)
        signing_input = f"{_b64(head.encode())}.{_b64(body.encode())}"
        return f"{signing_input}.{self._signature(sign, signing_input.encode())}"

    def _signature(self, sign: str, data: bytes) -> str:
        if sign in ("none", "stripped"):
            return ""
        hmac_keys = {
            "hs1": self.secret,
            "wrong-secret": b"w" * 32,
            "rs1-public-key-as-hmac-secret": _public_pem(RS1),
        }
        if sign in hmac_keys:
            return _b64(hmac.new(hmac_keys[sign], data, hashlib.sha256).digest())
        algorithm = "RS256" if sign == "rs1-private" else "ES256"
        key = {"rs1-private": RS1, "ec1-private": EC1, "attacker-ec": ATTACKER_EC}[sign]
        signer = jwt.algorithms.get_default_algorithms()[algorithm]
        return _b64(signer.sign(data, key))


def _merge(base: dict[str, Any], changes: dict[str, Any] | None, now: int) -> dict[str, Any]:
    merged = dict(base)
    for key, value in (changes or {}).items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = _value(value, now)
    return merged
