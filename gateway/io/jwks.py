"""Verification keys fetched from a JWKS URL: the network side of handshake authentication.

The core's :class:`~gateway.core.auth.JwtVerifier` decides what a token may do; when its ``kid``
is not configured, it asks a :class:`~gateway.core.auth.KeySet`. This one is PyJWT's JWKS client
(cached for 5 minutes, 5 s timeout): the call may block on the network, which is why the server
verifies in a thread whenever a JWKS URL is configured. An unreachable key set is
``AuthUnavailable`` (503, retry), an unknown ``kid`` ``InvalidCredentials``.
"""

from __future__ import annotations

from typing import Any, Protocol

import jwt

from gateway.core.auth import AuthConfig, JwtVerifier
from gateway.core.errors import AuthUnavailable, InvalidCredentials


class JwkSource(Protocol):
    """What we use of ``jwt.PyJWKClient`` (a test may hand in another)."""

    def get_signing_key(self, kid: str) -> jwt.PyJWK: ...


class JwksKeys:
    """A :class:`~gateway.core.auth.KeySet` over a JWKS endpoint."""

    def __init__(self, source: JwkSource) -> None:
        self._source = source

    @classmethod
    def at(cls, url: str) -> JwksKeys:
        return cls(jwt.PyJWKClient(url, cache_keys=True, lifespan=300, timeout=5))

    def signing_key(self, kid: str) -> tuple[str, Any]:
        try:
            jwk = self._source.get_signing_key(kid)
        except jwt.PyJWKClientConnectionError:
            raise AuthUnavailable("key set unreachable") from None
        except (jwt.PyJWKClientError, jwt.PyJWKError):
            raise InvalidCredentials("unknown key id") from None
        return jwk.algorithm_name, jwk.key


def verifier_for(config: AuthConfig) -> JwtVerifier:
    """The verifier the gateway uses for ``config``: with the JWKS of ``jwks_url``, if any."""
    return JwtVerifier(config, JwksKeys.at(config.jwks_url) if config.jwks_url else None)
