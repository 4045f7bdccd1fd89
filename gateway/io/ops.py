"""The internal port: ``/healthz`` (the process answers), ``/readyz`` (broker reachable, readers
running, not draining) and ``/metrics`` (Prometheus text). Served by websockets' HTTP handling,
so the gateway has one HTTP stack; nothing on this port upgrades to WebSocket, and every
endpoint is read-only (any method but GET: 405)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response

from gateway.io.http import json_response, method_not_allowed, response, text_response
from gateway.io.metrics import GatewayMetrics

Readiness = Callable[[], Awaitable[tuple[bool, dict[str, Any]]]]


def ops_handler(
    metrics: GatewayMetrics, readiness: Readiness
) -> Callable[[ServerConnection, Request], Awaitable[Response]]:
    async def process_request(connection: ServerConnection, request: Request) -> Response:
        path = request.path.split("?", 1)[0]
        if request.method != "GET":
            return method_not_allowed(("GET",))
        if path == "/healthz":
            return json_response(200, {"status": "ok"})
        if path == "/readyz":
            ready, detail = await readiness()
            return json_response(200 if ready else 503, {"ready": ready, **detail})
        if path == "/metrics":
            return response(200, generate_latest(metrics.registry), CONTENT_TYPE_LATEST)
        return text_response(404, "not found\n")

    return process_request


async def _never(connection: ServerConnection) -> None:  # every request is answered above
    await connection.close()


async def serve_ops(host: str, port: int, metrics: GatewayMetrics, readiness: Readiness) -> Server:
    return await serve(
        _never, host, port, process_request=ops_handler(metrics, readiness), compression=None
    )
