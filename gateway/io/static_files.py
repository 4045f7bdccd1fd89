"""The dashboard's files (``gateway/static``) over plain HTTP on the public port.

Only files directly resolvable under the root are served: the request path is decoded once,
``..``, backslashes, NUL and hidden names are refused before touching the file system, and the
resolved path must still lie inside the root (symlinks included). Content types come from a
short explicit table, because ``mimetypes`` depends on the host's configuration and a wrong
type for an ES module (``client.js``) makes browsers refuse it. The files are read-only: GET and
HEAD are answered, any other method gets 405 with ``Allow: GET, HEAD`` (the HTTP parser in front
refuses request bodies, so nothing is ever read from a client here).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from websockets.http11 import Response

from gateway.io.http import method_not_allowed, response, text_response

DEFAULT_ROOT = Path(__file__).resolve().parent.parent / "static"
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".txt": "text/plain; charset=utf-8",
    ".woff2": "font/woff2",
}
MAX_FILE_BYTES = 8 * 1024 * 1024
METHODS = ("GET", "HEAD")
CSP = "default-src 'self'; connect-src 'self' ws: wss:; style-src 'self' 'unsafe-inline'"


class StaticFiles:
    def __init__(self, root: Path | None = None) -> None:
        self.root = (root or DEFAULT_ROOT).resolve()

    def resolve(self, target: str) -> Path | None:
        """The file for a request target, or None when it is not ours to serve."""
        path = unquote(urlsplit(target).path)
        if path in ("", "/"):
            path = "/index.html"
        parts = path.lstrip("/").split("/")
        if any(p in ("", ".", "..") or p.startswith(".") or "\\" in p or "\0" in p for p in parts):
            return None
        candidate = self.root.joinpath(*parts)
        try:
            resolved = candidate.resolve(strict=True)
        except (OSError, RuntimeError):
            return None
        if not resolved.is_relative_to(self.root) or not resolved.is_file():
            return None
        return resolved

    def serve(self, method: str, target: str) -> Response:
        if method not in METHODS:
            return method_not_allowed(METHODS)
        found = self.resolve(target)
        if (
            found is None
            or found.suffix.lower() not in TYPES
            or found.stat().st_size > MAX_FILE_BYTES
        ):
            reply = text_response(404, "not found\n")
        else:
            extra = [("Content-Security-Policy", CSP)] if found.suffix == ".html" else []
            reply = response(200, found.read_bytes(), TYPES[found.suffix.lower()], extra)
        if method == "HEAD":  # same headers (Content-Length included), no body
            return Response(reply.status_code, reply.reason_phrase, reply.headers, b"")
        return reply
