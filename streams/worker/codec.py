"""Decode at the edge: every input value becomes a ``Decoded`` record or an ``Undecodable`` value.

A decode failure is a property of the record, not an event of the program: it is turned into a
value, :class:`Undecodable`, carrying the exception, and the raw bytes stay beside it on the
:class:`~streams.worker.inbound.Inbound` record. The pipeline then asks
:func:`streams.pipeline.disposition_for_error` what to do — dead-letter it (a property of the
bytes) or re-raise it (``retriable``, e.g. a schema registry timeout: a property of the
environment) — the one place that decides.
"""

from __future__ import annotations

from typing import NamedTuple

from schemas.codec import Codec, Decoded


class Undecodable(NamedTuple):
    """The bytes of a record could not be decoded; ``error`` says why."""

    error: Exception


def decode_at_edge(codec: Codec, value: bytes) -> Decoded | Undecodable:
    """``codec.decode(value)``, or the error it raised as a value; never raises."""
    try:
        return codec.decode(value)
    except Exception as exc:  # not handled here: the policy decides, in the pipeline
        return Undecodable(exc)
