"""Per-output-stream rules: which valid records an output stream carries.

Kept apart from :mod:`streams.pipeline.checks` because the outcome differs: a check failure means
the record is wrong (dead letter), a rule miss means it is fine but not wanted here (FILTERED,
counted by reason). Reason codes: ``filtered:event-type`` (not in the allow-list) and
``filtered:below-severity``.

Rules are looked up by event type (each input type feeds its own ``live.<type>`` stream), so the app
maps its configured output streams to event types once at start-up.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from streams.pipeline.policy import Disposition
from streams.pipeline.severity import severity_level


@dataclass(frozen=True, slots=True)
class StreamRules:
    """Severity threshold and optional event-type allow-list of one output stream.

    ``min_severity`` accepts the symbols and aliases of :mod:`streams.pipeline.severity`; an unknown
    name raises at construction so a misconfigured worker fails at start-up rather than filtering
    by a guess. ``allowed_event_types`` ``None`` means every type is allowed.
    """

    min_severity: str = "DEBUG"
    allowed_event_types: frozenset[str] | None = None
    min_level: int = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "min_level", severity_level(self.min_severity))


PASS_ALL = StreamRules()


def apply_rules(event_type: str, record: Mapping[str, Any], rules: StreamRules) -> Disposition:
    """PASS, or FILTERED with the reason the stream does not want this (already valid) record."""
    if rules.allowed_event_types is not None and event_type not in rules.allowed_event_types:
        return Disposition.filtered("filtered:event-type", f"{event_type} not allowed")
    severity = record["metadata"]["severity"]
    if severity_level(severity) < rules.min_level:
        return Disposition.filtered(
            "filtered:below-severity", f"{severity} below {rules.min_severity}"
        )
    return Disposition.passed()
