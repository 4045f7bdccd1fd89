"""Decoding at the edge turns every decode failure into a value; the policy decides later."""

from __future__ import annotations

from schemas.errors import BadMagic, Truncated
from streams.worker.codec import Undecodable, decode_at_edge
from tests.unit.pipeline.factories import decision
from tests.unit.worker.factories import CODEC


def test_valid_bytes_decode_to_the_record() -> None:
    record = decision()
    assert decode_at_edge(CODEC, CODEC.encode("DecisionMade", record)) == ("DecisionMade", record)


def test_bad_bytes_become_undecodable_with_the_codec_error() -> None:
    data = CODEC.encode("DecisionMade", decision())
    assert isinstance(decode_at_edge(CODEC, b"{}"), Undecodable)
    assert isinstance(decode_at_edge(CODEC, b"{}").error, BadMagic)  # type: ignore[union-attr]
    assert isinstance(decode_at_edge(CODEC, data[:20]).error, Truncated)  # type: ignore[union-attr]
