"""The dashboard in a real browser against the whole system: events appear as they are
produced, a SIGKILLed gateway costs nothing (no missing, no duplicate event on the page), a
reload resumes, and a collaboration reply goes sent → acknowledged → on the stream."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from pathlib import Path

from playwright.async_api import Browser, Page
from playwright.async_api import TimeoutError as PlaywrightTimeout

from streams.producer import EventProducer
from streams.samples import SampleEvents
from tests.e2e.conftest import System

WAIT_MS = 120_000  # the worker's first rebalance dominates; every wait is bounded by this
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "img" / "dashboard.png"
UPDATE_SCREENSHOT = "REGSTREAM_UPDATE_SCREENSHOT"


def screenshot_paths(tmp_path: Path) -> list[Path]:
    """Always one in the test's directory; docs/img/dashboard.png when asked for (set
    REGSTREAM_UPDATE_SCREENSHOT=1) or missing, so a test run does not rewrite a tracked file."""
    paths = [tmp_path / "dashboard.png"]
    if os.environ.get(UPDATE_SCREENSHOT) or not SCREENSHOT.exists():
        paths.append(SCREENSHOT)
    return paths


async def produce(system: System, count: int, samples: SampleEvents) -> list[str]:
    """Publish ``count`` events of all six types through the input topics (the real pipeline)."""
    ids = []
    async with EventProducer(system.settings) as producer:
        for _ in range(count):
            event_type, record = samples.any()
            record["metadata"]["event_id"] = str(uuid.uuid4())
            await producer.send(event_type, record)
            ids.append(record["metadata"]["event_id"])
    return ids


async def shown_ids(page: Page) -> list[str]:
    ids: list[str] = await page.eval_on_selector_all(
        "#feed li[data-event-id]", "rows => rows.map(r => r.dataset.eventId)"
    )
    return ids


async def wait_for_ids(page: Page, ids: list[str], logs: Callable[[], str] = lambda: "") -> None:
    """Wait until every id is in the feed; on timeout say what the page shows, and ``logs()``."""
    try:
        await page.wait_for_function(
            """ids => { const shown = new Set([...document.querySelectorAll('#feed li[data-event-id]')]
                                           .map(r => r.dataset.eventId));
                        return ids.every(id => shown.has(id)); }""",
            arg=ids, timeout=WAIT_MS,
        )  # fmt: skip
    except PlaywrightTimeout:
        shown = set(await shown_ids(page))
        state = await page.get_attribute("#conn", "data-state")
        gap = await page.inner_text("#gap-text") if await page.is_visible("#gap-text") else ""
        raise AssertionError(
            f"{len(set(ids) - shown)} of {len(ids)} ids never shown; connection {state!r}, "
            f"{len(shown)} shown, gap notice {gap!r}\n{logs()}"
        ) from None


async def open_dashboard(browser: Browser, system: System) -> Page:
    page = await browser.new_page(viewport={"width": 1440, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(f"{system.gateway.http_url}#token={system.token()}")
    assert "token=" not in page.url  # taken out of the address bar and history at once
    await page.wait_for_selector('body[data-subscribed="6"]', timeout=WAIT_MS)
    await page.wait_for_selector('#conn[data-state="live"]', timeout=WAIT_MS)
    page.errors = errors  # type: ignore[attr-defined]
    return page


async def test_events_survive_a_sigkilled_gateway(browser: Browser, system: System) -> None:
    page = await open_dashboard(browser, system)
    samples = SampleEvents(seed=41)
    first = await produce(system, 30, samples)
    await wait_for_ids(page, first)  # shown as they are produced

    system.gateway.kill()
    await page.wait_for_selector('#conn[data-state="reconnecting"]', timeout=WAIT_MS)
    during = await produce(system, 30, samples)  # while no gateway runs
    system.gateway.start()
    after = await produce(system, 30, samples)
    await wait_for_ids(page, first + during + after)
    await page.wait_for_selector('#conn[data-state="live"]', timeout=WAIT_MS)

    shown = await shown_ids(page)
    assert sorted(shown) == sorted(first + during + after)  # none missing, none twice
    assert not page.errors  # type: ignore[attr-defined]


async def test_reload_resumes_and_collaboration_is_acknowledged(
    browser: Browser, system: System, tmp_path: Path
) -> None:
    page = await open_dashboard(browser, system)
    samples = SampleEvents(seed=42)
    await wait_for_ids(page, await produce(system, 40, samples))

    # The resume token is in sessionStorage: events produced while the page reloads are shown.
    await page.wait_for_function(
        "() => sessionStorage.getItem('regstream.resume')", timeout=WAIT_MS
    )
    await page.reload()
    missed = await produce(system, 20, samples)
    await page.wait_for_selector('body[data-subscribed="6"]', timeout=WAIT_MS)
    await wait_for_ids(page, missed)

    # A signed-in analyst answers an agent: sent → acknowledged (Kafka) → on the live stream.
    await page.fill("#collab-session", "session-7")
    await page.fill("#collab-to", "agent-sanctions")
    await page.fill("#collab-text", "Confirmed: false positive, release the payment.")
    await page.keyboard.press("Tab")
    await page.click("#collab-send")
    await page.wait_for_selector('#sent li[data-status="delivered"]', timeout=WAIT_MS)

    more = await produce(system, 40, samples)
    await wait_for_ids(page, more)
    await page.wait_for_selector('#conn[data-state="live"]', timeout=WAIT_MS)
    await page.evaluate("() => document.activeElement?.blur()")
    for path in screenshot_paths(tmp_path):
        path.parent.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(path))
    assert not page.errors  # type: ignore[attr-defined]
