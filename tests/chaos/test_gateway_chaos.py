"""Chaos, long variant (`make chaos`): 50 clients, a producer at 2,000 events/s for 60 s, each
client dropping its connection every 0.5-3 s and resuming from its last token, the gateway
SIGKILLed twice and restarted. Every client must end with every event exactly once after dedupe
by position, per-partition order kept, zero gaps (scenario: tests/integration/test_gateway_chaos_short.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.settings import Settings
from tests.integration.test_gateway_chaos_short import run_chaos


@pytest.mark.chaos
@pytest.mark.timeout(900)
async def test_long_chaos_every_event_exactly_once(settings: Settings, tmp_path: Path) -> None:
    await run_chaos(
        settings,
        tmp_path,
        clients=50,
        rate=2000,
        duration_s=60,
        kills=2,
        per_record=20,
        settle_s=300,
    )
