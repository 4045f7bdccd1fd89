"""Shared by the gateway integration, chaos and benchmark runs (no tests in here).

* :class:`GatewayProcess`: the real ``regstream gateway`` in a subprocess on free loopback ports
  (``--port 0``; it prints the ports it bound), always stopped, even when a test fails.
* :func:`produce_batches`: EventBatch records written straight to ``live.<type>`` with the codec,
  as the pipeline would (the tests do not need the Faust worker).
* :class:`WsClient`: a raw ``websockets`` client that records every frame it receives.

Every wait is bounded and fails with a message saying what was awaited.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer
from websockets.asyncio.client import ClientConnection, connect

from gateway.core.auth import mint_token
from gateway.io.server import READY_PREFIX
from gateway.io.settings import DEV_JWT_KID
from schemas.codec import AvroCodec
from streams.kafka import reliable_producer
from streams.samples import SampleEvents
from streams.settings import Settings
from streams.topics import create_topics

AUDIENCE, ISSUER = "regstream", "regstream-dev"
CODEC = AvroCodec()


def settings_env(settings: Settings, **gateway: object) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGSTREAM_")}
    for name in ("bootstrap_servers", "input_prefix", "live_prefix", "dlq_topic",
                 "agents_topic", "audit_topic", "partitions"):  # fmt: skip
        env[f"REGSTREAM_{name.upper()}"] = str(getattr(settings, name))
    for key, value in gateway.items():
        env[f"REGSTREAM_GATEWAY_{key.upper()}"] = str(value)
    return env


class GatewayProcess:
    """``python -m streams.cli.main gateway --port 0 --ops-port 0`` with the test's settings."""

    def __init__(self, settings: Settings, log_dir: Path, **gateway: object) -> None:
        self.settings = settings
        self.env = settings_env(settings, **gateway)
        self.log_dir = log_dir
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = self.ops_port = 0
        self.starts = 0
        self._log: Any = None

    def _close_files(self) -> None:
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()
        if self._log is not None:
            self._log.close()
            self._log = None

    def start(self, timeout_s: float = 60.0, port: int = 0) -> GatewayProcess:
        self.starts += 1
        self._close_files()
        log = (self.log_dir / f"gateway-{id(self)}-{self.starts}.log").open("wb")
        self._log = log
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streams.cli.main",
                "gateway",
                "--port",
                str(port),
                "--ops-port",
                "0",
                "--log-level",
                "info",
            ],
            stdout=subprocess.PIPE,
            stderr=log,
            env=self.env,
            start_new_session=True,
        )
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout_s
        os.set_blocking(self.proc.stdout.fileno(), False)
        buffer = b""
        while time.monotonic() < deadline:
            chunk = self.proc.stdout.read() or b""
            buffer += chunk
            for line in buffer.decode(errors="replace").splitlines():
                if line.startswith(READY_PREFIX):
                    info = orjson.loads(line[len(READY_PREFIX) :])
                    self.port, self.ops_port = info["port"], info["ops_port"]
                    return self
            if self.proc.poll() is not None:
                raise AssertionError(f"gateway exited with {self.proc.returncode}; see {log.name}")
            time.sleep(0.05)
        self.kill()
        raise AssertionError(f"gateway printed no ready line within {timeout_s}s; see {log.name}")

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def http(self, path: str, *, ops: bool = False) -> str:
        return f"http://127.0.0.1:{self.ops_port if ops else self.port}{path}"

    def signal(self, sig: int) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)

    def kill(self) -> None:
        self.signal(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(30)
        self._close_files()

    def wait(self, timeout_s: float) -> int:
        assert self.proc is not None
        try:
            code = self.proc.wait(timeout_s)
            self._close_files()
            return code
        except subprocess.TimeoutExpired:
            raise AssertionError(f"gateway still running {timeout_s}s after the signal") from None

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not exit; safe to call twice."""
        if self.proc is None or self.proc.poll() is not None:
            self._close_files()
            return
        self.signal(signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.kill()
        self._close_files()


@contextlib.contextmanager
def running_gateway(
    settings: Settings, log_dir: Path, **gateway: object
) -> Iterator[GatewayProcess]:
    """The catalog's topics, then a gateway process with ``gateway`` settings, always stopped."""
    asyncio.run(create_topics(settings))
    proc = GatewayProcess(settings, log_dir, **gateway).start()
    try:
        yield proc
    finally:
        proc.stop()


def token(
    settings: Settings,
    sub: str = "alice",
    *,
    topics: Iterable[str] = ("*",),
    publish: Iterable[str] = (),
    lifetime_s: int = 3600,
    **extra: Any,
) -> str:
    return mint_token(
        settings.jwt_secret.get_secret_value(),
        sub=sub,
        audience=AUDIENCE,
        issuer=ISSUER,
        now_s=int(time.time()),
        kid=DEV_JWT_KID,
        topics=list(topics),
        publish=list(publish),
        lifetime_s=lifetime_s,
        **extra,
    )


def enriched(event_type: str, record: Mapping[str, Any], offset: int = 0) -> dict[str, Any]:
    now = int(time.time() * 1000)
    return {
        "source_offset": offset,
        "payload": (event_type, dict(record)),
        "enrichment": {
            "severity_level": 1,
            "ingested_at": now,
            "processed_at": now,
            "pipeline_latency_ms": 1,
        },
    }


def batch_value(event_type: str, records: list[Mapping[str, Any]]) -> bytes:
    batch = {
        "batch_id": str(uuid.uuid4()),
        "event_type": event_type,
        "source_topic": f"events.{event_type}",
        "source_partition": 0,
        "created_at": int(time.time() * 1000),
        "events": [enriched(event_type, r, i) for i, r in enumerate(records)],
    }
    return CODEC.encode("EventBatch", batch)


async def produce_batches(
    settings: Settings,
    event_type: str,
    records: int,
    per_record: int = 1,
    *,
    partition: int | None = None,
    producer: AIOKafkaProducer | None = None,
    samples: SampleEvents | None = None,
    tweak: Callable[[dict[str, Any]], None] | None = None,
) -> list[str]:
    """Write ``records`` EventBatch records of ``per_record`` events; return the event ids."""
    samples = samples or SampleEvents(seed=int(time.time() * 1000) % 100_000)
    own = producer is None
    producer = producer or reliable_producer(settings)
    if own:
        await producer.start()
    ids: list[str] = []
    try:
        futures = []
        for i in range(records):
            events = [samples.next(event_type) for _ in range(per_record)]
            for e in events:
                if tweak:
                    tweak(e)
                ids.append(e["metadata"]["event_id"])
            key = str(i).encode()
            futures.append(
                await producer.send(
                    settings.catalog.live_topic(event_type),
                    batch_value(event_type, events),
                    key=key,
                    partition=partition,
                )
            )
        await asyncio.gather(*futures)
    finally:
        if own:
            await producer.stop()
    return ids


class WsClient:
    """A raw WebSocket client that records frames; ``until`` waits for one, bounded."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.frames: list[dict[str, Any]] = []
        self._seen = 0

    @classmethod
    async def open(cls, url: str, jwt: str | None, **kw: Any) -> WsClient:
        headers = {"Authorization": f"Bearer {jwt}"} if jwt else {}
        ws = await asyncio.wait_for(
            connect(url, additional_headers=headers, max_size=None, open_timeout=10, **kw), 15
        )
        return cls(ws)

    async def send(self, frame: Mapping[str, Any]) -> None:
        await self.ws.send(orjson.dumps(frame).decode())

    async def next(self, timeout_s: float = 20.0) -> dict[str, Any]:
        raw = await asyncio.wait_for(self.ws.recv(), timeout_s)
        frame: dict[str, Any] = orjson.loads(raw)
        self.frames.append(frame)
        return frame

    async def until(
        self, op: str, timeout_s: float = 30.0, pred: Callable[[dict[str, Any]], bool] | None = None
    ) -> dict[str, Any]:
        """The first not-yet-consumed frame with ``op`` (and ``pred``), reading more as needed."""
        deadline = time.monotonic() + timeout_s
        while True:
            for i in range(self._seen, len(self.frames)):
                f = self.frames[i]
                if f.get("op") == op and (pred is None or pred(f)):
                    self._seen = i + 1
                    return f
            left = deadline - time.monotonic()
            if left <= 0:
                ops = [f.get("op") for f in self.frames[-10:]]
                raise AssertionError(f"no {op!r} frame within {timeout_s}s; last frames: {ops}")
            try:
                await self.next(left)
            except TimeoutError:
                continue

    def events(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for f in self.frames:
            if f["op"] == "event":
                out.append(f["event"])
            elif f["op"] == "batch":
                out.extend(f["events"])
        return out

    async def collect(self, count: int, timeout_s: float = 30.0) -> list[dict[str, Any]]:
        """Read until ``count`` events arrived in all."""
        deadline = time.monotonic() + timeout_s
        while len(self.events()) < count:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(
                    f"got {len(self.events())} of {count} events within {timeout_s}s"
                )
            with contextlib.suppress(TimeoutError):
                await self.next(left)
        return self.events()

    async def drained(
        self,
        settings: Settings,
        event_type: str,
        *,
        partitions: int | None = None,
        tweak: Callable[[dict[str, Any]], None] | None = None,
        timeout_s: float = 30.0,
    ) -> set[str]:
        """Everything the gateway had for this client up to now has arrived: one marker event
        is written to every partition (``tweak`` makes it pass the subscription's filter) and
        read back; partitions are delivered in order, so nothing written before a marker can
        still be on its way. Returns the markers' ids, to leave them out of what is checked."""
        markers: set[str] = set()
        for partition in range(partitions or settings.partitions):
            markers.update(
                await produce_batches(settings, event_type, 1, partition=partition, tweak=tweak)
            )
        deadline = time.monotonic() + timeout_s
        while not markers <= {e["event_id"] for e in self.events()}:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"the markers did not arrive within {timeout_s}s")
            with contextlib.suppress(TimeoutError):
                await self.next(left)
        return markers

    async def settled_checkpoint(self, timeout_s: float = 20.0) -> dict[str, Any]:
        """The checkpoint that follows the last data frame (read until one exists)."""
        deadline = time.monotonic() + timeout_s
        while True:
            last_data = max(
                (i for i, f in enumerate(self.frames) if f["op"] in ("event", "batch")), default=-1
            )
            after = [f for f in self.frames[last_data + 1 :] if f["op"] == "checkpoint"]
            if after:
                return after[-1]
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no checkpoint after the last event within {timeout_s}s")
            with contextlib.suppress(TimeoutError):
                await self.next(left)

    async def closed(self, timeout_s: float = 20.0) -> tuple[int | None, str | None]:
        """Read until the server closes; return (code, reason)."""
        deadline = time.monotonic() + timeout_s
        with contextlib.suppress(Exception):
            while time.monotonic() < deadline:
                await self.next(deadline - time.monotonic())
        if self.ws.close_code is None:
            raise AssertionError(f"the server did not close within {timeout_s}s")
        return self.ws.close_code, self.ws.close_reason

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.ws.close(), 5)


def positions_of(events: list[dict[str, Any]]) -> list[tuple[int, int, int]]:
    return [
        (e["position"]["partition"], e["position"]["offset"], e["position"]["index"])
        for e in events
    ]
