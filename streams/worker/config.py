"""``WorkerSettings``: what only the worker needs, read from ``REGSTREAM_WORKER_*`` variables.

Shared settings (bootstrap servers, topic prefixes, partitions, wire format) stay in
:class:`streams.settings.Settings`; this class adds the processing knobs. Everything has a default
that runs the documented pipeline, so a worker needs no worker variable at all. A misspelt
``REGSTREAM_WORKER_*`` variable would silently change nothing, so :func:`load_worker_settings`
warns about it, the way :func:`streams.settings.load_settings` does for the shared prefix.

Rules per output stream are JSON keyed by event type (any spelling ``regstream produce`` accepts)
or ``*`` for every stream without its own entry::

    REGSTREAM_WORKER_RULES='{"DecisionMade": {"min_severity": "warning"},
                             "*": {"min_severity": "info"}}'

An unknown severity or event type fails validation at start-up, never filters by a guess.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.values import MAX_EVENT_BYTES
from streams.pipeline import PipelineConfig, StreamRules
from streams.pipeline.process import DEFAULT_MAX_FUTURE_SKEW_MS
from streams.publish_file import resolve_event_type
from streams.settings import Settings, unknown_variables

WORKER_PREFIX = "REGSTREAM_WORKER_"
DEFAULT_RULES_KEY = "*"
Guarantee = Literal["exactly_once", "at_least_once"]


MIN_BATCH_MAX_BYTES = MAX_EVENT_BYTES + 64 * 1024
"""Every event the encoder accepts fits a batch alone, with room for its enrichment."""


class RuleSpec(BaseModel):
    """The rules of one output stream, as configured."""

    model_config = {"frozen": True, "extra": "forbid"}

    min_severity: str = "DEBUG"
    allowed_event_types: list[str] | None = None

    def to_rules(self) -> StreamRules:
        allowed = None
        if self.allowed_event_types is not None:
            allowed = frozenset(resolve_event_type(name) for name in self.allowed_event_types)
        return StreamRules(min_severity=self.min_severity, allowed_event_types=allowed)


class WorkerSettings(BaseSettings):
    """Knobs of ``regstream worker``; see docs/pipeline.md ("Worker settings")."""

    model_config = SettingsConfigDict(env_prefix=WORKER_PREFIX, extra="ignore", frozen=True)

    app_id: str | None = Field(
        default=None,
        description="Faust app id: consumer group, changelog topic prefix, transactional ids. "
        "Default: derived from the input prefix, so two deployments sharing a cluster never mix.",
    )
    processing_guarantee: Guarantee = Field(
        default="exactly_once",
        description="exactly_once: outputs, dead letters, state and offsets in one transaction "
        "per source partition and batch; at_least_once: the same without transactions.",
    )
    batch_max_events: int = Field(
        default=500,
        ge=1,
        le=10_000,
        description="The most records handed to the pipeline at once (one fetch); also the most "
        "events per EventBatch.",
    )
    batch_max_bytes: int = Field(
        default=900_000,
        ge=MIN_BATCH_MAX_BYTES,
        description="The largest record the worker writes: an EventBatch above this is split, "
        "an event that cannot fit alone is dead-lettered as output-too-large, and a dead letter "
        "above it is written without its body (Kafka's default limit is 1 MiB). At least the "
        "contract's largest event (768 KiB) plus room for its enrichment.",
    )
    dedupe_window_ms: int = Field(
        default=15 * 60 * 1000, ge=1, description="How long an event_id is remembered for dedupe."
    )
    max_future_skew_ms: int = Field(
        default=DEFAULT_MAX_FUTURE_SKEW_MS,
        ge=0,
        description="How far ahead of now occurred_at may be before invalid:future-timestamp.",
    )
    rules: dict[str, RuleSpec] = Field(
        default_factory=dict,
        description='Per output stream, JSON: {"DecisionMade": {"min_severity": "warning"}, '
        '"*": {"allowed_event_types": [...]}}.',
    )
    session_timeout_ms: int = Field(
        default=30_000, ge=6_000, description="How long a dead worker keeps its partitions."
    )
    directory_timeout_ms: int = Field(
        default=60_000, ge=1_000, description="Start-up wait for ref.agents to be read."
    )
    web_enabled: bool = Field(
        default=False, description="Faust's HTTP port: /metrics, /healthz and /readyz."
    )
    web_port: int = Field(default=6066, ge=1, le=65535, description="Port of the web server.")
    web_bind: str = Field(default="127.0.0.1", description="Address the web server binds.")
    data_dir: Path = Field(
        default=Path(".regstream/worker"),
        validate_default=True,
        description="Faust's data dir; a relative path is taken from where the worker starts.",
    )
    log_level: str = Field(default="info", description="debug, info, warning or error.")

    @field_validator("data_dir")
    @classmethod
    def _data_dir_is_absolute(cls, data_dir: Path) -> Path:
        """Resolved at load: the Faust worker changes into this directory before it creates it
        again, so a relative path would point below itself."""
        return data_dir.expanduser().absolute()

    @field_validator("rules")
    @classmethod
    def _rules_are_valid(cls, rules: dict[str, RuleSpec]) -> dict[str, RuleSpec]:
        for key, spec in rules.items():
            if key != DEFAULT_RULES_KEY:
                resolve_event_type(key)
            spec.to_rules()  # unknown severity or type → ValueError → start-up fails
        return rules

    def resolved_app_id(self, settings: Settings) -> str:
        """The app id; by default ``<input prefix without its dot>-pipeline``."""
        return self.app_id or f"{settings.input_prefix.rstrip('.') or 'regstream'}-pipeline"

    def pipeline_config(self) -> PipelineConfig:
        """The :class:`PipelineConfig` for :func:`streams.pipeline.process_record`."""
        default = self.rules.get(DEFAULT_RULES_KEY, RuleSpec()).to_rules()
        per_type = {
            resolve_event_type(key): spec.to_rules()
            for key, spec in self.rules.items()
            if key != DEFAULT_RULES_KEY
        }
        return PipelineConfig(
            max_future_skew_ms=self.max_future_skew_ms, rules=per_type, default_rules=default
        )


def unknown_worker_vars(environ: dict[str, str] | None = None) -> list[str]:
    """Names of ``REGSTREAM_WORKER_*`` variables that match no worker setting."""
    return unknown_variables(WorkerSettings, environ)


def load_worker_settings(**overrides: object) -> WorkerSettings:
    """Read worker settings from the environment, warning about unknown worker variables."""
    for name in unknown_worker_vars():
        warnings.warn(f"unknown worker setting {name} is ignored", UserWarning, stacklevel=2)
    return WorkerSettings(**overrides)  # type: ignore[arg-type]
