"""The edge codec turns every decode failure into a value; the policy decides later."""

from __future__ import annotations

from schemas.errors import BadMagic, Truncated
from streams.worker.codec import Undecodable
from tests.unit.pipeline.factories import decision
from tests.unit.worker.factories import CODEC, EDGE


def test_valid_bytes_decode_to_the_record() -> None:
    record = decision()
    decoded = EDGE.loads(CODEC.encode("DecisionMade", record))
    assert decoded == ("DecisionMade", record)
    assert EDGE.dumps(decoded) == CODEC.encode("DecisionMade", record)


def test_bad_bytes_become_undecodable_with_the_codec_error() -> None:
    data = CODEC.encode("DecisionMade", decision())
    assert isinstance(EDGE.loads(b"{}"), Undecodable)
    assert isinstance(EDGE.loads(b"{}").error, BadMagic)
    assert isinstance(EDGE.loads(data[:20]).error, Truncated)
