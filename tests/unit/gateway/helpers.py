"""Builders shared by the gateway core tests: events, records, snapshots and a client harness."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from gateway.core.auth import Principal
from gateway.core.commands import AccessAction, Command, Gap, LogBounds, TopicSnapshot
from gateway.core.config import SessionConfig
from gateway.core.records import Record
from gateway.core.session import Session
from gateway.core.tokens import ResumeKeyring

NOW = 1_700_000_000_000
TOPIC = "AgentStatusUpdate"
KEYRING = ResumeKeyring({"k1": b"r" * 32, "k2": b"s" * 32}, active="k2")


def event(
    *,
    agent_id: str = "agent-1",
    severity: str = "INFO",
    event_type: str = TOPIC,
    source: str = "svc",
    offset: int = 0,
    status: str = "ACTIVE",
) -> dict[str, Any]:
    """One decoded EventBatch item, as the codec returns it."""
    record = {
        "metadata": {
            "event_id": str(uuid.uuid4()),
            "event_type": event_type,
            "source": source,
            "occurred_at": NOW,
            "severity": severity,
            "headers": {},
        },
        "agent_id": agent_id,
        "status": status,
        "attributes": {},
    }
    enrichment = {
        "agent_name": None,
        "agent_known": False,
        "severity_level": 1,
        "ingested_at": NOW,
        "processed_at": NOW,
        "pipeline_latency_ms": 3,
    }
    return {"source_offset": offset, "payload": (event_type, record), "enrichment": enrichment}


def batch(events: Iterable[Mapping[str, Any]], event_type: str = TOPIC) -> dict[str, Any]:
    return {
        "batch_id": str(uuid.uuid4()),
        "event_type": event_type,
        "source_topic": f"events.{event_type}",
        "source_partition": 0,
        "created_at": NOW,
        "events": list(events),
    }


def record(
    partition: int,
    offset: int,
    n: int = 1,
    *,
    prev: int | None = None,
    topic: str = TOPIC,
    ts: int = NOW,
    events: list[dict[str, Any]] | None = None,
) -> Record:
    items = events if events is not None else [event(offset=i) for i in range(n)]
    return Record(topic, partition, offset, ts, batch(items), prev_offset=prev)


def snapshot(
    bounds: Mapping[int, tuple[int, int]],
    epoch: str = "E1",
    times: Mapping[int, Mapping[int, int | None]] | None = None,
) -> TopicSnapshot:
    return TopicSnapshot(epoch, {p: LogBounds(*b) for p, b in bounds.items()}, times or {})


def principal(**kw: Any) -> Principal:
    kw.setdefault("sub", "alice")
    kw.setdefault("topics", ("*",))
    kw.setdefault("publish", ("CollaborationEvent",))
    return Principal(**kw)


class Client:
    """Drives one Session like the I/O layer would and decodes what comes out."""

    def __init__(
        self, session: Session | None = None, who: Principal | None = None, **config: Any
    ) -> None:
        self.session = session or Session(
            who or principal(), KEYRING, session_id="s1", now_ms=NOW, config=SessionConfig(**config)
        )
        self.frames: list[dict[str, Any]] = []
        self.commands: list[Command] = []
        self.audit: list[AccessAction] = []
        self.gaps: list[Gap] = []
        self.close: tuple[int, str] | None = None
        self.pump()

    def pump(self) -> list[dict[str, Any]]:
        out = self.session.take()
        new = [orjson.loads(bytes(f)) for f in out.frames]
        self.frames += new
        self.commands += out.commands
        self.audit += out.audit
        self.gaps += out.gaps
        if out.close:
            self.close = (out.close.code, out.close.reason)
        return new

    def send(self, frame: Mapping[str, Any] | str | bytes, now: int = NOW) -> list[dict[str, Any]]:
        data = frame if isinstance(frame, str | bytes) else orjson.dumps(frame).decode()
        self.session.receive_frame(data, now)
        return self.pump()

    def take_commands(self, kind: type | None = None) -> list[Any]:
        """Commands of ``kind`` issued so far (pumping first), removed from the backlog."""
        self.pump()
        found = [c for c in self.commands if kind is None or isinstance(c, kind)]
        self.commands = [c for c in self.commands if c not in found]
        return found

    def ops(self, op: str) -> list[dict[str, Any]]:
        self.pump()
        return [f for f in self.frames if f["op"] == op]

    def delivered(self) -> list[tuple[int, int, int]]:
        """(partition, offset, index) of every event received, in order."""
        self.pump()
        out = []
        for f in self.frames:
            events = [f["event"]] if f["op"] == "event" else f.get("events", [])
            if f["op"] in ("event", "batch"):
                out += [
                    (e["position"]["partition"], e["position"]["offset"], e["position"]["index"])
                    for e in events
                ]
        return out

    def last_token(self) -> str:
        self.pump()
        return self.ops("checkpoint")[-1]["token"]
