"""Hostile clients for the memory tests (no tests in here): a raw-socket WebSocket client that
subscribes and then never reads a byte, and what the tests observe of the gateway process from
outside: its resident memory and the TCP sockets it still holds for given peers (``/proc``).

The client is written on a bare socket on purpose: a WebSocket library would keep reading into
its own queue, and what is measured here is a peer whose TCP receive window closes for good. Its
receive buffer is made small so the gateway's writes stop reaching it quickly.
"""

from __future__ import annotations

import base64
import os
import socket
import struct
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import orjson

RECEIVE_BUFFER = 16 * 1024
TCP_LISTEN = "0A"


def masked_text_frame(payload: bytes) -> bytes:
    """One client-to-server text frame (clients must mask, RFC 6455 §5.3)."""
    mask = os.urandom(4)
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x81, 0x80 | n)
    elif n < 1 << 16:
        head = struct.pack("!BBH", 0x81, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x81, 0x80 | 127, n)
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return head + mask + body


class NeverReader:
    """Handshake, send ``frames``, then never read again; ``close()`` at the end of the test."""

    def __init__(self, port: int, jwt: str, frames: Iterable[Mapping[str, Any]]) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
        self.sock.settimeout(15)
        self.sock.connect(("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Sec-WebSocket-Protocol: regstream.v1\r\nAuthorization: Bearer {jwt}\r\n\r\n"
        )
        self.sock.sendall(request.encode())
        head = b""
        while not head.endswith(b"\r\n\r\n"):  # byte by byte: leave the first frames unread
            byte = self.sock.recv(1)
            assert byte, f"the gateway closed during the handshake: {head!r}"
            head += byte
        assert head.startswith(b"HTTP/1.1 101"), head.decode(errors="replace")
        for frame in frames:
            self.sock.sendall(masked_text_frame(orjson.dumps(frame)))
        self.port = self.sock.getsockname()[1]

    def close(self) -> None:
        self.sock.close()


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for {pid}")


def held_peers(pid: int, port: int) -> set[int]:
    """Remote ports of the TCP connections to local ``port`` that process ``pid`` still holds
    open (a socket descriptor the process has not closed, whatever its TCP state)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue  # closed while we looked
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    peers = set()
    for table in ("tcp", "tcp6"):
        path = Path(f"/proc/{pid}/net/{table}")
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            cols = line.split()
            local, remote, state, inode = cols[1], cols[2], cols[3], cols[9]
            if inode in inodes and state != TCP_LISTEN and int(local.rsplit(":", 1)[1], 16) == port:
                peers.add(int(remote.rsplit(":", 1)[1], 16))
    return peers
