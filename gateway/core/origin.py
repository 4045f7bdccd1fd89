"""Which ``Origin`` may open a WebSocket: the cross-site WebSocket hijacking guard.

A browser attaches the page's origin to every WebSocket handshake and lets any page connect
anywhere, with the user's cookies and network position; the gateway alone decides whether a
page may talk to it. Nothing the client sends decides what counts as "our own origin": the
``Host`` header is chosen by the client (and, through DNS rebinding, by any web page whose
name resolves to the gateway), so a forged ``Host: evil.example`` next to
``Origin: https://evil.example`` would otherwise look same-origin. The gateway's own origins
come from configuration only: ``public_url`` (what browsers type), else the listening address
when it names one host (a loopback listener also answers as ``localhost``).

Allow-list entries: ``*`` (any origin), an exact origin (``https://app.example.com``), or a
subdomain wildcard (``https://*.example.com``, which does not match ``example.com`` itself).
Comparison is on scheme, host and port, case-insensitively; default ports are implied.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from gateway.core.errors import OriginNotAllowed

DEFAULT_PORTS = {"http": 80, "https": 443}
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")


def _split(origin: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an origin or allow-list entry, or None when it is not one."""
    try:
        parts = urlsplit(origin.strip().lower().rstrip("/"))
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname or parts.path or parts.query:
        return None
    if parts.username is not None or parts.password is not None or parts.fragment:
        return None
    return parts.scheme, parts.hostname, port or DEFAULT_PORTS[parts.scheme]


def origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` of an http(s) URL (a path is allowed: a proxy may add one)."""
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018  (raises ValueError on a bad port)
    except ValueError:
        return None
    origin = f"{parts.scheme}://{parts.netloc}".lower()
    return origin if _split(origin) and not (parts.query or parts.fragment) else None


def valid_entry(entry: str) -> bool:
    """Whether an allow-list entry can ever match (a typo such as ``example.com`` cannot)."""
    return entry.strip() == "*" or _split(entry) is not None


def origin_allowed(
    origin: str | None, allowed: Iterable[str], *, allow_missing: bool = True
) -> bool:
    """Whether ``origin`` matches an allow-list entry. Browsers always send ``Origin``; other
    clients may not (``allow_missing``)."""
    if origin is None:
        return allow_missing
    got = _split(origin)
    for entry in allowed:
        if entry.strip() == "*":
            return True
        want = _split(entry)
        if got is None or want is None or want[0] != got[0] or want[2] != got[2]:
            continue
        if want[1] == got[1]:
            return True
        suffix = want[1][1:] if want[1].startswith("*.") else None
        if suffix and got[1].endswith(suffix) and len(got[1]) > len(suffix):
            return True
    return False


def own_origins(public_url: str | None, host: str, port: int, *, tls: bool) -> tuple[str, ...]:
    """The gateway's own origins, from configuration only (never from a request)."""
    scheme = "https" if tls else "http"
    if public_url:
        origin = origin_of(public_url)
        return (origin,) if origin else ()
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:  # a host name: browsers reach us under that name
        return (f"{scheme}://{host}:{port}".lower(),) if host else ()
    if address.is_loopback:
        return tuple(f"{scheme}://{name}:{port}" for name in LOOPBACK_NAMES)
    if address.is_unspecified:  # 0.0.0.0 / ::: the name browsers use is unknowable here
        return ()
    shown = f"[{address}]" if address.version == 6 else str(address)
    return (f"{scheme}://{shown}:{port}",)


@dataclass(frozen=True)
class OriginPolicy:
    """The configured allow-list plus the gateway's own origins; one per listening server."""

    allowed: tuple[str, ...]
    allow_missing: bool = True

    def check(self, origin: str | None) -> None:
        """Refuse (HTTP 403) an Origin that is neither ours nor allow-listed."""
        if not origin_allowed(origin, self.allowed, allow_missing=self.allow_missing):
            raise OriginNotAllowed("origin not allowed")
