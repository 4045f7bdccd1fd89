"""Interoperability with a Kafka client we did not write: kcat (librdkafka).

kcat publishes bytes our codec produced and our consumer decodes them; our producer publishes and
kcat dumps the raw payloads, which our codec decodes. Together they show the wire format is plain
Kafka + Avro single-object encoding, with nothing hidden in our client.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

from schemas.codec import AvroCodec
from streams.producer import EventProducer
from streams.samples import SampleEvents
from streams.settings import Settings
from streams.topics import create_topics
from tests.integration.helpers import read_all

KCAT = shutil.which("kcat") or "kcat"


def split_length_prefixed(blob: bytes) -> list[bytes]:
    """Split kcat's `%R%s` output: 4-byte big-endian length, then that many payload bytes."""
    payloads, position = [], 0
    while position < len(blob):
        (size,) = struct.unpack_from(">i", blob, position)
        position += 4
        payloads.append(blob[position : position + size])
        position += size
    return payloads


async def test_kcat_publishes_what_our_consumer_decodes(settings: Settings, tmp_path: Path) -> None:
    await create_topics(settings)
    codec = AvroCodec()
    samples = SampleEvents(seed=21)
    records = [samples.next("SimulationUpdate") for _ in range(20)]
    files = []
    for index, record in enumerate(records):
        path = tmp_path / f"event-{index:02}.avro"
        path.write_bytes(codec.encode("SimulationUpdate", record))
        files.append(str(path))
    topic = settings.catalog.input_topic("SimulationUpdate")

    subprocess.run(
        [KCAT, "-P", "-b", settings.bootstrap_servers, "-t", topic, "-p", "0", "-k", "sim-1", *files],
        check=True, timeout=60,
    )  # fmt: skip

    landed = await read_all(settings, topic, len(records))
    assert [codec.decode(m.value).record for m in landed] == records
    assert {m.key for m in landed} == {b"sim-1"}


async def test_kcat_consumes_what_our_producer_sent(settings: Settings) -> None:
    await create_topics(settings)
    samples = SampleEvents(seed=22)
    records = [samples.next("DecisionMade") for _ in range(50)]
    async with EventProducer(settings) as producer:
        results = await producer.send_many("DecisionMade", records)
    assert not [r for r in results if isinstance(r, BaseException)]
    topic = settings.catalog.input_topic("DecisionMade")

    dump = subprocess.run(
        [KCAT, "-C", "-b", settings.bootstrap_servers, "-t", topic, "-e", "-q", "-f", "%R%s"],
        check=True, timeout=60, capture_output=True,
    ).stdout  # fmt: skip

    codec = AvroCodec()
    decoded = [codec.decode(payload).record for payload in split_length_prefixed(dump)]
    key = lambda r: r["metadata"]["event_id"]  # noqa: E731
    assert sorted(decoded, key=key) == sorted(records, key=key)
