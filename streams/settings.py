"""regstream's settings: one typed object read from ``REGSTREAM_*`` environment variables.

Every process (CLI, worker, gateway, tests) builds its configuration from :class:`Settings`, so a
value has one name, one default and one place where it is documented. Secrets are ``SecretStr`` so
they are masked when settings are printed or logged. A prefixed variable that matches no setting is
almost always a typo that would otherwise be silently ignored, so :func:`load_settings` warns about it.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from functools import cached_property
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.catalog import TopicCatalog

ENV_PREFIX = "REGSTREAM_"


class Settings(BaseSettings):
    """Configuration shared by the pipeline, the gateway and the CLI."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    bootstrap_servers: str = Field(
        default="127.0.0.1:9092", description="Kafka bootstrap address(es), comma separated."
    )
    wire_format: Literal["single-object", "confluent"] = Field(
        default="single-object", description="Avro framing on the wire."
    )
    schema_registry_url: str | None = Field(
        default=None, description="Schema-Registry-compatible URL, for wire_format=confluent."
    )
    replication_factor: int = Field(default=1, ge=1, description="For `regstream topics create`.")
    input_prefix: str = Field(default="events.", description="Prefix of the input topics.")
    live_prefix: str = Field(default="live.", description="Prefix of the output (batch) topics.")
    dlq_topic: str = Field(default="events.dlq", description="Dead-letter topic.")
    agents_topic: str = Field(default="ref.agents", description="Compacted agent directory.")
    audit_topic: str = Field(default="gateway.audit", description="Access-audit topic.")
    partitions: int = Field(
        default=6, ge=1, description="Partitions of events.* and live.* topics."
    )
    client_id: str = Field(default="regstream", description="Kafka client id of every process.")
    request_timeout_ms: int = Field(
        default=30_000, ge=1_000, description="Kafka request timeout of every client."
    )
    jwt_secret: SecretStr = Field(
        default=SecretStr("dev-only-change-me-0123456789abcdef"),
        description="HS256 key for dev tokens; production uses keys/JWKS configured on the gateway.",
    )
    resume_secret: SecretStr = Field(
        default=SecretStr("dev-only-resume-key-0123456789abcdef"),
        description="HMAC key that signs resume tokens; identical on every gateway instance.",
    )

    @cached_property
    def catalog(self) -> TopicCatalog:
        """The topic catalog for these prefixes."""
        return TopicCatalog(
            input_prefix=self.input_prefix,
            live_prefix=self.live_prefix,
            dlq=self.dlq_topic,
            agents=self.agents_topic,
            audit=self.audit_topic,
            partitions=self.partitions,
            replication_factor=self.replication_factor,
        )

    @property
    def bootstrap_list(self) -> list[str]:
        return [s.strip() for s in self.bootstrap_servers.split(",") if s.strip()]


# Variables read outside this class: by the local broker tooling and the test fixtures.
TOOLING_VARIABLES = frozenset(
    {"REGSTREAM_KAFKA_CACHE", "REGSTREAM_BROKER_DIR", "REGSTREAM_TEST_BOOTSTRAP"}
)
# Component settings classes with their own prefix check their own variables.
COMPONENT_PREFIXES = ("REGSTREAM_GATEWAY_", "REGSTREAM_WORKER_")


def unknown_variables(
    settings_class: type[BaseSettings],
    environ: Mapping[str, str] | None = None,
    *,
    also_known: frozenset[str] = frozenset(),
    delegated: tuple[str, ...] = (),
) -> list[str]:
    """Variables with the class's env prefix that match none of its fields (likely typos).

    ``delegated`` prefixes belong to other settings classes, which check their own variables.
    """
    prefix = str(settings_class.model_config.get("env_prefix", ""))
    env = os.environ if environ is None else environ
    known = {prefix + name.upper() for name in settings_class.model_fields} | also_known
    return sorted(
        name
        for name in env
        if name.startswith(prefix) and name not in known and not name.startswith(delegated)
    )


def unknown_env_vars(environ: Mapping[str, str] | None = None) -> list[str]:
    """Names of ``REGSTREAM_*`` variables that match no known setting."""
    return unknown_variables(
        Settings, environ, also_known=TOOLING_VARIABLES, delegated=COMPONENT_PREFIXES
    )


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment, warning once about unknown prefixed variables."""
    for name in unknown_env_vars():
        warnings.warn(f"unknown setting {name} is ignored", UserWarning, stacklevel=2)
    return Settings(**overrides)  # type: ignore[arg-type]
