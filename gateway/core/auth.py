"""Handshake authentication: where the JWT comes from, how it is verified, what it grants.

* **Where**: the ``Authorization: Bearer <jwt>`` header, or, for browsers (which cannot set
  headers on a WebSocket), the ``Sec-WebSocket-Protocol`` slot: the client offers
  ``regstream.v1, bearer.<jwt>`` and the server answers ``regstream.v1`` only, never echoing the
  token. The URL query string is never read: it ends up in proxy and access logs.
* **How**: PyJWT with an explicit allow-list (HS256/RS256/ES256, never ``none``); every key is
  bound to one algorithm and one ``kid``, so a token cannot pick an algorithm its key was not
  made for (the RS256-public-key-as-HMAC-secret confusion). ``exp``, ``iat``, ``aud``, ``iss`` and
  ``sub`` are required, ``nbf`` honoured, ``exp - iat`` capped. Unknown ``kid`` values may be
  looked up in a :class:`KeySet` the I/O layer provides (``gateway.io.jwks`` fetches a JWKS over
  the network, so the server runs ``verify`` in a thread then); only asymmetric keys are taken
  from it. Keys named in
  the token itself (``jwk``, ``jku``, ``x5u``, ``x5c``) are never used. RFC 8725 rules on top of
  PyJWT's: tokens over 8 KiB, ``crit`` and ``cty`` (nested tokens) headers and a ``typ`` other
  than JWT are refused; every claim has one JSON type (``sub`` a non-blank string, ``topics`` and
  ``publish`` lists of strings, numbers never booleans) and a wrong type refuses the token, it is
  never coerced.
* **What**: :class:`Principal`. Topic and publish patterns are ``fnmatch``-style, matched
  case-sensitively against **event type short names** (``DecisionMade``, ``Agent*``), the same
  names clients use as ``topic`` in frames, independent of Kafka topic prefixes.

Tokens never appear in exceptions, reprs or logs.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import jwt
from jwt.algorithms import get_default_algorithms
from jwt.exceptions import InvalidSubjectError

from gateway.core.errors import (
    CredentialsExpired,
    InvalidCredentials,
    MissingCredentials,
)

SUBPROTOCOL = "regstream.v1"
BEARER_PREFIX = "bearer."
SUPPORTED_ALGORITHMS = frozenset({"HS256", "RS256", "ES256"})
REQUIRED_CLAIMS = ("exp", "iat", "aud", "iss", "sub")
MIN_HMAC_KEY_BYTES = 32
# Keys from a JWKS are public by nature; a symmetric ("oct") key published there is a secret
# anyone can read, so only asymmetric algorithms are taken from it.
JWKS_ALGORITHMS = frozenset({"RS256", "ES256"})
ACCEPTED_TYPES = frozenset({"jwt", "at+jwt", "application/at+jwt"})  # RFC 9068 access tokens
MAX_TOKEN_CHARS = 8192  # also about the largest header line the HTTP parser accepts
MAX_SUB_CHARS = 256
MAX_ROLE_CHARS = 64
MAX_PATTERNS = 256
MAX_PATTERN_CHARS = 256


class HeaderSource(Protocol):
    """What we need from request headers (``websockets.datastructures.Headers`` fits)."""

    def get_all(self, key: str) -> list[str]: ...


@dataclass(frozen=True)
class Credentials:
    """A bearer token and where it was found; the token is kept out of ``repr``."""

    token: str = field(repr=False)
    via: Literal["header", "subprotocol"]


def offered_subprotocols(headers: HeaderSource) -> list[str]:
    """Every value offered in ``Sec-WebSocket-Protocol`` headers, in order."""
    return [
        item.strip()
        for value in headers.get_all("Sec-WebSocket-Protocol")
        for item in value.split(",")
        if item.strip()
    ]


def select_subprotocol(offered: Sequence[str]) -> str | None:
    """The subprotocol to answer: ours if offered; never the ``bearer.*`` entry."""
    return SUBPROTOCOL if SUBPROTOCOL in offered else None


def extract_credentials(headers: HeaderSource) -> Credentials:
    """The bearer token from the Authorization header (preferred) or the subprotocol slot."""
    for value in headers.get_all("Authorization"):
        scheme, _, token = value.strip().partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return Credentials(token.strip(), "header")
    for item in offered_subprotocols(headers):
        if item.lower().startswith(BEARER_PREFIX) and len(item) > len(BEARER_PREFIX):
            return Credentials(item[len(BEARER_PREFIX) :], "subprotocol")
    raise MissingCredentials("no bearer token in Authorization or Sec-WebSocket-Protocol")


class KeySet(Protocol):
    """Keys found by ``kid`` outside the configuration (a JWKS). ``signing_key`` returns the
    key's (algorithm, key) and raises ``AuthUnavailable`` when the set cannot be reached or
    ``InvalidCredentials`` when it has no such key."""

    def signing_key(self, kid: str) -> tuple[str, Any]: ...


@dataclass(frozen=True)
class Principal:
    """Who is connected and what the JWT lets them do."""

    sub: str
    topics: tuple[str, ...] = ()
    publish: tuple[str, ...] = ()
    replay_horizon_s: int | None = None  # None: no limit on how far back
    role: str = "default"
    expires_at_ms: int | None = None

    def may_read(self, topic: str) -> bool:
        return any(fnmatch.fnmatchcase(topic, p) for p in self.topics)

    def may_publish(self, event_type: str) -> bool:
        return any(fnmatch.fnmatchcase(event_type, p) for p in self.publish)


@dataclass(frozen=True)
class VerificationKey:
    """A key bound to one ``kid`` and one algorithm. HS256: the secret; RS256/ES256: public PEM."""

    kid: str
    algorithm: str
    key: Any = field(repr=False)


@dataclass(frozen=True)
class AuthConfig:
    audience: str
    issuer: str
    keys: tuple[VerificationKey, ...] = ()
    algorithms: frozenset[str] = frozenset({"RS256", "ES256"})
    jwks_url: str | None = None
    max_lifetime_s: int = 24 * 3600
    leeway_s: int = 30
    default_replay_horizon_s: int | None = None


class JwtVerifier:
    """Verifies handshake JWTs against :class:`AuthConfig` and returns a :class:`Principal`."""

    def __init__(self, config: AuthConfig, remote: KeySet | None = None) -> None:
        unknown = set(config.algorithms) - SUPPORTED_ALGORITHMS
        if unknown:
            raise ValueError(f"algorithms not supported: {sorted(unknown)}")
        self.config = config
        self._keys: dict[str, tuple[str, Any]] = {}
        for k in config.keys:
            if k.algorithm not in config.algorithms:
                raise ValueError(f"key {k.kid!r} uses {k.algorithm}, not in the allow-list")
            if k.algorithm == "HS256" and len(_as_bytes(k.key)) < MIN_HMAC_KEY_BYTES:
                raise ValueError(f"HS256 key {k.kid!r} is shorter than {MIN_HMAC_KEY_BYTES} bytes")
            self._keys[k.kid] = (
                k.algorithm,
                get_default_algorithms()[k.algorithm].prepare_key(k.key),
            )
        self._remote = remote

    def _key_for(self, kid: object, alg: object) -> tuple[str, Any]:
        if not isinstance(alg, str) or alg not in self.config.algorithms:
            raise InvalidCredentials("token algorithm is not allowed")
        if kid is None and len(self._keys) == 1 and self._remote is None:
            algorithm, key = next(iter(self._keys.values()))
        elif isinstance(kid, str) and kid in self._keys:
            algorithm, key = self._keys[kid]
        elif isinstance(kid, str) and self._remote is not None:
            algorithm, key = self._remote.signing_key(kid)
            if algorithm not in JWKS_ALGORITHMS:
                raise InvalidCredentials("key set keys must be asymmetric")
        else:
            raise InvalidCredentials("unknown key id")
        if algorithm != alg:
            raise InvalidCredentials("token algorithm does not match its key")
        return algorithm, key

    def verify(self, token: str) -> Principal:
        if len(token) > MAX_TOKEN_CHARS:
            raise InvalidCredentials(f"token is longer than {MAX_TOKEN_CHARS} characters")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise InvalidCredentials("malformed token") from None
        _check_header(header)
        algorithm, key = self._key_for(header.get("kid"), header.get("alg"))
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=self.config.audience,
                issuer=self.config.issuer,
                leeway=self.config.leeway_s,
                options={"require": list(REQUIRED_CLAIMS)},
            )
        except jwt.ExpiredSignatureError:
            raise CredentialsExpired("token has expired") from None
        except jwt.InvalidTokenError as exc:
            raise InvalidCredentials(_reason(exc)) from None
        return self._principal(claims)

    def _principal(self, claims: Mapping[str, Any]) -> Principal:
        exp, iat = claims["exp"], claims["iat"]
        if not (_is_number(exp) and _is_number(iat)):
            raise InvalidCredentials("exp and iat must be numbers")
        if exp - iat > self.config.max_lifetime_s:
            raise InvalidCredentials("token lifetime exceeds the allowed maximum")
        horizon = claims.get("replay_horizon_s", self.config.default_replay_horizon_s)
        if horizon is not None and (isinstance(horizon, bool) or not isinstance(horizon, int)):
            raise InvalidCredentials("replay_horizon_s must be an integer")
        if horizon is not None and horizon < 0:
            raise InvalidCredentials("replay_horizon_s must not be negative")
        return Principal(
            sub=_text(claims["sub"], "sub", MAX_SUB_CHARS),
            topics=_patterns(claims, "topics"),
            publish=_patterns(claims, "publish"),
            replay_horizon_s=horizon,
            role=_text(claims.get("role", "default"), "role", MAX_ROLE_CHARS),
            expires_at_ms=int(exp * 1000),
        )


def _check_header(header: Mapping[str, Any]) -> None:
    """RFC 8725 header rules PyJWT leaves to us: no critical extensions (we implement none),
    no nested or foreign content (``cty``), and an explicit ``typ`` must say JWT."""
    if "crit" in header:
        raise InvalidCredentials("critical header extensions are not supported")
    if "cty" in header:
        raise InvalidCredentials("nested tokens are not accepted")
    typ = header.get("typ")
    if typ is not None and (not isinstance(typ, str) or typ.lower() not in ACCEPTED_TYPES):
        raise InvalidCredentials("token type is not accepted")


def _is_number(value: object) -> bool:
    """JSON numbers only: ``true`` is not 1."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def _text(value: object, name: str, max_chars: int) -> str:
    """A claim that names something (subject, role): a non-blank printable string."""
    if not isinstance(value, str) or not value.strip() or not value.isprintable():
        raise InvalidCredentials(f"{name} must be a non-empty printable string")
    if len(value) > max_chars:
        raise InvalidCredentials(f"{name} is longer than {max_chars} characters")
    return value


