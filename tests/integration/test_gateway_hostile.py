"""Hostile input against a real ``regstream gateway`` process: the live cases of the handshake
corpus (spoken as raw bytes, so headers such as ``Host`` are exactly what the case says), an
oversized frame, the read-only HTTP surface, and TLS (HSTS; a bad key file is one line)."""

from __future__ import annotations

import asyncio
import base64
import os
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.integration.test_gateway import module_settings
from tests.integration.test_gateway_helpers import (
    GatewayProcess,
    WsClient,
    running_gateway,
    settings_env,
    token,
)
from tests.kafka_broker import BrokerHandle
from tests.pki import write_pair
from tests.unit.gateway.corpus import ALLOWED_ORIGINS, PUBLIC_URL, case_id, cases, expand

LIVE = [c for c in cases("handshake") if c.get("live")]
HANDSHAKE_TIMEOUT_S = 2


@pytest.fixture(scope="module")
def gateway(
    kafka_broker: BrokerHandle, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    """One gateway for the module, configured as the handshake corpus expects."""
    with running_gateway(
        module_settings(kafka_broker),
        tmp_path_factory.mktemp("gwhostile"),
        public_url=PUBLIC_URL,
        allowed_origins=orjson.dumps(list(ALLOWED_ORIGINS)).decode(),
        handshake_timeout_s=HANDSHAKE_TIMEOUT_S,
    ) as proc:
        yield proc


async def raw_exchange(port: int, request: bytes, *, tls: ssl.SSLContext | None = None) -> bytes:
    """Send ``request`` as is; return everything the server sent until it closed (bounded)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=tls)
    try:
        writer.write(request)
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
        if head.startswith(b"HTTP/1.1 101"):
            return head
        return head + await asyncio.wait_for(reader.read(), 30)
    except asyncio.IncompleteReadError as cut:
        return cut.partial
    finally:
        writer.close()


def upgrade_request(port: int, headers: list[tuple[str, str]], path: str = "/ws") -> bytes:
    base = [
        ("Host", f"127.0.0.1:{port}"),
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", base64.b64encode(os.urandom(16)).decode()),
        ("Sec-WebSocket-Version", "13"),
    ]
    if any(name.lower() == "host" for name, _ in headers):
        base = base[1:]
    lines = [f"GET {path} HTTP/1.1", *(f"{k}: {v}" for k, v in [*base, *headers])]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def status_of(reply: bytes) -> int | None:
    return int(reply.split(b" ", 2)[1]) if reply.startswith(b"HTTP/1.1 ") else None


def raw_request(port: int, raw: dict[str, Any]) -> bytes:
    if raw.get("stall"):
        return f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n".encode()  # and nothing more
    extra = [("X-Pad", "a" * raw.get("header_bytes", 1))]
    extra += [(f"X-Header-{i}", "v") for i in range(raw.get("headers", 0))]
    return upgrade_request(port, extra)


@pytest.mark.parametrize("case", LIVE, ids=case_id)
async def test_live_handshake_case(gateway: GatewayProcess, case: dict[str, Any]) -> None:
    values = {"token": token(gateway.settings, "hostile"), "port": str(gateway.port)}
    if "raw" in case:
        request = raw_request(gateway.port, case["raw"])
    else:
        headers = [(name, expand(value, **values)) for name, value in case["headers"]]
        request = upgrade_request(gateway.port, headers)
    reply = await raw_exchange(gateway.port, request)
    expect = case["expect"]
    if expect.get("closed"):
        assert reply == b"", f"answered a request that never ended: {reply[:80]!r}"
        return
    assert status_of(reply) == expect["status"], reply[:200]
    if "error" in expect:
        assert f'"error":"{expect["error"]}"'.encode() in reply, reply[-200:]


async def test_a_frame_over_one_mib_closes_with_4500(gateway: GatewayProcess) -> None:
    """Regression: frames over 1 MiB were refused by the WebSocket layer with 1009 instead of
    the documented 4500 (frames between the configured limit and 1 MiB already got 4500)."""
    client = await WsClient.open(gateway.url, token(gateway.settings, "big"))
    await client.next()  # hello
    await client.ws.send("x" * ((1 << 20) + 1))
    assert await client.closed() == (4500, "frame_too_large")
    assert client.frames[-1]["code"] == "frame_too_large"


async def test_a_binary_frame_is_a_bad_frame(gateway: GatewayProcess) -> None:
    client = await WsClient.open(gateway.url, token(gateway.settings, "bin"))
    try:
        await client.next()  # hello
        await client.ws.send(b'{"op":"ping"}')
        assert (await client.until("error"))["code"] == "bad_frame"
        await client.send({"op": "ping"})
        await client.until("pong")  # the connection stays open
    finally:
        await client.close()


def http(url: str, method: str = "GET", context: ssl.SSLContext | None = None) -> Any:
    request = urllib.request.Request(url, method=method)
    try:
        return urllib.request.urlopen(request, timeout=10, context=context)
    except urllib.error.HTTPError as err:
        return err


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_static_files_and_ops_refuse_writes_with_405(gateway: GatewayProcess, method: str) -> None:
    """Regression: the dashboard's files answered POST/PUT/DELETE with 200."""
    for path, allow in (("/", "GET, HEAD"), ("/client.js", "GET, HEAD"), ("/ws", "GET")):
        with http(gateway.http(path), method) as reply:
            assert (reply.status, reply.headers["Allow"]) == (405, allow), (method, path)
    with http(gateway.http("/healthz", ops=True), method) as reply:
        assert (reply.status, reply.headers["Allow"]) == (405, "GET")


def test_head_answers_headers_only(gateway: GatewayProcess) -> None:
    with http(gateway.http("/"), "HEAD") as reply:
        assert reply.status == 200 and reply.read() == b""
        assert int(reply.headers["Content-Length"]) > 0
        assert "Strict-Transport-Security" not in reply.headers  # plain http: no HSTS


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return write_pair(tmp_path_factory.mktemp("tls"), "gateway")


async def test_tls_responses_carry_hsts(
    gateway: GatewayProcess, tls_files: tuple[Path, Path], tmp_path: Path
) -> None:
    """Regression: nothing told browsers to keep to https once they had reached the gateway."""
    cert, key = tls_files
    settings = gateway.settings  # topics exist already: the module's gateway made them
    proc = GatewayProcess(settings, tmp_path, tls_cert=cert, tls_key=key).start()
    try:
        trust = ssl.create_default_context(cafile=str(cert))
        with http(f"https://127.0.0.1:{proc.port}/", context=trust) as reply:
            assert reply.status == 200
            assert reply.headers["Strict-Transport-Security"] == "max-age=31536000"
        refused = await raw_exchange(proc.port, upgrade_request(proc.port, []), tls=trust)
        assert status_of(refused) == 401 and b"Strict-Transport-Security: max-age" in refused
        jwt = token(settings, "tls")
        accepted = await raw_exchange(
            proc.port, upgrade_request(proc.port, [("Authorization", f"Bearer {jwt}")]), tls=trust
        )
        assert status_of(accepted) == 101
    finally:
        proc.stop()


def test_a_bad_tls_file_is_one_line_and_exit_2(
    gateway: GatewayProcess, tls_files: tuple[Path, Path], tmp_path: Path
) -> None:
    """Regression: a TLS key/cert mistake ended the gateway with a raw ssl.SSLError traceback."""
    cert, _ = tls_files
    junk = tmp_path / "key.pem"
    junk.write_text("-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n")
    env = settings_env(gateway.settings, tls_cert=cert, tls_key=junk)
    done = subprocess.run(
        [sys.executable, "-m", "streams.cli.main", "gateway", "--port", "0", "--ops-port", "0"],
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    stderr = done.stderr.decode().strip()
    assert done.returncode == 2, stderr[-2000:]
    assert "Traceback" not in stderr, stderr[-2000:]
    assert stderr.splitlines()[-1] == (
        f"regstream gateway: TLS key {junk}: no usable PEM private key in the file"
    )
    assert b"REGSTREAM_GATEWAY_READY" not in done.stdout
