"""Plain HTTP responses served through websockets' ``process_request`` hook (public and ops)."""

from __future__ import annotations

import email.utils
import http
from typing import Any

import orjson
from websockets.datastructures import Headers
from websockets.http11 import Response


def response(
    status: int, body: bytes, content_type: str, extra: list[tuple[str, str]] | None = None
) -> Response:
    code = http.HTTPStatus(status)
    headers = Headers(
        [
            ("Date", email.utils.formatdate(usegmt=True)),
            ("Connection", "close"),
            ("Content-Length", str(len(body))),
            ("Content-Type", content_type),
            ("X-Content-Type-Options", "nosniff"),
            ("Cache-Control", "no-store"),
            *(extra or []),
        ]
    )
    return Response(code.value, code.phrase, headers, body)


def json_response(status: int, obj: Any) -> Response:
    return response(status, orjson.dumps(obj), "application/json")


def text_response(status: int, text: str) -> Response:
    return response(status, text.encode(), "text/plain; charset=utf-8")


def method_not_allowed(allowed: tuple[str, ...]) -> Response:
    """405 with the ``Allow`` header RFC 9110 requires, listing what the resource answers."""
    return response(
        405,
        b"method not allowed\n",
        "text/plain; charset=utf-8",
        [("Allow", ", ".join(allowed))],
    )
