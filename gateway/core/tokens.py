"""Resume tokens: signed snapshots of where every subscription of a connection stands.

A token lets a client reconnect to *any* gateway instance and continue without loss: it holds,
per subscription, the topic, its epoch (the Kafka topic id, so a recreated topic is detected,
never silently replayed), the filter, and per partition the **next offset** to deliver. The
gateway keeps no session state anywhere but Kafka; the token is the state, so it must be
unforgeable (HMAC-SHA256), bound to the JWT subject, and short-lived.

Format: ``rt1.<kid>.<base64url(deflate(JSON))>.<base64url(HMAC-SHA256)>``, where the MAC covers
everything before the last dot. Tokens grow with subscriptions and partitions (plus filters,
capped at 1 KiB each), so the JSON is deflated; it is inflated only after the MAC matched, and
with a bound, so a token cannot be a decompression bomb. Several keys may verify (rotation); the
``active`` one signs. Checks run in this order so a forger learns nothing: shape/size → key id →
MAC (constant time) → contents → subject → expiry.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from gateway.core.errors import TokenExpired, TokenForeignSubject, TokenForged, TokenUnknownKey

PREFIX = "rt1"
KID_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
MIN_KEY_BYTES = 32
MAX_TOKEN_BYTES = 60 * 1024  # a token must fit in a subscribe frame (64 KiB by default)
MAX_BODY_BYTES = 1024 * 1024


@dataclass(frozen=True)
class SubscriptionPosition:
    """One subscription inside a token: ``offsets`` maps partition → next offset to deliver."""

    id: str
    topic: str
    epoch: str
    offsets: Mapping[int, int]
    filter: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class ResumeState:
    """The verified contents of a resume token."""

    sub: str
    issued_at_ms: int
    expires_at_ms: int
    subscriptions: tuple[SubscriptionPosition, ...] = field(default=())

    def find(self, sub_id: str) -> SubscriptionPosition | None:
        return next((s for s in self.subscriptions if s.id == sub_id), None)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


B64_RE = re.compile(r"^[A-Za-z0-9_-]*$")


def _unb64(text: str) -> bytes:
    """Strict base64url without padding: only its alphabet, and only the one canonical spelling
    (the unused low bits of the last character zero). The MAC segment is not covered by the MAC,
    so a lenient decoder would accept altered tokens that decode to the same bytes."""
    if not B64_RE.match(text) or len(text) % 4 == 1:
        raise ValueError("not base64url")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if _b64(data) != text:
        raise ValueError("not the canonical base64url spelling")
    return data


class ResumeKeyring:
    """Signs and verifies resume tokens. ``keys`` maps key id → secret (≥ 32 bytes)."""

    def __init__(
        self,
        keys: Mapping[str, bytes],
        *,
        active: str | None = None,
        ttl_s: int = 24 * 3600,
        max_token_bytes: int = MAX_TOKEN_BYTES,
    ) -> None:
        if not keys:
            raise ValueError("at least one resume-token key is required")
        for kid, secret in keys.items():
            if not KID_RE.match(kid):
                raise ValueError(f"resume-token key id {kid!r} must match {KID_RE.pattern}")
            if len(secret) < MIN_KEY_BYTES:
                raise ValueError(f"resume-token key {kid!r} is shorter than {MIN_KEY_BYTES} bytes")
        self._keys = dict(keys)
        self._active = active if active is not None else next(reversed(self._keys))
        if self._active not in self._keys:
            raise ValueError(f"active key {self._active!r} is not in the key set")
        self.ttl_ms = ttl_s * 1000
        self.max_token_bytes = max_token_bytes

    def _mac(self, kid: str, signed: str) -> bytes:
        return hmac.new(self._keys[kid], signed.encode("ascii"), hashlib.sha256).digest()

    def issue(self, sub: str, subscriptions: Iterable[SubscriptionPosition], now_ms: int) -> str:
        body = {
            "sub": sub,
            "iat": now_ms,
            "exp": now_ms + self.ttl_ms,
            "subs": [
                {
                    "id": s.id,
                    "t": s.topic,
                    "e": s.epoch,
                    "f": s.filter or None,
                    "o": {str(p): o for p, o in sorted(s.offsets.items())},
                }
                for s in subscriptions
            ],
        }
        signed = f"{PREFIX}.{self._active}.{_b64(_deflate(orjson.dumps(body)))}"
        return f"{signed}.{_b64(self._mac(self._active, signed))}"

    def verify(self, token: object, *, subject: str, now_ms: int) -> ResumeState:
        """Return the token's contents or raise a :class:`ResumeTokenError` subclass."""
        if not isinstance(token, str) or len(token) > self.max_token_bytes or not token.isascii():
            raise TokenForged("resume token is malformed")
        parts = token.split(".")
        if len(parts) != 4 or parts[0] != PREFIX:
            raise TokenForged("resume token is malformed")
        _, kid, payload, mac = parts
        if kid not in self._keys:
            raise TokenUnknownKey("resume token was signed with a key this gateway does not hold")
        try:
            given = _unb64(mac)
            raw = _unb64(payload)
        except (binascii.Error, ValueError):
            raise TokenForged("resume token is malformed") from None
        if not hmac.compare_digest(given, self._mac(kid, f"{PREFIX}.{kid}.{payload}")):
            raise TokenForged("resume token signature does not match")
        inflater = zlib.decompressobj()
        try:
            raw = inflater.decompress(raw, MAX_BODY_BYTES)
        except zlib.error:
            raise TokenForged("resume token contents are invalid") from None
        if inflater.unconsumed_tail:
            raise TokenForged("resume token contents are too large")
        state = _parse_body(raw)
        if state.sub != subject:
            raise TokenForeignSubject("resume token belongs to another subject")
        if now_ms >= state.expires_at_ms:
            raise TokenExpired("resume token has expired")
        return state


def _deflate(raw: bytes) -> bytes:
    """A zlib stream with a window no larger than ``raw`` needs: a checkpoint is issued for
    every client every few seconds, and zlib's default 32 KiB window and hash tables cost about
    eight times the compression itself to set up for a 150-byte token. Any zlib reader inflates
    it (the window size is in the stream's header)."""
    wbits = min(15, max(9, (len(raw) - 1).bit_length()))
    deflater = zlib.compressobj(6, zlib.DEFLATED, wbits, max(1, wbits - 7))
    return deflater.compress(raw) + deflater.flush()


def _parse_body(raw: bytes) -> ResumeState:
    """Signed by us, so shape errors mean a key leak or a bug; refuse them all the same."""
    try:
        body = orjson.loads(raw)
        subs = tuple(
            SubscriptionPosition(
                id=_str(s["id"]),
                topic=_str(s["t"]),
                epoch=_str(s["e"]),
                offsets={int(p): _int(o) for p, o in dict(s["o"]).items()},
                filter=s.get("f") if isinstance(s.get("f"), dict) else None,
            )
            for s in body["subs"]
        )
        return ResumeState(_str(body["sub"]), _int(body["iat"]), _int(body["exp"]), subs)
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
        raise TokenForged("resume token contents are invalid") from None


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError("expected a string")
    return value


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise TypeError("expected a non-negative integer")
    return value
