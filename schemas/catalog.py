"""The one topic catalog: every topic name, partition count and config regstream uses.

Names are built from configurable prefixes plus the snake_case event type, so two deployments can
share a cluster (``prod.events.`` / ``staging.events.``) and nothing else spells a topic name::

    events.agent_status_update   input, keyed by the partition key field, 6 partitions, 7 days
    live.agent_status_update     output EventBatch records, 6 partitions, 7 days
    events.dlq                   dead letters with reason headers, 30 days
    ref.agents                   compacted agent directory used for enrichment, 1 partition
    gateway.audit                who connected, subscribed and replayed what, 365 days

Pure data: creating the topics is the job of ``streams`` (admin client) or deploy manifests.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from schemas.contract import EVENT_TYPES, short_name

DAY_MS = 24 * 60 * 60 * 1000
_LEGAL = re.compile(r"[A-Za-z0-9._-]+")


def snake_case(event_type: str) -> str:
    """``AgentStatusUpdate`` → ``agent_status_update``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", short_name(event_type)).lower()


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """What a topic must look like; ``config`` holds Kafka topic configs as strings."""

    name: str
    partitions: int
    replication_factor: int
    config: Mapping[str, str] = field(default_factory=dict)


def _check_name(name: str) -> str:
    if not _LEGAL.fullmatch(name) or len(name) > 249 or name in (".", ".."):
        raise ValueError(f"illegal Kafka topic name {name!r}")
    return name


class TopicCatalog:
    """Topic names and specs derived from prefixes; immutable after construction."""

    def __init__(
        self,
        replication_factor: int = 1,
        *,
        input_prefix: str = "events.",
        live_prefix: str = "live.",
        dlq: str = "events.dlq",
        agents: str = "ref.agents",
        audit: str = "gateway.audit",
        partitions: int = 6,
        dlq_partitions: int = 6,
        audit_partitions: int = 1,
        retention_days: int = 7,
        dlq_retention_days: int = 30,
        audit_retention_days: int = 365,
    ) -> None:
        if input_prefix == live_prefix:
            raise ValueError("input and live prefixes must differ (topic → type must be unique)")
        if min(replication_factor, partitions, dlq_partitions, audit_partitions) < 1:
            raise ValueError("partitions and replication factor must be >= 1")
        self.replication_factor = replication_factor
        self.input_prefix = input_prefix
        self.live_prefix = live_prefix
        self.dlq = _check_name(dlq)
        self.agents = _check_name(agents)
        self.audit = _check_name(audit)
        self._input = {t: _check_name(input_prefix + snake_case(t)) for t in EVENT_TYPES}
        self._live = {t: _check_name(live_prefix + snake_case(t)) for t in EVENT_TYPES}
        names = [*self._input.values(), *self._live.values(), self.dlq, self.agents, self.audit]
        if len(set(names)) != len(names):
            raise ValueError(f"topic names collide: {sorted(names)}")
        self._live_topics = frozenset(self._live.values())
        self._type_of = {
            **{topic: t for t, topic in self._input.items()},
            **{topic: t for t, topic in self._live.items()},
        }
        # Durable writes: with acks=all, one replica may be down without blocking producers.
        insync = {"min.insync.replicas": str(max(1, min(2, replication_factor - 1)))}

        def delete(days: int) -> dict[str, str]:
            return {"cleanup.policy": "delete", "retention.ms": str(days * DAY_MS), **insync}

        specs = [
            *(
                TopicSpec(name, partitions, replication_factor, delete(retention_days))
                for name in (*self._input.values(), *self._live.values())
            ),
            TopicSpec(self.dlq, dlq_partitions, replication_factor, delete(dlq_retention_days)),
            TopicSpec(self.agents, 1, replication_factor, {"cleanup.policy": "compact", **insync}),
            TopicSpec(
                self.audit, audit_partitions, replication_factor, delete(audit_retention_days)
            ),
        ]
        self._specs = tuple(
            TopicSpec(s.name, s.partitions, s.replication_factor, MappingProxyType(dict(s.config)))
            for s in specs
        )

    def input_topic(self, event_type: str) -> str:
        """``events.<snake_type>``: where producers write ``event_type`` records."""
        return self._input[self._known(event_type)]

    def live_topic(self, event_type: str) -> str:
        """``live.<snake_type>``: where the pipeline writes ``EventBatch`` records of that type."""
        return self._live[self._known(event_type)]

    def event_type_of(self, topic: str) -> str | None:
        """The event type of an input or live topic; ``None`` for any other topic."""
        return self._type_of.get(topic)

    def is_live(self, topic: str) -> bool:
        """Whether ``topic`` is one of the live (``EventBatch``) topics."""
        return topic in self._live_topics

    def all_specs(self) -> tuple[TopicSpec, ...]:
        """Every topic regstream needs, inputs first, then lives, DLQ, agents, audit."""
        return self._specs

    @staticmethod
    def _known(event_type: str) -> str:
        name = short_name(event_type)
        if name not in EVENT_TYPES:
            raise KeyError(f"not an event type: {event_type!r}")
        return name
