"""Minimal client for a Confluent-Schema-Registry-compatible HTTP API (stdlib ``urllib`` only).

Only the two calls the wire format needs:

- ``register(subject, schema)`` → ``POST /subjects/{subject}/versions`` ``{"schema": "<json>"}``,
  answered with ``{"id": N}`` (the same id when the schema is already registered);
- ``schema_by_id(id)`` → ``GET /schemas/ids/{id}``, answered with ``{"schema": "<json>"}``;
  ``None`` for 404, so the codec can tell "unknown id" from "registry down".

Errors carry ``retriable`` (see ``schemas.errors``): connection failures, timeouts, HTTP 408, 429
and 5xx are retriable; other 4xx are not; 409 on register is ``IncompatibleSchema`` (the
registry's own compatibility check refused the schema). Credentials in the URL
(``https://user:secret@host``) become a Basic ``Authorization`` header and never appear in
error messages.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from schemas.errors import IncompatibleSchema, RegistryError

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"


class RegistryClient:
    """Blocking, stateless HTTP client; callers cache (``ConfluentCodec`` does)."""

    def __init__(self, url: str, *, timeout: float = 5.0) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("schema registry URL must be http(s)://host[:port][/path]")
        self._headers = {"Accept": CONTENT_TYPE, "Content-Type": CONTENT_TYPE}
        if parts.username is not None:
            user = urllib.parse.unquote(parts.username)
            password = urllib.parse.unquote(parts.password or "")
            token = base64.b64encode(f"{user}:{password}".encode()).decode()
            self._headers["Authorization"] = f"Basic {token}"
        host = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
        if ":" in parts.hostname:  # IPv6 literal
            host = f"[{parts.hostname}]" + ("" if parts.port is None else f":{parts.port}")
        self.base_url = urllib.parse.urlunsplit(
            (parts.scheme, host, parts.path.rstrip("/"), "", "")
        )
        self.timeout = timeout

    def register(self, subject: str, schema: dict[str, Any]) -> int:
        """Register ``schema`` under ``subject`` (idempotent) and return its global id."""
        path = f"/subjects/{urllib.parse.quote(subject, safe='')}/versions"
        body = {"schema": json.dumps(schema, separators=(",", ":"))}
        answer = self._call("POST", path, body)
        if answer is None or not isinstance(answer.get("id"), int):
            raise RegistryError(f"registering {subject!r}: no schema id in answer", retriable=False)
        return int(answer["id"])

    def schema_by_id(self, schema_id: int) -> dict[str, Any] | None:
        """The registry's answer for ``schema_id`` (``schema`` is a JSON string); None if 404."""
        return self._call("GET", f"/schemas/ids/{int(schema_id)}", None)

    def _call(self, method: str, path: str, body: dict[str, Any] | None) -> dict[str, Any] | None:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base_url + path, data=data, method=method, headers=self._headers
        )
        what = f"schema registry {method} {path}"
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                payload = response.read()
        except urllib.error.HTTPError as exc:
            status = exc.code
            exc.close()
            if status == 404 and method == "GET":
                return None
            if status == 409:
                raise IncompatibleSchema(
                    f"{what}: registry refused an incompatible schema"
                ) from None
            retriable = status in (408, 429) or status >= 500
            raise RegistryError(
                f"{what}: HTTP {status}", retriable=retriable, status=status
            ) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise RegistryError(f"{what}: unreachable ({reason})", retriable=True) from None
        try:
            answer = json.loads(payload)
        except ValueError:
            raise RegistryError(f"{what}: answer is not JSON", retriable=True) from None
        if not isinstance(answer, dict):
            raise RegistryError(f"{what}: answer is not a JSON object", retriable=False)
        return answer
