"""Confluent wire format against a tiny Schema-Registry-compatible server on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from schemas import contract
from schemas.confluent import ConfluentCodec
from schemas.errors import (
    BadMagic,
    EncodeError,
    IncompatibleSchema,
    LimitExceeded,
    RegistryError,
    SchemaMismatch,
    Truncated,
    UnknownSchema,
)
from schemas.formats import codec_for
from schemas.registry import RegistryClient
from tests.unit.schemas.samples import sample, sample_batch


class FakeRegistry:
    """The two endpoints regstream uses, with ids shared across subjects like the real one."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.schemas: dict[int, str] = {}
        self.ids: dict[str, int] = {}
        self.subjects: dict[str, list[int]] = {}
        self.requests: list[tuple[str, str]] = []
        self.fail_status: int | None = None
        self.auth: list[str | None] = []

    def add(self, schema: Any, *, subject: str | None = None) -> int:
        text = schema if isinstance(schema, str) else json.dumps(schema)
        key = json.dumps(json.loads(text), sort_keys=True)
        with self.lock:
            if key not in self.ids:
                self.ids[key] = len(self.ids) + 1
                self.schemas[self.ids[key]] = text
            if subject is not None:
                self.subjects.setdefault(subject, []).append(self.ids[key])
            return self.ids[key]