def _patterns(claims: Mapping[str, Any], name: str) -> tuple[str, ...]:
    """A list of non-empty pattern strings, nothing else: a bare string is a malformed claim,
    never read as one pattern (``"Decision*"`` and ``["D", "e", …]`` would both be guesses)."""
    value = claims.get(name, [])
    if not isinstance(value, list) or not all(
        isinstance(p, str) and 0 < len(p) <= MAX_PATTERN_CHARS for p in value
    ):
        raise InvalidCredentials(f"{name} must be a list of pattern strings")
    if len(value) > MAX_PATTERNS:
        raise InvalidCredentials(f"{name} holds more than {MAX_PATTERNS} patterns")
    return tuple(value)


def _reason(exc: jwt.InvalidTokenError) -> str:
    """A message that names the failed check and never includes the token."""
    reasons: list[tuple[type[Exception], str]] = [
        (jwt.InvalidAudienceError, "wrong audience"),
        (jwt.InvalidIssuerError, "wrong issuer"),
        (InvalidSubjectError, "sub must be a non-empty printable string"),
        (jwt.ImmatureSignatureError, "token not yet valid"),
        (jwt.InvalidSignatureError, "signature does not verify"),
        (jwt.InvalidAlgorithmError, "token algorithm is not allowed"),
        (jwt.DecodeError, "malformed token"),
    ]
    if isinstance(exc, jwt.MissingRequiredClaimError):
        return f"missing claim {exc.claim}"
    return next((text for cls, text in reasons if isinstance(exc, cls)), "invalid token")


def _as_bytes(key: Any) -> bytes:
    return key.encode() if isinstance(key, str) else bytes(key)


def mint_token(
    key: Any,
    *,
    sub: str,
    audience: str,
    issuer: str,
    now_s: int,
    algorithm: str = "HS256",
    kid: str | None = None,
    topics: Sequence[str] = ("*",),
    publish: Sequence[str] = (),
    replay_horizon_s: int | None = None,
    role: str = "default",
    lifetime_s: int = 3600,
    extra_claims: Mapping[str, Any] | None = None,
) -> str:
    """A signed dev/test token (``regstream token mint``); ``key`` is the private key or secret."""
    claims: dict[str, Any] = {
        "sub": sub,
        "aud": audience,
        "iss": issuer,
        "iat": now_s,
        "exp": now_s + lifetime_s,
        "topics": list(topics),
        "publish": list(publish),
        "role": role,
    }
    if replay_horizon_s is not None:
        claims["replay_horizon_s"] = replay_horizon_s
    claims.update(extra_claims or {})
    headers = {"kid": kid} if kid else None
    return jwt.encode(claims, key, algorithm=algorithm, headers=headers)
