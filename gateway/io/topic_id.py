"""The topic epoch: a topic's Kafka topic id (UUID), read with a Metadata v12 request.

Why this module exists: a resume position carries the epoch of its topic so that a deleted and
recreated topic is reported as a ``topic-recreated`` gap instead of silently replaying offsets
that now mean other records. Kafka gives every topic incarnation a unique id (KIP-516), returned
by Metadata requests from version 10 on. aiokafka 0.14 only speaks Metadata v0-v5 and its admin
``describe_topics`` drops the id, so we declare the v12 structures here (flexible encoding:
compact strings and arrays, tagged fields) with aiokafka's own protocol types and send them on
its client, which negotiates versions per connection like for any other request. v12 is inside
what Kafka 3.x and 4.x brokers accept (4.x removed v0-v3). No other source is honest: a topic's
creation time is not exposed, and partition counts or offsets can repeat across incarnations.
"""

from __future__ import annotations

import uuid
from io import BytesIO
from typing import Any

from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import (
    AbstractType,
    Boolean,
    CompactArray,
    CompactString,
    Int16,
    Int32,
    Schema,
    TaggedFields,
)

UNKNOWN_TOPIC_OR_PARTITION = 3
ZERO_UUID = uuid.UUID(int=0)


class Uuid(AbstractType[uuid.UUID]):
    """Kafka's ``uuid`` type: 16 raw bytes."""

    @classmethod
    def encode(cls, value: uuid.UUID) -> bytes:
        return value.bytes

    @classmethod
    def decode(cls, data: BytesIO) -> uuid.UUID:
        raw = data.read(16)
        if len(raw) != 16:
            raise ValueError("buffer underrun decoding a uuid")
        return uuid.UUID(bytes=raw)


class MetadataResponse_v12(Response):
    API_KEY = 3
    API_VERSION = 12
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        (
            "brokers",
            CompactArray(
                ("node_id", Int32),
                ("host", CompactString("utf-8")),
                ("port", Int32),
                ("rack", CompactString("utf-8")),
                ("tags", TaggedFields),
            ),
        ),
        ("cluster_id", CompactString("utf-8")),
        ("controller_id", Int32),
        (
            "topics",
            CompactArray(
                ("error_code", Int16),
                ("name", CompactString("utf-8")),
                ("topic_id", Uuid),
                ("is_internal", Boolean),
                (
                    "partitions",
                    CompactArray(
                        ("error_code", Int16),
                        ("partition_index", Int32),
                        ("leader_id", Int32),
                        ("leader_epoch", Int32),
                        ("replica_nodes", CompactArray(Int32)),
                        ("isr_nodes", CompactArray(Int32)),
                        ("offline_replicas", CompactArray(Int32)),
                        ("tags", TaggedFields),
                    ),
                ),
                ("topic_authorized_operations", Int32),
                ("tags", TaggedFields),
            ),
        ),
        ("tags", TaggedFields),
    )


class MetadataRequest_v12(RequestStruct):
    FLEXIBLE_VERSION = True
    API_KEY = 3
    API_VERSION = 12
    RESPONSE_TYPE = MetadataResponse_v12
    SCHEMA = Schema(
        (
            "topics",
            CompactArray(
                ("topic_id", Uuid), ("name", CompactString("utf-8")), ("tags", TaggedFields)
            ),
        ),
        ("allow_auto_topic_creation", Boolean),
        ("include_topic_authorized_operations", Boolean),
        ("tags", TaggedFields),
    )


class TopicMetadataRequest(Request[MetadataRequest_v12]):
    """Metadata of named topics, never creating them."""

    API_KEY = 3

    def __init__(self, topics: list[str]) -> None:
        self._topics = topics

    def build(self, request_struct_class: type[MetadataRequest_v12]) -> MetadataRequest_v12:
        return request_struct_class([(ZERO_UUID, t, {}) for t in self._topics], False, False, {})


class TopicInfo:
    """What the gateway needs about one topic: its id (the epoch) and partition numbers."""

    __slots__ = ("epoch", "partitions")

    def __init__(self, epoch: str, partitions: tuple[int, ...]) -> None:
        self.epoch = epoch
        self.partitions = partitions


async def describe_topic(client: Any, topic: str) -> TopicInfo | None:
    """Topic id and partitions of ``topic`` via any broker; None when the topic does not exist.

    ``client`` is an aiokafka ``AIOKafkaClient`` (a consumer's ``_client``); the request goes to
    the least loaded node, like aiokafka's own metadata refreshes.
    """
    node_id = client.get_random_node()
    response = await client.send(node_id, TopicMetadataRequest([topic]))
    for error_code, name, topic_id, _internal, partitions, _ops, _tags in response.topics:
        if name != topic:
            continue
        if error_code == UNKNOWN_TOPIC_OR_PARTITION:
            return None
        if error_code:
            raise RuntimeError(f"metadata for {topic!r} failed with Kafka error {error_code}")
        return TopicInfo(str(topic_id), tuple(sorted(p[1] for p in partitions)))
    return None
