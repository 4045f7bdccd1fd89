"""Whole-system tests: a real broker, the Faust worker, the gateway, and Debian's chromium
driven by Playwright. Never downloads a browser: chromium comes from the test packages
(deploy/local/install-test-packages.sh); without it the tests fail with that reason.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright

from gateway.core.auth import mint_token
from gateway.io.settings import DEV_JWT_KID, load_gateway_settings
from streams.settings import Settings
from streams.topics import create_topics
from tests.e2e.processes import Gateway, Worker, running

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e" in str(item.path):
            item.add_marker(pytest.mark.e2e)


@dataclass
class System:
    settings: Settings
    gateway: Gateway
    worker: Worker

    def token(self, sub: str = "ana.analyst", lifetime_s: int = 3600) -> str:
        gw = load_gateway_settings()
        return mint_token(
            self.settings.jwt_secret.get_secret_value(), sub=sub, audience=gw.jwt_audience,
            issuer=gw.jwt_issuer, now_s=int(time.time()), kid=DEV_JWT_KID,
            publish=["CollaborationEvent"], lifetime_s=lifetime_s,
        )  # fmt: skip


@pytest.fixture
async def topics(settings: Settings) -> AsyncIterator[Settings]:
    await create_topics(settings)
    yield settings


@pytest.fixture
def system(topics: Settings, tmp_path: Path) -> Iterator[System]:
    """Worker and gateway as subprocesses, both stopped at the end whatever happens."""
    with running(Worker(topics, tmp_path)) as worker, running(Gateway(topics, tmp_path)) as gw:
        assert isinstance(worker, Worker) and isinstance(gw, Gateway)
        yield System(topics, gw, worker)


def chromium_present() -> bool:
    return Path(CHROMIUM).exists() or shutil.which("chromium") is not None


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    assert chromium_present(), (
        "chromium is needed: deploy/local/install-test-packages.sh installs Debian's package"
    )
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()
