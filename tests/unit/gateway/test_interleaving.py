"""Seeded random interleavings of everything the I/O layer can feed a session.

A fake I/O layer holds a Kafka-like log (with transaction markers occupying offsets), one shared
tail reader, catch-up readers started and stopped on command, delayed `from` resolution, send
queue swings, ticks, and clients that drop the connection (or are drained) and resume from
their last checkpoint token. Whatever the order, each client must end up with every event its
filter selects, exactly once after dedupe by position, in order per partition; and within one
connection no position may ever arrive twice or out of order.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest

from gateway.core.auth import Principal
from gateway.core.commands import (
    LogBounds,
    ResolveTopic,
    StartCatchUp,
    StopCatchUp,
    TopicSnapshot,
    UnwatchTopic,
    WatchTopic,
)
from gateway.core.config import SessionConfig
from gateway.core.filters import compile_filter
from gateway.core.records import Record
from gateway.core.session import Session
from tests.unit.gateway.helpers import KEYRING, NOW, TOPIC, batch, event

PARTITIONS = 3
SEVERITIES = ("INFO", "HIGH", "LOW", "CRITICAL")
Pos = tuple[int, int, int]


class Log:
    """Per partition, offset -> batch, or None for a transaction marker."""

    def __init__(self) -> None:
        self.parts: dict[int, list[dict[str, Any] | None]] = {p: [] for p in range(PARTITIONS)}

    def produce(self, rng: random.Random) -> None:
        p = rng.randrange(PARTITIONS)
        events = [event(severity=rng.choice(SEVERITIES)) for _ in range(rng.randint(1, 3))]
        self.parts[p].append(batch(events))
        if rng.random() < 0.5:
            self.parts[p].append(None)  # commit marker after the batch

    def end(self, p: int) -> int:
        return len(self.parts[p])

    def next_data(self, p: int, pos: int) -> int | None:
        return next((o for o in range(pos, self.end(p)) if self.parts[p][o] is not None), None)


class Reader:
    """Reads data records in order per partition; ``pos`` = offset after the last one fed."""

    def __init__(self, log: Log, positions: dict[int, int]) -> None:
        self.log, self.pos = log, dict(positions)

    def step(self, rng: random.Random) -> Record | None:
        ready = [p for p in self.pos if self.log.next_data(p, self.pos[p]) is not None]
        if not ready:
            return None
        p = rng.choice(ready)
        o = self.log.next_data(p, self.pos[p])
        assert o is not None
        rec = Record(TOPIC, p, o, NOW, self.log.parts[p][o] or {}, prev_offset=self.pos[p])
        self.pos[p] = o + 1
        return rec

    def consumer_position(self) -> dict[int, int]:
        """What aiokafka's position() says: past trailing markers too."""
        out = {}
        for p, pos in self.pos.items():
            found = self.log.next_data(p, pos)
            out[p] = self.log.end(p) if found is None else found
        return out


@dataclass
class SimClient:
    name: str
    spec: dict[str, Any] | None
    session: Session | None = None
    token: str | None = None
    backlog: int = 0  # bytes the fake socket holds, reported after every settle
    first_seen: list[Pos] = field(default_factory=list)
    seen: set[Pos] = field(default_factory=set)
    connections: int = 0

    def absorb(self, frame: dict[str, Any], this_connection: list[Pos]) -> None:
        if frame["op"] == "checkpoint":
            self.token = frame["token"]
        events = [frame["event"]] if frame["op"] == "event" else frame.get("events", [])
        if frame["op"] not in ("event", "batch"):
            return
        for e in events:
            pos = (e["position"]["partition"], e["position"]["offset"], e["position"]["index"])
            this_connection.append(pos)
            if pos not in self.seen:
                self.seen.add(pos)
                self.first_seen.append(pos)


