"""Topic creation reports what the cluster refused instead of taking it as created."""

from __future__ import annotations

import pytest

from schemas.catalog import TopicSpec
from streams.settings import Settings
from streams.topics import TopicsNotCreated, create_topics


async def test_a_topic_the_cluster_refuses_is_reported(settings: Settings) -> None:
    # One broker cannot hold three replicas: Kafka refuses the topic in its per-topic answer,
    # which is how a cluster whose brokers are still registering answers, too.
    spec = TopicSpec("refused.rf3", 1, 3, {})
    with pytest.raises(TopicsNotCreated) as refused:
        await create_topics(settings, [spec])
    assert "refused.rf3: InvalidReplicationFactorError" in str(refused.value)
    assert list(refused.value.refused) == ["refused.rf3"]
