"""Decode at the edge: a Faust codec over our wire-format codec that never raises.

Faust decodes a message before any agent sees it, and when a value codec raises, Faust hands the
error to the channel, which re-raises it inside the agent's stream: the record is skipped or the
agent dies, and neither is a policy. So this codec turns every failure into a value,
:class:`Undecodable`, carrying the exception; the raw bytes stay on the Faust message. The agent
then asks :func:`streams.pipeline.disposition_for_error` what to do — dead-letter it (a property of
the bytes) or re-raise it (``retriable``, e.g. a schema registry timeout: a property of the
environment) — the one place that decides.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from faust.serializers.codecs import Codec as FaustCodec

from schemas.codec import Codec, Decoded


class Undecodable(NamedTuple):
    """The bytes of a message could not be decoded; ``error`` says why."""

    error: Exception


class EdgeCodec(FaustCodec):
    """Faust value codec: ``loads`` returns ``Decoded`` or ``Undecodable``, never raises.

    ``dumps`` encodes a ``Decoded`` (``(event_type, record)``), so the codec round-trips; the worker
    itself never sends through it.
    """

    def __init__(self, codec: Codec) -> None:
        super().__init__()
        self._codec = codec

    def _loads(self, s: bytes) -> Decoded | Undecodable:
        try:
            return self._codec.decode(s)
        except Exception as exc:  # not handled here: the policy decides, in the agent
            return Undecodable(exc)

    def _dumps(self, s: Any) -> bytes:
        event_type, record = s
        return self._codec.encode(event_type, record)
