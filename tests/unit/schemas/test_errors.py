"""The error tree: classes, attributes and DLQ reasons are part of the public contract."""

from __future__ import annotations

import pytest

from schemas import errors

DECODE_ERRORS = {
    errors.BadMagic: "bad-magic",
    errors.UnknownSchema: "unknown-schema",
    errors.Truncated: "truncated",
    errors.TrailingBytes: "trailing-bytes",
    errors.SchemaMismatch: "schema-mismatch",
    errors.RecordTooLarge: "record-too-large",
    errors.LimitExceeded: "limit-exceeded",
}


@pytest.mark.parametrize(("cls", "reason"), DECODE_ERRORS.items())
def test_decode_errors_carry_a_stable_dlq_reason(
    cls: type[errors.DecodeError], reason: str
) -> None:
    assert issubclass(cls, errors.DecodeError)
    assert issubclass(cls, errors.SchemaError)
    assert cls.dlq_reason == reason
    assert cls("boom").dlq_reason == reason


def test_dlq_reasons_are_unique_short_codes() -> None:
    reasons = [cls.dlq_reason for cls in DECODE_ERRORS]
    assert len(set(reasons)) == len(reasons)
    assert all(r.replace("-", "").isalpha() and r.islower() for r in reasons)


def test_every_decode_error_is_documented_in_the_module_docstring() -> None:
    doc = errors.__doc__ or ""
    for cls, reason in DECODE_ERRORS.items():
        assert cls.__name__ in doc
        assert reason in doc


def test_encode_error_carries_path_and_reason() -> None:
    error = errors.EncodeError("regstream.events.DecisionMade.confidence_score", "expected double")
    assert error.path.endswith("confidence_score")
    assert error.reason == "expected double"
    assert "confidence_score" in str(error)
    assert not isinstance(error, errors.DecodeError)


def test_registry_error_says_whether_to_retry() -> None:
    down = errors.RegistryError("unreachable", retriable=True)
    refused = errors.RegistryError("HTTP 401", retriable=False, status=401)
    assert down.retriable and down.status is None
    assert not refused.retriable and refused.status == 401
    assert not isinstance(down, errors.DecodeError)  # an outage must never be dead-lettered


def test_incompatible_schema_lists_violations() -> None:
    error = errors.IncompatibleSchema("nope", ["A.x: new field without a default"])
    assert error.violations == ["A.x: new field without a default"]
    assert isinstance(error, errors.SchemaError)
