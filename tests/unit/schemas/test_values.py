"""The contract's value rules: the encoder refuses what the worker would dead-letter."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.codec import AvroCodec
from schemas.errors import EncodeError
from schemas.values import MAX_EVENT_BYTES, _has_non_finite, _non_finite, check_event_values
from tests.unit.schemas.samples import sample

CODEC = AvroCodec()


def collaboration(**metadata: Any) -> dict[str, Any]:
    record = sample("CollaborationEvent")
    record["metadata"].update(metadata)
    return record


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"occurred_at": -(2**63)}, "metadata.occurred_at"),
        ({"occurred_at": 253_402_300_800_000}, "metadata.occurred_at"),
        ({"event_id": "6F9619FF-8B86-D011-B42D-00C04FC964FF"}, "metadata.event_id"),
    ],
)
def test_the_encoder_refuses_values_the_pipeline_cannot_carry(
    change: dict[str, Any], path: str
) -> None:
    """Accepted before by `regstream produce` and the gateway's publish: -2**63 then crashed the
    worker when it computed the event's latency."""
    with pytest.raises(EncodeError) as refused:
        CODEC.encode("CollaborationEvent", collaboration(**change))
    assert refused.value.path.endswith(path)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_numbers_are_refused_wherever_they_are(value: float) -> None:
    record = sample("CollaborationEvent")
    record["attributes"] = {"ok": 1.5, "ratio": value}
    with pytest.raises(EncodeError) as refused:
        CODEC.encode("CollaborationEvent", record)
    assert refused.value.path.endswith("attributes.ratio")


def test_an_event_over_the_size_limit_is_refused_with_its_size() -> None:
    record = sample("CollaborationEvent")
    record["content"] = "x" * MAX_EVENT_BYTES
    with pytest.raises(EncodeError, match="limited to"):
        CODEC.encode("CollaborationEvent", record)
    record["content"] = "x" * (MAX_EVENT_BYTES - 1000)
    assert CODEC.decode(CODEC.encode("CollaborationEvent", record)).record == record


def test_valid_samples_break_no_rule() -> None:
    for event_type in ("AgentStatusUpdate", "DecisionMade", "AuditTrailEntry", "SimulationUpdate"):
        assert check_event_values(sample(event_type)) is None


class FloatSubclass(float):
    """A float that is not exactly ``float`` (numpy's float64 is one)."""


NUMBERS = st.floats(allow_nan=True, allow_infinity=True)
LEAVES = (
    NUMBERS
    | NUMBERS.map(FloatSubclass)
    | st.integers()
    | st.booleans()
    | st.none()
    | st.text(max_size=3)
    | st.binary(max_size=3)
)
VALUES = st.recursive(
    LEAVES,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=4).map(tuple)
        | st.dictionaries(st.text(max_size=3), inner, max_size=4)
        | st.dictionaries(st.text(max_size=3), inner, max_size=4).map(MappingProxyType)
    ),
    max_leaves=20,
)


@settings(deadline=None)  # a shared machine: no timing assertions, not even hypothesis' own
@given(VALUES)
def test_the_quick_test_for_non_finite_numbers_agrees_with_the_walk_that_names_them(
    value: Any,
) -> None:
    """Every event is checked with the quick test; the walk names the field when it fails."""
    assert _has_non_finite(value) == (_non_finite(value, "") is not None)
