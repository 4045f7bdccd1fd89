"""The JSON text protocol (``regstream.v1``): parse client frames, build server frames.

Every frame is a JSON object with an ``op``. Parsing is strict (unknown fields, wrong types,
floats for integers, bools for numbers are refused) and total: any input, however hostile, ends
either as a typed frame or as :class:`BadFrame` / :class:`FrameTooLarge`, never as another
exception. Size is checked before parsing, nesting depth right after (orjson also caps at 1024).

Server frames are built here as bytes with orjson; data frames (event/batch) are built in
``records.py`` because they share serialized bodies between clients.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal, get_args

import orjson
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from gateway.core.commands import Gap
from gateway.core.errors import BadFrame, FrameTooLarge, GatewayError
from gateway.core.tokens import MAX_TOKEN_BYTES

MAX_OFFSET = 2**63 - 1
MAX_PARTITIONS = 4096

SubId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Offset = Annotated[int, Field(ge=0, le=MAX_OFFSET)]
Millis = Annotated[int, Field(ge=0, le=MAX_OFFSET)]


class _Frame(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class FromTimestamp(_Frame):
    timestamp: Millis
    kind: ClassVar[str] = "timestamp"  # how the access audit names this start


class FromToken(_Frame):
    token: Annotated[str, StringConstraints(min_length=1, max_length=MAX_TOKEN_BYTES)]
    kind: ClassVar[str] = "token"


class ToTimestamp(_Frame):
    timestamp: Millis


class ToOffsets(_Frame):
    """Exclusive end offset per partition; partitions not listed are not read at all."""

    offsets: Annotated[dict[str, Offset], Field(max_length=MAX_PARTITIONS)]

    def by_partition(self) -> dict[int, int]:
        out: dict[int, int] = {}
        for key, offset in self.offsets.items():
            if not key.isdigit() or len(key) > 5:
                raise BadFrame(f"to.offsets: {key[:16]!r} is not a partition number")
            out[int(key)] = offset
        return out


class Subscribe(_Frame):
    op: Literal["subscribe"]
    id: SubId
    topic: Annotated[str, StringConstraints(min_length=1, max_length=249)]
    filter: dict[str, Any] | None = None
    start: Literal["latest", "earliest"] | FromTimestamp | FromToken = Field("latest", alias="from")
    to: ToTimestamp | ToOffsets | None = None


class Unsubscribe(_Frame):
    op: Literal["unsubscribe"]
    id: SubId


class Ack(_Frame):
    """Acknowledges checkpoint ``seq``: informative (lag metrics); resume relies on tokens."""

    op: Literal["ack"]
    seq: Offset


class Publish(_Frame):
    op: Literal["publish"]
    id: SubId
    type: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    event: dict[str, Any]


class Ping(_Frame):
    op: Literal["ping"]


ClientFrame = Subscribe | Unsubscribe | Ack | Publish | Ping
# op -> model, read off the union: a new client frame is one class and one name in the union
_FRAMES: dict[str, type[_Frame]] = {
    get_args(model.model_fields["op"].annotation)[0]: model for model in get_args(ClientFrame)
}


def frame_id(obj: object) -> str | None:
    """The client's ``id`` of a frame, if it has a plausible one, to label an error frame."""
    if isinstance(obj, dict):
        value = obj.get("id")
        if isinstance(value, str) and 0 < len(value) <= 64:
            return value
    return None


def _too_deep(obj: object, limit: int) -> bool:
    stack: list[tuple[object, int]] = [(obj, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            if depth > limit:
                return True
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children)
    return False


def check_size(data: str | bytes, max_bytes: int) -> None:
    """Refuse oversized frames before spending anything on them (UTF-8 bytes, not characters)."""
    if isinstance(data, str):
        if len(data) > max_bytes // 4 and len(data.encode("utf-8", "surrogatepass")) > max_bytes:
            raise FrameTooLarge(f"frame exceeds {max_bytes} bytes")
    elif len(data) > max_bytes:
        raise FrameTooLarge(f"frame exceeds {max_bytes} bytes")


def decode_json(data: str | bytes, *, max_depth: int) -> dict[str, Any]:
    """Binary, JSON and depth checks; return the raw object (an ``op``-tagged dict)."""
    if not isinstance(data, str):
        raise BadFrame("binary frames are not accepted on regstream.v1; send JSON text")
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise BadFrame("frame is not valid JSON") from None
    if not isinstance(obj, dict):
        raise BadFrame("frame must be a JSON object")
    if _too_deep(obj, max_depth):
        raise BadFrame(f"frame nests deeper than {max_depth} levels")
    return obj


def peek_id(data: str | bytes, *, max_depth: int) -> str | None:
    """Best-effort ``id`` of a frame we refuse without processing (rate limit)."""
    try:
        return frame_id(decode_json(data, max_depth=max_depth))
    except BadFrame:
        return None


def parse_frame(obj: dict[str, Any]) -> ClientFrame:
    """Validate a decoded frame against its ``op``; raise :class:`BadFrame` with a short reason."""
    op = obj.get("op")
    model = _FRAMES.get(op) if isinstance(op, str) else None
    if model is None:
        raise BadFrame(f"unknown op; expected one of {', '.join(_FRAMES)}")
    try:
        frame = model.model_validate(obj)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or op
        raise BadFrame(f"{op}: {where}: {first['msg']}"[:200]) from None
    return frame  # type: ignore[return-value]


# -- server frames ------------------------------------------------------------------------------


def _dump(obj: Mapping[str, Any]) -> bytes:
    return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS)


def hello(*, version: str, session: str, heartbeat_s: int, limits: Mapping[str, Any]) -> bytes:
    return _dump(
        {
            "op": "hello",
            "version": version,
            "session": session,
            "heartbeat_s": heartbeat_s,
            "limits": limits,
        }
    )


def subscribed(sub_id: str, topic: str, epoch: str, positions: Mapping[int, int]) -> bytes:
    return _dump(
        {
            "op": "subscribed",
            "id": sub_id,
            "topic": topic,
            "epoch": epoch,
            "positions": dict(sorted(positions.items())),
        }
    )


def unsubscribed(sub_id: str) -> bytes:
    return _dump({"op": "unsubscribed", "id": sub_id})


def published(req_id: str, position: Mapping[str, Any]) -> bytes:
    return _dump({"op": "published", "id": req_id, "position": position})


def checkpoint(token: str, seq: int) -> bytes:
    return _dump({"op": "checkpoint", "seq": seq, "token": token})


def caught_up(sub_id: str) -> bytes:
    return _dump({"op": "caught_up", "id": sub_id})


def gap(g: Gap) -> bytes:
    """``range`` is [from, to) of lost offsets, or null when unknowable (topic recreated)."""
    return _dump(
        {
            "op": "gap",
            "id": g.sub_id,
            "topic": g.topic,
            "partition": g.partition,
            "range": list(g.missing) if g.missing else None,
            "earliest": g.earliest,
            "reason": g.reason,
        }
    )


def error(err: GatewayError, sub_id: str | None = None) -> bytes:
    frame: dict[str, Any] = {
        "op": "error",
        "code": err.code,
        "message": err.message,
        "retriable": err.retriable,
    }
    if sub_id is not None:
        frame["id"] = sub_id
    return _dump(frame)


def pong() -> bytes:
    return b'{"op":"pong"}'