class FakeIO:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.log = Log()
        self.tail = Reader(self.log, {p: 0 for p in range(PARTITIONS)})
        self.now = NOW
        self.clients = [
            SimClient("all", None),
            SimClient("high", {"severity": {"gte": "HIGH"}}),
            SimClient("p-all", None),
        ]
        self.per_connection: dict[int, list[Pos]] = {}
        self.resolves: list[tuple[Session, str]] = []
        self.catchups: dict[tuple[int, int], tuple[Session, str, Reader]] = {}
        self.config = SessionConfig(
            send_high_bytes=1000,
            send_low_bytes=100,
            slow_close_ms=None,
            checkpoint_every_events=7,
            rate_per_s=1e6,
            rate_burst=10**6,
        )

    def connect(self, c: SimClient) -> None:
        c.connections += 1
        c.session = Session(
            Principal("alice", ("*",)),
            KEYRING,
            session_id=f"{c.name}-{c.connections}",
            now_ms=self.now,
            config=self.config,
        )
        self.per_connection[id(c.session)] = []
        start: Any = {"token": c.token} if c.token else "earliest"
        frame = {"op": "subscribe", "id": "s", "topic": TOPIC, "from": start}
        if c.spec and not c.token:
            frame["filter"] = c.spec
        c.session.receive_frame(orjson.dumps(frame).decode(), self.now)
        self.settle(c)

    def drop(self, c: SimClient, graceful: bool) -> None:
        assert c.session is not None
        if graceful:
            c.session.begin_drain(self.now)
            self.settle(c)
        gone = c.session
        self.resolves = [r for r in self.resolves if r[0] is not gone]
        self.catchups = {k: v for k, v in self.catchups.items() if v[0] is not gone}
        c.session = None

    def settle(self, c: SimClient) -> None:
        """Like the connection's pump: run what the session asked, then report the buffer."""
        reported = False
        while c.session is not None:
            out = c.session.take()
            if not out.frames and not out.commands and out.close is None:
                if reported:
                    return
                c.session.on_send_buffer(c.backlog, self.now)
                reported = True
                continue
            reported = False
            mine = self.per_connection[id(c.session)]
            for f in out.frames:
                c.absorb(orjson.loads(bytes(f)), mine)
            for cmd in out.commands:
                self.execute(c.session, cmd)
            if out.close is not None:
                self.drop(c, graceful=False)

    def execute(self, s: Session, cmd: Any) -> None:
        if isinstance(cmd, WatchTopic):
            s.on_tail_position(cmd.topic, dict(self.tail.pos), self.now)
        elif isinstance(cmd, ResolveTopic):
            self.resolves.append((s, cmd.sub_id))
        elif isinstance(cmd, StartCatchUp):
            self.catchups[(id(s), cmd.reader)] = (
                s,
                cmd.sub_id,
                Reader(self.log, dict(cmd.positions)),
            )
        elif isinstance(cmd, StopCatchUp):
            self.catchups.pop((id(s), cmd.reader), None)
        else:
            assert isinstance(cmd, UnwatchTopic)

    def client_of(self, s: Session) -> SimClient:
        return next(c for c in self.clients if c.session is s)

    # -- one random step ------------------------------------------------------------------

    def step(self, producing: bool) -> bool:
        """Do one random thing; return whether anything could happen."""
        rng = self.rng
        live = [c for c in self.clients if c.session is not None]
        actions = ["tail", "tail", "tail", "tail_pos", "resolve", "catchup", "catchup", "tick"]
        actions += ["produce", "produce", "buffer", "drop", "restart"] if producing else []
        action = rng.choice(actions)
        if action == "produce":
            self.log.produce(rng)
        elif action == "restart" and rng.random() < 0.2:
            # the tail consumer was recreated at the log end: it skips what it had not read yet
            self.tail = Reader(self.log, {p: self.log.end(p) for p in range(PARTITIONS)})
        elif action == "tail":
            rec = self.tail.step(rng)
            if rec is None:
                return False
            for c in live:
                assert c.session is not None
                c.session.on_tail_record(rec, self.now)
                self.settle(c)
        elif action == "tail_pos":
            for c in live:
                assert c.session is not None
                c.session.on_tail_position(TOPIC, dict(self.tail.pos), self.now)
                self.settle(c)
            return False  # no record moved
        elif action == "resolve" and self.resolves:
            s, sub_id = self.resolves.pop(rng.randrange(len(self.resolves)))
            bounds = {p: LogBounds(0, self.log.end(p)) for p in range(PARTITIONS)}
            s.on_start_resolved(sub_id, TopicSnapshot("E1", bounds), self.now)
            self.settle(self.client_of(s))
        elif action == "catchup":
            active = list(self.catchups)
            if not active:
                return False
            s, sub_id, reader = self.catchups[rng.choice(active)]
            key_reader = next(k[1] for k, v in self.catchups.items() if v[2] is reader)
            fed = 0
            for _ in range(rng.randint(1, 8)):  # one fetch
                rec = reader.step(rng)
                if rec is None or (s, sub_id, reader) not in self.catchups.values():
                    break
                s.on_catchup_record(sub_id, key_reader, rec, self.now)
                self.settle(self.client_of(s))
                fed += 1
            if rng.random() < 0.7 and (s, sub_id, reader) in self.catchups.values():
                s.on_catchup_position(sub_id, key_reader, reader.consumer_position(), self.now)
                self.settle(self.client_of(s))
            return fed > 0
        elif action == "tick":
            self.now += rng.randint(1, 400)
            for c in live:
                assert c.session is not None
                c.session.tick(self.now)
                self.settle(c)
            return False
        elif action == "buffer" and live:
            c = rng.choice(live)
            assert c.session is not None
            c.backlog = rng.choice((0, 0, 50, 500, 5000))
            self.settle(c)
        elif action == "drop" and live and rng.random() < 0.2:
            self.drop(rng.choice(live), graceful=rng.random() < 0.5)
        else:
            return False
        return True

    def run(self, steps: int) -> None:
        for c in self.clients:
            self.connect(c)
        for _ in range(steps):
            for c in self.clients:
                if c.session is None and self.rng.random() < 0.3:
                    self.connect(c)
            self.step(producing=True)
        for c in self.clients:  # let everyone come back and drain the backlog
            if c.session is None:
                self.connect(c)
            assert c.session is not None
            c.backlog = 0
            self.settle(c)
        idle = 0
        while idle < 200:
            idle = 0 if self.step(producing=False) else idle + 1

    def expected(self, spec: dict[str, Any] | None) -> list[Pos]:
        flt = compile_filter(spec)
        return [
            (p, o, i)
            for p, entries in self.log.parts.items()
            for o, b in enumerate(entries)
            if b is not None
            for i, item in enumerate(b["events"])
            if flt.matches(item)
        ]


def in_order_per_partition(positions: list[Pos]) -> bool:
    last: dict[int, tuple[int, int]] = {}
    for p, o, i in positions:
        if p in last and (o, i) <= last[p]:
            return False
        last[p] = (o, i)
    return True


@pytest.mark.parametrize("seed", range(10))
def test_every_event_exactly_once_in_order(seed: int) -> None:
    io = FakeIO(seed)
    io.run(steps=1000)
    for connection in io.per_connection.values():
        assert len(connection) == len(set(connection)), "duplicate within one connection"
        assert in_order_per_partition(connection), "out of order within one connection"
    for c in io.clients:
        want = io.expected(c.spec)
        assert sorted(c.first_seen) == want, f"{c.name}: missing {sorted(set(want) - c.seen)[:5]}"
        assert in_order_per_partition(c.first_seen)
    assert sum(c.connections for c in io.clients) > len(io.clients)  # resumes happened
    assert len(io.expected(None)) > 100
