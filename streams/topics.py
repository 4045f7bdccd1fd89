"""Create the catalog's topics, idempotently: existing topics are left as they are and reported.

Kafka answers a CreateTopics request with an error per topic rather than a failed request, so a
topic the cluster refused (say replication factor 3 while only two brokers have registered, as a
cluster that is still starting answers) is reported as :class:`TopicsNotCreated`, never taken as
created.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from aiokafka.admin import NewTopic
from aiokafka.errors import KafkaConnectionError, KafkaError, TopicAlreadyExistsError, for_code

from schemas.catalog import TopicSpec
from streams.errors import StreamsError
from streams.kafka import BrokerUnavailable, admin_client
from streams.settings import Settings


class TopicsNotCreated(StreamsError, RuntimeError):
    """The cluster refused to create some topics; the message names each with Kafka's reason.
    Retriable: a cluster whose brokers are still registering accepts them a little later."""

    retriable = True

    def __init__(self, refused: dict[str, str]) -> None:
        reasons = "; ".join(f"{name}: {reason}" for name, reason in sorted(refused.items()))
        super().__init__(f"Kafka did not create {len(refused)} topic(s): {reasons}")
        self.refused = refused


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
                response = await admin.create_topics(new_topics)
                refused = _refused(response.topic_errors)
                if refused:
                    raise TopicsNotCreated(refused)
        return TopicsReport(
            created=[spec.name for spec in missing],
            existing=[spec.name for spec in wanted if spec.name in present],
        )
    except KafkaError as exc:
        raise BrokerUnavailable(settings.bootstrap_servers, exc) from exc
    finally:
        await admin.close()


def _refused(topic_errors: list[tuple[object, ...]]) -> dict[str, str]:
    """Topic name → reason, for each per-topic error of a CreateTopics response other than
    "already exists" (``(name, code)`` or ``(name, code, message)`` depending on the version)."""
    refused = {}
    for name, code, *message in topic_errors:
        if code and code != TopicAlreadyExistsError.errno:
            detail = f": {message[0]}" if message and message[0] else ""
            refused[str(name)] = f"{for_code(int(code)).__name__}{detail}"  # type: ignore[call-overload]
    return refused
