"""Worker settings: rules per stream, the derived app id, misspelt variables."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from streams.settings import Settings
from streams.worker.config import WorkerSettings, unknown_worker_vars


def test_rules_by_any_type_spelling_with_a_default_for_the_rest() -> None:
    worker = WorkerSettings(
        rules={  # type: ignore[arg-type]
            "decision_made": {"min_severity": "warning"},
            "*": {"allowed_event_types": ["AuditTrailEntry"]},
        }
    )
    config = worker.pipeline_config()
    assert config.rules_for("DecisionMade").min_level == 3
    assert config.rules_for("AgentStatusUpdate").allowed_event_types == {"AuditTrailEntry"}


@pytest.mark.parametrize(
    "rules",
    [{"DecisionMade": {"min_severity": "loud"}}, {"NoSuchType": {}}, {"*": {"oops": 1}}],
)
def test_a_misconfigured_rule_fails_at_start_up(rules: dict[str, object]) -> None:
    with pytest.raises((ValidationError, ValueError)):
        WorkerSettings(rules=rules)  # type: ignore[arg-type]


def test_rules_come_from_json_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGSTREAM_WORKER_RULES", '{"DecisionMade": {"min_severity": "HIGH"}}')
    assert WorkerSettings().pipeline_config().rules_for("DecisionMade").min_level == 4


def test_the_app_id_follows_the_input_prefix_unless_set() -> None:
    assert WorkerSettings().resolved_app_id(Settings()) == "events-pipeline"
    assert (
        WorkerSettings().resolved_app_id(Settings(input_prefix="t1.events."))
        == "t1.events-pipeline"
    )
    assert WorkerSettings(app_id="x").resolved_app_id(Settings()) == "x"


def test_a_misspelt_worker_variable_is_reported() -> None:
    env = {"REGSTREAM_WORKER_BATCH_MAX_EVENT": "9", "REGSTREAM_WORKER_BATCH_MAX_EVENTS": "9"}
    assert unknown_worker_vars(env) == ["REGSTREAM_WORKER_BATCH_MAX_EVENT"]


def test_a_relative_data_dir_is_taken_from_where_the_worker_starts(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    assert WorkerSettings().data_dir == tmp_path / ".regstream" / "worker"
    monkeypatch.setenv("REGSTREAM_WORKER_DATA_DIR", "state/w1")
    assert WorkerSettings().data_dir == tmp_path / "state" / "w1"
