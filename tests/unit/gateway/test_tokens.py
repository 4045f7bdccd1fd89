"""Resume tokens: round trip, rotation, and every way to refuse one."""

from __future__ import annotations

import base64
import zlib

import orjson
import pytest

from gateway.core import tokens
from gateway.core.errors import (
    CloseCode,
    TokenExpired,
    TokenForeignSubject,
    TokenForged,
    TokenUnknownKey,
)
from gateway.core.tokens import ResumeKeyring, SubscriptionPosition
from tests.unit.gateway.helpers import NOW

POS = SubscriptionPosition(
    "s1", "DecisionMade", "topic-id-1", {0: 12, 3: 40}, {"severity": {"gte": "HIGH"}}
)


def ring(**kw: object) -> ResumeKeyring:
    return ResumeKeyring({"old": b"o" * 32, "new": b"n" * 32}, **kw)  # type: ignore[arg-type]


def test_round_trip_newest_key_signs() -> None:
    token = ring().issue("alice", [POS], NOW)
    assert token.startswith("rt1.new.")
    state = ring().verify(token, subject="alice", now_ms=NOW + 1)
    assert state.sub == "alice" and state.find("s1") == POS and state.find("nope") is None


def test_rotation_old_key_still_verifies() -> None:
    token = ResumeKeyring({"old": b"o" * 32}).issue("alice", [POS], NOW)
    assert ring().verify(token, subject="alice", now_ms=NOW).find("s1") == POS


def test_unknown_key_id() -> None:
    token = ResumeKeyring({"gone": b"g" * 32}).issue("alice", [POS], NOW)
    with pytest.raises(TokenUnknownKey) as info:
        ring().verify(token, subject="alice", now_ms=NOW)
    assert info.value.close_code == CloseCode.TOKEN_UNKNOWN_KEY and not info.value.retriable


def test_tampered_payload() -> None:
    prefix, kid, payload, mac = ring().issue("alice", [POS], NOW).split(".")
    body = orjson.loads(
        zlib.decompress(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    )
    body["subs"][0]["o"]["0"] = 0  # rewind
    forged = base64.urlsafe_b64encode(zlib.compress(orjson.dumps(body))).rstrip(b"=").decode()
    with pytest.raises(TokenForged):
        ring().verify(f"{prefix}.{kid}.{forged}.{mac}", subject="alice", now_ms=NOW)


def spellings(segment: str) -> list[str]:
    """Other spellings of a base64url segment that a lenient decoder reads as the same bytes:
    the unused low bits of the last character set, characters outside the alphabet, padding."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    unused = {2: 4, 3: 2}.get(len(segment) % 4, 0)  # bits of the last character not decoded
    last = alphabet.index(segment[-1])
    low_bits = [
        segment[:-1] + alphabet[last ^ bit] for bit in (1, 2, 4, 8)[:unused] if last ^ bit < 64
    ]
    return [*low_bits, segment + "=", segment[:4] + "!" + segment[4:], segment + "\n"]


@pytest.mark.parametrize("part", [2, 3], ids=["payload", "mac"])
def test_only_the_canonical_base64_spelling_verifies(part: int) -> None:
    good = ring().issue("alice", [POS], NOW)
    parts = good.split(".")
    altered = spellings(parts[part])
    assert altered
    for spelling in altered:
        tampered = ".".join([*parts[:part], spelling, *parts[part + 1 :]])
        with pytest.raises(TokenForged):
            ring().verify(tampered, subject="alice", now_ms=NOW)


def test_same_kid_other_secret() -> None:
    token = ResumeKeyring({"new": b"x" * 32}).issue("alice", [POS], NOW)
    with pytest.raises(TokenForged):
        ring().verify(token, subject="alice", now_ms=NOW)


@pytest.mark.parametrize(
    "junk",
    [
        "",
        "rt1",
        "rt1.new.a.b.c",
        "rt2.new.a.b",
        "rt1.new.!!.??",
        5,
        None,
        "rt1.new." + "A" * 40000 + ".x",
        "rt1.new.é.x",
    ],
)
def test_malformed(junk: object) -> None:
    with pytest.raises((TokenForged, TokenUnknownKey)):
        ring().verify(junk, subject="alice", now_ms=NOW)


def test_foreign_subject_and_expiry() -> None:
    keyring = ring(ttl_s=60)
    token = keyring.issue("alice", [POS], NOW)
    with pytest.raises(TokenForeignSubject):
        keyring.verify(token, subject="mallory", now_ms=NOW)
    with pytest.raises(TokenExpired):
        keyring.verify(token, subject="alice", now_ms=NOW + 60_000)


def test_many_subscriptions_stay_compact() -> None:
    subs = [
        SubscriptionPosition(
            f"sub-{i}",
            "DecisionMade",
            "xUe2Q0aQRk2z1Vd8d0pWbA",
            {p: 10_000_000 + p for p in range(12)},
            {"agent_id": f"agent-{i}"},
        )
        for i in range(64)
    ]
    token = ring().issue("alice", subs, NOW)
    assert len(token) < 16 * 1024
    assert len(ring().verify(token, subject="alice", now_ms=NOW).subscriptions) == 64


def test_key_guards() -> None:
    with pytest.raises(ValueError, match="shorter"):
        ResumeKeyring({"k": b"short"})
    with pytest.raises(ValueError, match="key id"):
        ResumeKeyring({"bad.kid": b"k" * 32})
    with pytest.raises(ValueError, match="active"):
        ResumeKeyring({"k": b"k" * 32}, active="other")


def test_a_token_deflated_with_the_full_window_still_verifies() -> None:
    """Tokens are deflated with a window sized to them; those of older gateways (zlib's default
    window) must still verify on an upgraded one during a rolling upgrade."""
    body = {"sub": "alice", "iat": NOW, "exp": NOW + 60_000,
            "subs": [{"id": "s1", "t": "DecisionMade", "e": "E", "f": None, "o": {"0": 7}}]}  # fmt: skip
    keyring = ring()
    signed = f"rt1.new.{tokens._b64(zlib.compress(orjson.dumps(body), 6))}"
    token = f"{signed}.{tokens._b64(keyring._mac('new', signed))}"
    assert keyring.verify(token, subject="alice", now_ms=NOW).subscriptions[0].offsets == {0: 7}
