from __future__ import annotations

import pytest

from streams.pipeline.policy import Outcome
from streams.pipeline.rules import StreamRules, apply_rules
from streams.pipeline.severity import SEVERITY_LEVELS, severity_level
from tests.unit.pipeline.factories import decision, metadata


def with_severity(severity: str) -> dict[str, object]:
    return decision(metadata=metadata("DecisionMade", severity=severity))


def test_severity_levels_run_from_debug_0_to_critical_5() -> None:
    assert [severity_level(s) for s in SEVERITY_LEVELS] == [0, 1, 2, 3, 4, 5]


@pytest.mark.parametrize(
    ("name", "level"),
    [("info", 1), ("Critical", 5), ("warning", 3), ("WARN", 3), ("error", 4), ("fatal", 5)],
)
def test_severity_names_ignore_case_and_accept_log_level_aliases(name: str, level: int) -> None:
    assert severity_level(name) == level


def test_unknown_severity_name_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown severity 'SEVERE'"):
        severity_level("SEVERE")


def test_default_rules_pass_everything() -> None:
    assert apply_rules("DecisionMade", with_severity("DEBUG"), StreamRules()).is_pass


@pytest.mark.parametrize(
    ("severity", "passes"),
    [("INFO", False), ("LOW", False), ("MEDIUM", True), ("CRITICAL", True)],
)
def test_severity_threshold_filters_below_it(severity: str, passes: bool) -> None:
    disposition = apply_rules("DecisionMade", with_severity(severity), StreamRules("warning"))
    if passes:
        assert disposition.is_pass
    else:
        assert disposition.outcome is Outcome.FILTERED
        assert disposition.reason == "filtered:below-severity"


def test_misconfigured_threshold_fails_at_construction() -> None:
    with pytest.raises(ValueError, match="unknown severity"):
        StreamRules(min_severity="loud")


def test_event_type_allow_list() -> None:
    rules = StreamRules(allowed_event_types=frozenset({"AuditTrailEntry"}))
    disposition = apply_rules("DecisionMade", decision(), rules)
    assert (disposition.outcome, disposition.reason) == (Outcome.FILTERED, "filtered:event-type")
    assert apply_rules("DecisionMade", decision(), StreamRules(allowed_event_types=None)).is_pass
