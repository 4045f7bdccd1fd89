"""Gateway settings: one typed object from ``REGSTREAM_GATEWAY_*`` variables (STYLE.md §5).

Kafka addresses, topic prefixes and the dev secrets come from :class:`streams.settings.Settings`
(``REGSTREAM_*``), so the gateway and the pipeline can never disagree about topic names. Secrets
here are ``SecretStr`` and masked when printed. Without configured JWT keys the gateway trusts
the dev HS256 secret of ``streams.settings`` under kid ``dev`` and says so loudly in its log.

Key formats (JSON, so they fit one environment variable):

* ``REGSTREAM_GATEWAY_JWT_KEYS``: ``{"<kid>": {"alg": "RS256", "key": "<PEM or secret>"}}``
* ``REGSTREAM_GATEWAY_RESUME_KEYS``: ``{"<kid>": "<secret, 32+ bytes>"}``; the active key signs,
  all verify (rotation); every instance needs the same set.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import orjson
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from gateway.core.auth import AuthConfig, VerificationKey
from gateway.core.config import SessionConfig
from gateway.core.origin import origin_of, valid_entry
from streams.settings import Settings, unknown_variables

ENV_PREFIX = "REGSTREAM_GATEWAY_"
DEV_JWT_KID = "dev"
DEV_RESUME_KID = "r1"


class GatewaySettings(BaseSettings):
    """Everything the gateway process can be told; defaults suit one dev machine."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    host: str = Field("127.0.0.1", description="Public (WebSocket + static files) address.")
    port: int = Field(8080, ge=0, le=65535, description="Public port; 0 picks a free one.")
    ops_host: str = Field("127.0.0.1", description="Internal address of /healthz /readyz /metrics.")
    ops_port: int = Field(9108, ge=0, le=65535, description="Internal port; 0 picks a free one.")
    # auth
    jwt_audience: str = Field("regstream", description="Required `aud` claim of every JWT.")
    jwt_issuer: str = Field("regstream-dev", description="Required `iss` claim of every JWT.")
    jwt_algorithms: list[str] = Field(
        default_factory=lambda: ["HS256"],
        description="Accepted JWT algorithms (JSON list): HS256, RS256, ES256.",
    )
    jwt_keys: SecretStr | None = Field(
        None, description='Verification keys, JSON: {"<kid>": {"alg": "RS256", "key": "<PEM>"}}.'
    )
    jwks_url: str | None = Field(None, description="JWKS endpoint to fetch verification keys from.")
    jwt_max_lifetime_s: int = Field(
        24 * 3600, ge=60, description="A JWT living longer than this (exp - iat) is refused."
    )
    default_replay_horizon_s: int | None = Field(
        None,
        description="How far back a client may replay when its JWT has no `replay_horizon_s`; "
        "None: no limit.",
    )
    public_url: str | None = Field(
        None,
        description="URL browsers use to reach this gateway (e.g. https://gw.example.com); its "
        "origin is allowed. Unset: the listening address, when it names one host.",
    )
    allowed_origins: list[str] = Field(
        default_factory=list,
        description="Other allowed Origins: `*`, an exact origin, or https://*.example.com. "
        "The Host header is never trusted.",
    )
    allow_missing_origin: bool = Field(True, description="Accept clients sending no Origin.")
    # resume tokens
    resume_keys: SecretStr | None = Field(
        None,
        description='Resume-token keys, JSON: {"<kid>": "<secret, 32+ bytes>"}; same on every '
        "instance. Default: the shared REGSTREAM_RESUME_SECRET.",
    )
    resume_active_key: str | None = Field(
        None, description="The kid that signs new resume tokens; all keys verify (rotation)."
    )
    resume_ttl_s: int = Field(24 * 3600, ge=60, description="How long a resume token is valid.")
    # limits
    max_frame_bytes: int = Field(
        64 * 1024,
        ge=1024,
        description="Largest client frame; a larger one closes the connection (frame_too_large).",
    )
    rate_per_s: float = Field(50.0, gt=0, description="Client frames per second (token bucket).")
    rate_burst: int = Field(100, ge=1, description="Frames a client may send at once.")
    max_subscriptions: int = Field(64, ge=1, description="Subscriptions per connection.")
    max_pending_publishes: int = Field(
        32, ge=1, description="Publishes per connection awaiting Kafka's acknowledgement."
    )
    max_connections_per_subject: int = Field(
        32, ge=0, description="Open connections per JWT subject (HTTP 429 beyond); 0: no cap."
    )
    max_connections_per_ip: int = Field(
        256,
        ge=0,
        description="Open connections per client address (HTTP 429 beyond); 0: no cap. Raise it "
        "behind a proxy that hides client addresses.",
    )
    handshake_timeout_s: float = Field(
        10.0, gt=0, description="Time to complete the WebSocket handshake."
    )
    ping_interval_s: float = Field(
        20.0, gt=0, description="WebSocket ping (and heartbeat frame) interval."
    )
    ping_timeout_s: float = Field(
        20.0,
        gt=0,
        description="A peer that has not answered a ping this long after it was sent (also one "
        "that stopped reading) is disconnected.",
    )
    compression: bool = Field(False, description="permessage-deflate (costs memory per client).")
    send_high_bytes: int = Field(
        4 * 1024 * 1024,
        ge=1024,
        description="Bytes queued for one client (frames + socket buffer) at which it is demoted "
        "to a paused catch-up position.",
    )
    send_low_bytes: int = Field(
        1024 * 1024, ge=0, description="Send queue below this restores a demoted client."
    )
    send_budget_bytes: int = Field(
        256 * 1024 * 1024,
        ge=1024 * 1024,
        description="Bytes queued for all clients together; when full, clients are demoted and "
        "those holding the most are closed with 4003 (resumable).",
    )
    slow_close_s: float = Field(
        120.0,
        gt=0,
        description="A client demoted with more than send_low_bytes queued for this long is "
        "closed with 4003 (resumable).",
    )
    checkpoint_every_events: int = Field(
        500, ge=1, description="A checkpoint (resume token) at least every this many events."
    )
    checkpoint_interval_ms: int = Field(
        5_000, ge=10, description="A checkpoint at least this often while positions move."
    )
    checkpoint_quiet_ms: int = Field(
        250, ge=10, description="A checkpoint once the stream has been quiet this long."
    )
    # TLS
    tls_cert: Path | None = Field(None, description="PEM certificate: serve wss:// and https://.")
    tls_key: Path | None = Field(None, description="PEM private key of tls_cert.")
    hsts_max_age_s: int = Field(
        365 * 24 * 3600,
        ge=0,
        description="Strict-Transport-Security max-age on responses served over TLS; 0: none.",
    )
    # readers
    catchup_consumers: int = Field(4, ge=1, description="Kafka consumers serving catch-ups.")
    catchup_max_records: int = Field(500, ge=1, description="Records per catch-up turn.")
    decode_cache_events: int = Field(
        50_000,
        ge=0,
        description="Decoded events kept for readers to share (a big event counts once per 256 "
        "bytes of its Avro encoding); 0 disables.",
    )
    tail_history_events: int = Field(
        20_000,
        ge=0,
        description="Recent events per topic kept to serve resumes from memory (a big event "
        "counts once per 256 bytes of its Avro encoding).",
    )
    tick_ms: int = Field(
        200, ge=10, description="Housekeeping period: checkpoints, slow clients, expired JWTs."
    )
    # operations
    drain_deadline_s: float = Field(
        10.0, gt=0, description="On SIGTERM: time to checkpoint and close every client."
    )
    static_dir: Path | None = Field(None, description="Dashboard files; default gateway/static.")
    audit: bool = Field(True, description="Write gateway.audit records.")
    instance: str = Field("", description="Name in logs and audit records; default host:pid.")

    @field_validator("public_url")
    @classmethod
    def _public_url_is_an_http_url(cls, value: str | None) -> str | None:
        if value is not None and origin_of(value) is None:
            raise ValueError(f"public_url {value!r} is not an http(s)://host[:port][/path] URL")
        return value

    @field_validator("allowed_origins")
    @classmethod
    def _origins_can_match(cls, value: list[str]) -> list[str]:
        bad = [entry for entry in value if not valid_entry(entry)]
        if bad:
            raise ValueError(f"not origins (scheme://host[:port], or *): {bad}")
        return value

    def session_config(self, topics: frozenset[str]) -> SessionConfig:
        return SessionConfig(
            max_frame_bytes=self.max_frame_bytes,
            rate_per_s=self.rate_per_s,
            rate_burst=self.rate_burst,
            max_subscriptions=self.max_subscriptions,
            max_pending_publishes=self.max_pending_publishes,
            heartbeat_s=int(self.ping_interval_s),
            checkpoint_every_events=self.checkpoint_every_events,
            checkpoint_interval_ms=self.checkpoint_interval_ms,
            checkpoint_quiet_ms=self.checkpoint_quiet_ms,
            send_high_bytes=self.send_high_bytes,
            send_low_bytes=self.send_low_bytes,
            slow_close_ms=int(self.slow_close_s * 1000),
            topics=topics,
        )

    def auth_config(self, base: Settings) -> tuple[AuthConfig, bool]:
        """The verifier's configuration and whether it fell back to the dev key."""
        keys: list[VerificationKey] = []
        dev = self.jwt_keys is None and not self.jwks_url
        if self.jwt_keys is not None:
            for kid, spec in orjson.loads(self.jwt_keys.get_secret_value()).items():
                keys.append(VerificationKey(kid, spec["alg"], spec["key"]))
        elif dev:
            keys.append(VerificationKey(DEV_JWT_KID, "HS256", base.jwt_secret.get_secret_value()))
        algorithms = frozenset(self.jwt_algorithms) | ({"HS256"} if dev else frozenset())
        config = AuthConfig(
            audience=self.jwt_audience,
            issuer=self.jwt_issuer,
            keys=tuple(keys),
            algorithms=algorithms,
            jwks_url=self.jwks_url,
            max_lifetime_s=self.jwt_max_lifetime_s,
            default_replay_horizon_s=self.default_replay_horizon_s,
        )
        return config, dev

    def resume_key_set(self, base: Settings) -> tuple[dict[str, bytes], str]:
        if self.resume_keys is None:
            return {DEV_RESUME_KID: base.resume_secret.get_secret_value().encode()}, DEV_RESUME_KID
        keys = {
            kid: secret.encode()
            for kid, secret in orjson.loads(self.resume_keys.get_secret_value()).items()
        }
        return keys, self.resume_active_key or next(reversed(keys))


def unknown_gateway_vars(environ: dict[str, str] | None = None) -> list[str]:
    """Names of ``REGSTREAM_GATEWAY_*`` variables that match no gateway setting."""
    return unknown_variables(GatewaySettings, environ)


def load_gateway_settings(**overrides: object) -> GatewaySettings:
    """Read settings, warning about prefixed variables that match nothing (likely typos)."""
    for name in unknown_gateway_vars():
        warnings.warn(f"unknown gateway setting {name} is ignored", UserWarning, stacklevel=2)
    return GatewaySettings(**{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]
