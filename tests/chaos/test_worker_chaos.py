"""Long variant of the kill -9 accounting test: 200,000 events, the worker SIGKILLed five times.

Run with ``make chaos`` (``pytest -m chaos``); `make test` runs 100,000 events and three kills.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.settings import Settings
from tests.integration.test_worker_harness import plan_inputs, run_with_kills

pytestmark = [pytest.mark.chaos, pytest.mark.timeout(1800)]


async def test_200k_events_are_accounted_for_exactly_once_across_five_kills(
    settings: Settings, tmp_path: Path
) -> None:
    plan = plan_inputs(200_000, seed=101)
    problems = await run_with_kills(
        settings, plan, tmp_path, kill_at=(0.1, 0.3, 0.5, 0.7, 0.85), timeout_s=900
    )
    assert not problems, "\n".join(problems)
