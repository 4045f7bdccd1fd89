"""Properties of the codec over generated input (hypothesis):

* any bytes at all, and any bytes after a known header, decode to a record or raise a
  ``DecodeError`` — nothing else escapes, whatever the length prefixes, counts and indexes say;
* valid records mangled (bytes flipped, cut, inserted) still do;
* what decodes and passes the pipeline's checks, the encoder writes again to the same record:
  one contract, whichever door an event comes through.
"""

from __future__ import annotations

import random
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.codec import HEADER_SIZE, AvroCodec
from schemas.contract import EVENT_TYPES, default_contract
from schemas.errors import DecodeError
from streams.pipeline.checks import validate
from tests.unit.schemas.samples import OCCURRED_AT, sample

CODEC = AvroCodec()
PROFILE = settings(
    max_examples=300,
    deadline=None,  # the machine is shared: no timing assertions, not even hypothesis' own
    database=None,  # nothing written into the working tree
    suppress_health_check=[HealthCheck.too_slow],
)
HEADERS = [b"\xc3\x01" + default_contract().entry(t).fingerprint for t in EVENT_TYPES]
VALID = [CODEC.encode(t, sample(t, random.Random(n))) for n, t in enumerate(EVENT_TYPES)]


def decode_or_refuse(data: bytes) -> tuple[str, dict[str, Any]] | None:
    try:
        return CODEC.decode(data)
    except DecodeError:
        return None


@PROFILE
@given(st.binary(max_size=2048))
def test_any_bytes_decode_or_raise_a_decode_error(data: bytes) -> None:
    decode_or_refuse(data)


@PROFILE
@given(st.sampled_from(HEADERS), st.binary(max_size=2048))
def test_any_body_after_a_known_header_decodes_or_raises_a_decode_error(
    header: bytes, body: bytes
) -> None:
    decode_or_refuse(header + body)


@st.composite
def mangled(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(VALID)))
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(HEADER_SIZE, len(data) - 1))
        change = draw(st.sampled_from(["flip", "cut", "insert"]))
        if change == "flip":
            data[position] = draw(st.integers(0, 255))
        elif change == "cut":
            del data[position : position + draw(st.integers(1, 8))]
        else:
            data[position:position] = draw(st.binary(min_size=1, max_size=8))
        if len(data) <= HEADER_SIZE:
            break
    return bytes(data)


@PROFILE
@given(mangled())
def test_what_decodes_and_passes_the_checks_the_encoder_writes_again(data: bytes) -> None:
    decoded = decode_or_refuse(data)
    if decoded is None:
        return
    event_type, record = decoded
    verdict = validate(event_type, record, now_ms=OCCURRED_AT, max_future_skew_ms=10**12)
    if not verdict.is_pass:
        return
    assert CODEC.decode(CODEC.encode(event_type, record)).record == record
