"""The gateway process: the public port (``/ws`` WebSocket + the dashboard's static files), the
ops port, the handshake, and SIGTERM drain. The protocol lives in the sans-I/O core; a
connection's I/O in ``connection.py``; shared readers and writers in ``hub.py``.

Handshake (before the upgrade, in ``process_request``): GET only (405 otherwise), then the
request checks of ``handshake.py`` (Origin: the configured own origins and allow-list, never the
client's ``Host``; subprotocols; where the bearer JWT is, never the query), verification (in a
thread when a JWKS URL may cause network I/O), connection caps per subject and IP. A refusal is
an HTTP status with a JSON body ``{"error": code, "message": text}`` and is counted by reason;
tokens are never logged. Client messages are bounded by ``max_frame_bytes`` in the WebSocket
layer itself (``wire.py`` closes an oversized one with 4500, as the core would). Over TLS every
HTTP response carries Strict-Transport-Security; a TLS file that cannot be used stops the
process before it touches Kafka (``tls.py``).

Drain (SIGTERM/SIGINT): stop accepting, send every client a checkpoint and close 4000, wait for
them up to ``drain_deadline_s``, flush the audit log, exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import uuid
from collections.abc import Sequence
from typing import Any

import orjson
import structlog
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

from gateway.core.auth import Principal, select_subprotocol
from gateway.core.errors import CloseCode, HandshakeError, InternalError
from gateway.core.handshake import Handshake
from gateway.core.limits import ConnectionLimiter, Lease
from gateway.core.origin import OriginPolicy, own_origins
from gateway.core.session import Session
from gateway.io.clock import now_ms
from gateway.io.connection import CLOSE_TIMEOUT_S, Connection
from gateway.io.http import json_response, method_not_allowed
from gateway.io.hub import Hub
from gateway.io.jwks import verifier_for
from gateway.io.ops import serve_ops
from gateway.io.settings import GatewaySettings
from gateway.io.static_files import StaticFiles
from gateway.io.tls import hsts_header, load_tls
from gateway.io.wire import GatewayWire
from streams.settings import Settings

log = structlog.get_logger("gateway.server")
WS_PATH = "/ws"
READY_PREFIX = "REGSTREAM_GATEWAY_READY "
MAX_QUEUE = 16  # client frames buffered before reading pauses: 16 times max_size at most
WRITE_LIMIT = 64 * 1024  # the transport buffer's high-water mark; its bytes count as queued


class GatewayServer:
    def __init__(self, base: Settings, settings: GatewaySettings) -> None:
        self.tls = load_tls(settings.tls_cert, settings.tls_key)  # first: fail before any I/O
        self.hsts = hsts_header(settings.hsts_max_age_s) if self.tls else None
        self.base, self.settings = base, settings
        self.instance = settings.instance or f"{socket.gethostname()}:{os.getpid()}"
        self.hub = Hub(base, settings, self.instance)
        auth, self.dev_keys = settings.auth_config(base)
        self.verifier = verifier_for(auth)
        self._verify_in_thread = bool(auth.jwks_url)
        self.limiter = ConnectionLimiter(
            settings.max_connections_per_subject, settings.max_connections_per_ip
        )
        self.static = StaticFiles(settings.static_dir)
        self.handshake = self._handshake(settings.port)  # set again once the port is bound
        self._admitted: dict[ServerConnection, tuple[Principal, Lease]] = {}
        self.public: Server | None = None
        self.ops: Server | None = None
        self.stopping = asyncio.Event()

    # -- handshake --------------------------------------------------------------------------

    def _handshake(self, port: int) -> Handshake:
        """The request checks for the gateway listening on ``port`` (known once bound)."""
        s = self.settings
        own = own_origins(s.public_url, s.host, port, tls=self.tls is not None)
        policy = OriginPolicy((*own, *s.allowed_origins), s.allow_missing_origin)
        return Handshake(policy)

    async def process_request(self, conn: ServerConnection, request: Request) -> Response | None:
        path = request.path.split("?", 1)[0]
        if path != WS_PATH:
            return self.static.serve(request.method, request.path)
        if request.method != "GET":
            return method_not_allowed(("GET",))
        if self.hub.draining:
            return json_response(503, {"error": "server_draining", "message": "draining"})
        try:
            await self._admit(conn, request)
            return None
        except HandshakeError as err:
            self.hub.metrics.auth_failures.labels(err.code).inc()
            log.info("handshake refused", peer=_peer(conn), code=err.code, reason=err.message)
            return json_response(err.http_status, {"error": err.code, "message": err.message})

    async def _admit(self, conn: ServerConnection, request: Request) -> None:
        credentials = self.handshake.screen(request.headers)
        if self._verify_in_thread:
            principal = await asyncio.to_thread(self.verifier.verify, credentials.token)
        else:
            principal = self.verifier.verify(credentials.token)
        lease = self.limiter.acquire(principal.sub, _peer(conn).rsplit(":", 1)[0])
        self._admitted[conn] = (principal, lease)
        return None

    def process_response(
        self, conn: ServerConnection, request: Request, response: Response
    ) -> None:
        if self.hsts is not None:
            response.headers[self.hsts[0]] = self.hsts[1]
        if response.status_code != 101:  # the upgrade failed after we admitted it
            admitted = self._admitted.pop(conn, None)
            if admitted is not None:
                self.limiter.release(admitted[1])

    @staticmethod
    def choose_subprotocol(
        conn: ServerConnection, offered: Sequence[Subprotocol]
    ) -> Subprotocol | None:
        chosen = select_subprotocol(list(offered))
        return Subprotocol(chosen) if chosen else None

    async def handler(self, ws: ServerConnection) -> None:
        admitted = self._admitted.pop(ws, None)
        if admitted is None:  # cannot happen: process_request admitted every upgraded request
            await ws.close(CloseCode.INTERNAL_ERROR, InternalError.code)
            return
        principal, lease = admitted
        hub = self.hub
        session = Session(
            principal,
            hub.keyring,
            session_id=uuid.uuid4().hex[:16],
            now_ms=now_ms(),
            config=hub.session_config,
            budget=hub.budget,
        )
        assert isinstance(ws, GatewayWire)  # serve(create_connection=GatewayWire)
        conn = Connection(hub, ws, session, _peer(ws))
        hub.connections.add(conn)
        hub.metrics.connections.inc()
        hub.metrics.connections_total.inc()
        conn.log.info("connected", peer=conn.peer, role=principal.role)
        try:
            await conn.serve()
        finally:
            conn.release()
            hub.connections.discard(conn)
            hub.metrics.connections.dec()
            self.limiter.release(lease)
            conn.log.info("disconnected", code=ws.close_code)

    # -- lifetime ---------------------------------------------------------------------------

    async def readiness(self) -> tuple[bool, dict[str, Any]]:
        broker = await self.hub.resolver.ping()
        readers = self.hub.readers_running()
        ready = broker and not self.hub.draining and all(readers.values())
        return ready, {"broker": broker, "draining": self.hub.draining, "tail_readers": readers}

    async def start(self) -> dict[str, Any]:
        s = self.settings
        await self.hub.start()
        self.public = await serve(
            self.handler,
            s.host,
            s.port,
            process_request=self.process_request,
            process_response=self.process_response,
            select_subprotocol=self.choose_subprotocol,
            compression="deflate" if s.compression else None,
            open_timeout=s.handshake_timeout_s,
            ping_interval=None,  # connection.py runs a keepalive that also times out unread pings
            close_timeout=CLOSE_TIMEOUT_S,
            max_size=s.max_frame_bytes,
            max_queue=MAX_QUEUE,
            write_limit=WRITE_LIMIT,
            ssl=self.tls,
            backlog=4096,
            create_connection=GatewayWire,
        )
        port = self.public.sockets[0].getsockname()[1]
        self.handshake = self._handshake(port)  # with --port 0, the port is known only now
        self.ops = await serve_ops(s.ops_host, s.ops_port, self.hub.metrics, self.readiness)
        ops_port = self.ops.sockets[0].getsockname()[1]
        scheme = "https" if self.tls else "http"
        info = {
            "port": port,
            "ops_port": ops_port,
            "ws": f"{'wss' if self.tls else 'ws'}://{s.host}:{port}{WS_PATH}",
            "dashboard": f"{scheme}://{s.host}:{port}/",
            "instance": self.instance,
        }
        if not self.handshake.origins.allowed:
            log.warning("no browser origin is allowed: set public_url (or allowed_origins)")
        if self.dev_keys:
            log.warning("using the dev JWT key from REGSTREAM_JWT_SECRET; not for production")
        log.info("gateway listening", **info)
        return info

    async def drain_and_stop(self) -> None:
        s = self.settings
        log.info("draining", connections=len(self.hub.connections))
        if self.public is not None:
            self.public.close(close_connections=False)  # stop accepting; clients get our close
        left = await self.hub.drain(s.drain_deadline_s * 0.8)
        for conn in tuple(self.hub.connections):  # past the deadline: cut what is left
            conn.abort("drain_deadline")
        if self.public is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(
                    self.public.wait_closed(), max(0.5, s.drain_deadline_s * 0.1)
                )
        if self.ops is not None:
            self.ops.close()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.hub.stop(), max(1.0, s.drain_deadline_s * 0.2))
        log.info("stopped", connections_left=left)


async def run(base: Settings, settings: GatewaySettings) -> None:
    """Serve until SIGTERM/SIGINT, then drain; prints one ready line for supervisors and tests."""
    server = GatewayServer(base, settings)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, server.stopping.set)
    info = await server.start()
    print(READY_PREFIX + orjson.dumps(info).decode(), flush=True)
    await server.stopping.wait()
    await server.drain_and_stop()


def _peer(conn: ServerConnection) -> str:
    address = conn.remote_address
    if isinstance(address, tuple) and len(address) >= 2:
        return f"{address[0]}:{address[1]}"
    return str(address)
