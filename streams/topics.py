"""Create the catalog's topics, idempotently: existing topics are left as they are and reported."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from aiokafka.admin import NewTopic
from aiokafka.errors import KafkaConnectionError, KafkaError, TopicAlreadyExistsError

from schemas.catalog import TopicSpec
from streams.kafka import BrokerUnavailable, admin_client
from streams.settings import Settings


@dataclass(frozen=True)
class TopicsReport:
    created: list[str]
    existing: list[str]


async def create_topics(settings: Settings, specs: list[TopicSpec] | None = None) -> TopicsReport:
    """Create every topic of the catalog (or ``specs``) that does not exist yet."""
    wanted = specs if specs is not None else list(settings.catalog.all_specs())
    admin = admin_client(settings)
    try:
        await admin.start()
    except KafkaConnectionError as exc:
        raise BrokerUnavailable(settings.bootstrap_servers, exc) from exc
    try:
        present = set(await admin.list_topics())
        missing = [spec for spec in wanted if spec.name not in present]
        if missing:
            new_topics = [
                NewTopic(
                    spec.name,
                    spec.partitions,
                    spec.replication_factor,
                    topic_configs={k: str(v) for k, v in spec.config.items()},
                )
                for spec in missing
            ]
            # Another process may create some between list and create: that is fine.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(new_topics)
        return TopicsReport(
            created=[spec.name for spec in missing],
            existing=[spec.name for spec in wanted if spec.name in present],
        )
    except KafkaError as exc:
        raise BrokerUnavailable(settings.bootstrap_servers, exc) from exc
    finally:
        await admin.close()