class Handler(BaseHTTPRequestHandler):
    server: Any

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    def reply(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/vnd.schemaregistry.v1+json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def handle_request(self, method: str) -> None:
        registry: FakeRegistry = self.server.registry
        registry.requests.append((method, self.path))
        registry.auth.append(self.headers.get("Authorization"))
        if registry.fail_status is not None:
            self.reply(registry.fail_status, {"error_code": registry.fail_status, "message": "x"})
            return
        parts = self.path.strip("/").split("/")
        if method == "POST" and len(parts) == 3 and parts[0] == "subjects":
            length = int(self.headers["Content-Length"])
            body = json.loads(self.rfile.read(length))
            self.reply(200, {"id": registry.add(body["schema"], subject=parts[1])})
        elif method == "GET" and parts[:2] == ["schemas", "ids"] and parts[2].isdigit():
            text = registry.schemas.get(int(parts[2]))
            if text is None:
                self.reply(404, {"error_code": 40403, "message": "Schema not found"})
            else:
                self.reply(200, {"schema": text})
        else:
            self.reply(404, {"error_code": 404, "message": "no such endpoint"})

    def do_GET(self) -> None:
        self.handle_request("GET")

    def do_POST(self) -> None:
        self.handle_request("POST")


@pytest.fixture
def registry() -> Iterator[tuple[FakeRegistry, str]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.registry = FakeRegistry()  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield server.registry, f"http://127.0.0.1:{server.server_address[1]}"  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.mark.parametrize("event_type", [*contract.EVENT_TYPES, contract.ACCESS_AUDIT])
def test_round_trip_and_wire_layout(registry: tuple[FakeRegistry, str], event_type: str) -> None:
    fake, url = registry
    codec = ConfluentCodec(url)
    record = sample(event_type)
    data = codec.encode(event_type, record)
    schema_id = int.from_bytes(data[1:5], "big")
    assert data[0] == 0
    subject = codec.subject_for(event_type)
    if event_type == contract.ACCESS_AUDIT:
        assert subject == "gateway.audit-value"
    else:
        assert subject == f"{codec.catalog.input_topic(event_type)}-value"
    assert fake.subjects == {subject: [schema_id]}
    assert json.loads(fake.schemas[schema_id]) == contract.schema_json(event_type)
    assert codec.decode(data) == (event_type, record)

    # a consumer with an empty cache looks the id up once, then caches it
    consumer = codec_for("confluent", url)
    assert consumer.decode_expecting(event_type, data).record == record
    assert consumer.decode(data).record == record
    assert fake.requests.count(("GET", f"/schemas/ids/{schema_id}")) == 1


def test_batches_register_under_the_live_subject(registry: tuple[FakeRegistry, str]) -> None:
    fake, url = registry
    codec = ConfluentCodec(url)
    batch = sample_batch("SimulationUpdate", count=3)
    data = codec.encode("EventBatch", batch)
    assert "live.simulation_update-value" in fake.subjects
    assert ConfluentCodec(url).decode(data) == ("EventBatch", batch)


def test_registration_is_cached_and_topic_overrides_subject(
    registry: tuple[FakeRegistry, str],
) -> None:
    fake, url = registry
    codec = ConfluentCodec(url)
    for _ in range(3):
        codec.encode("DecisionMade", sample("DecisionMade"))
    assert [r for r in fake.requests if r[0] == "POST"] == [
        ("POST", "/subjects/events.decision_made-value/versions")
    ]
    codec.encode("DecisionMade", sample("DecisionMade"), topic="tenant-a.decisions")
    assert "tenant-a.decisions-value" in fake.subjects
    # same schema, same global id under both subjects
    assert fake.subjects["tenant-a.decisions-value"] == fake.subjects["events.decision_made-value"]


def test_register_all_covers_every_input_and_live_subject(
    registry: tuple[FakeRegistry, str],
) -> None:
    fake, url = registry
    subjects = ConfluentCodec(url).register_all()
    assert len(subjects) == 13
    assert set(subjects) == set(fake.subjects)
    assert "gateway.audit-value" in subjects
    assert len(set(subjects.values())) == 8  # six events, the batch, the access audit entry


def test_invalid_records_never_reach_the_registry(registry: tuple[FakeRegistry, str]) -> None:
    fake, url = registry
    record = sample("DecisionMade")
    record["confidence_score"] = "high"
    with pytest.raises(EncodeError):
        ConfluentCodec(url).encode("DecisionMade", record)
    assert fake.requests == []


def test_unknown_id_is_cached_as_unknown(registry: tuple[FakeRegistry, str]) -> None:
    fake, url = registry
    codec = ConfluentCodec(url)
    data = b"\x00" + (4242).to_bytes(4, "big") + b"\x02"
    for _ in range(3):
        with pytest.raises(UnknownSchema):
            codec.decode(data)
    assert fake.requests == [("GET", "/schemas/ids/4242")]


def test_foreign_and_non_avro_schemas_are_unknown(registry: tuple[FakeRegistry, str]) -> None:
    fake, url = registry
    foreign = fake.add({"type": "record", "name": "Invoice", "namespace": "billing", "fields": []})
    wrong_ns = fake.add(
        {"type": "record", "name": "DecisionMade", "namespace": "other", "fields": []}
    )
    primitive = fake.add('"string"')
    codec = ConfluentCodec(url)
    for schema_id in (foreign, wrong_ns, primitive):
        with pytest.raises(UnknownSchema):
            codec.decode(b"\x00" + schema_id.to_bytes(4, "big") + b"\x00")


def test_evolved_writer_schema_is_resolved(registry: tuple[FakeRegistry, str]) -> None:
    fake, url = registry
    # An older producer without decision_details (the current schema defaults it to {}).
    old = contract.schema_json("DecisionMade")
    old["fields"] = [f for f in old["fields"] if f["name"] != "decision_details"]
    schema_id = fake.add(old)
    record = sample("DecisionMade")
    record["decision_details"] = {}
    body = ConfluentCodec(url).encode("DecisionMade", record)[5:]
    assert body.endswith(b"\x00")  # the empty map is the last byte: without it, the old encoding
    decoded = ConfluentCodec(url).decode(b"\x00" + schema_id.to_bytes(4, "big") + body[:-1])
    assert decoded == ("DecisionMade", record)


def test_incompatible_writer_schema_is_a_mismatch(registry: tuple[FakeRegistry, str]) -> None:
    fake, url = registry
    bad = contract.schema_json("DecisionMade")
    for f in bad["fields"]:
        if f["name"] == "confidence_score":
            f["type"] = "string"
    schema_id = fake.add(bad)
    with pytest.raises(SchemaMismatch, match="confidence_score"):
        ConfluentCodec(url).decode(b"\x00" + schema_id.to_bytes(4, "big") + b"\x00")


def test_unsafe_writer_schema_is_refused(registry: tuple[FakeRegistry, str]) -> None:
    fake, url = registry
    unsafe = contract.schema_json("DecisionMade")
    unsafe["fields"].append(
        {"name": "ticks", "type": {"type": "array", "items": "null"}, "default": []}
    )
    schema_id = fake.add(unsafe)
    with pytest.raises(LimitExceeded):
        ConfluentCodec(url).decode(b"\x00" + schema_id.to_bytes(4, "big") + b"\x00")


def test_framing_errors(registry: tuple[FakeRegistry, str]) -> None:
    _, url = registry
    codec = ConfluentCodec(url)
    data = codec.encode("DecisionMade", sample("DecisionMade"))
    with pytest.raises(BadMagic):
        codec.decode(b"\xc3\x01" + data[1:])
    with pytest.raises(BadMagic):
        codec.decode(b"")
    with pytest.raises(Truncated):
        codec.decode(data[:3])
    with pytest.raises(Truncated):
        codec.decode(data[:-2])
    with pytest.raises(SchemaMismatch):
        codec.decode_expecting("AgentStatusUpdate", data)


def test_registry_down_is_retriable() -> None:
    codec = ConfluentCodec(closed_port_url(), timeout=2.0)
    with pytest.raises(RegistryError) as info:
        codec.encode("DecisionMade", sample("DecisionMade"))
    assert info.value.retriable
    with pytest.raises(RegistryError) as info:
        codec.decode(b"\x00\x00\x00\x00\x07\x00")
    assert info.value.retriable
    assert not isinstance(info.value, UnknownSchema)


@pytest.mark.parametrize(
    ("status", "retriable"), [(500, True), (503, True), (429, True), (401, False), (422, False)]
)
def test_http_errors(registry: tuple[FakeRegistry, str], status: int, retriable: bool) -> None:
    fake, url = registry
    fake.fail_status = status
    codec = ConfluentCodec(url)
    with pytest.raises(RegistryError) as info:
        codec.encode("DecisionMade", sample("DecisionMade"))
    assert info.value.retriable is retriable
    assert info.value.status == status
    # an outage is not cached: once the registry is back, decoding works
    fake.fail_status = None
    data = codec.encode("DecisionMade", sample("DecisionMade"))
    fake.fail_status = status
    fresh = ConfluentCodec(url)
    with pytest.raises(RegistryError):
        fresh.decode(data)
    fake.fail_status = None
    assert fresh.decode(data).event_type == "DecisionMade"


def test_registry_refusing_a_schema_is_incompatible(registry: tuple[FakeRegistry, str]) -> None:
    fake, url = registry
    fake.fail_status = 409
    with pytest.raises(IncompatibleSchema):
        ConfluentCodec(url).encode("DecisionMade", sample("DecisionMade"))


def test_credentials_in_the_url_become_basic_auth(registry: tuple[FakeRegistry, str]) -> None:
    fake, url = registry
    authed = url.replace("http://", "http://reg%40user:s3cret@")
    ConfluentCodec(authed).encode("DecisionMade", sample("DecisionMade"))
    assert fake.auth == ["Basic cmVnQHVzZXI6czNjcmV0"]  # base64("reg@user:s3cret")
    fake.fail_status = 500
    with pytest.raises(RegistryError) as info:
        ConfluentCodec(authed).encode("DecisionMade", sample("DecisionMade"))
    assert "s3cret" not in str(info.value)


def test_client_refuses_non_http_urls() -> None:
    with pytest.raises(ValueError):
        RegistryClient("ftp://registry")
    with pytest.raises(ValueError):
        RegistryClient("registry:8081")
