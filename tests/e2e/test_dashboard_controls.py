"""The dashboard's controls in a real browser, against the gateway alone (batches are written to
``live.*`` directly, so offsets are known): filters, pause/resume, replay from a time, and a
retention gap shown as a gap, never hidden."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka.admin import RecordsToDelete
from aiokafka.structs import TopicPartition
from playwright.async_api import Browser, Page

from gateway.core.auth import mint_token
from gateway.io.settings import DEV_JWT_KID, load_gateway_settings
from schemas.codec import AvroCodec
from streams.kafka import admin_client, reliable_producer
from streams.settings import Settings
from tests.e2e.conftest import System
from tests.e2e.processes import Gateway, running
from tests.e2e.test_dashboard import WAIT_MS, shown_ids, wait_for_ids
from tests.unit.replay.factories import batch, events

CODEC = AvroCodec()


@pytest.fixture
def gateway_only(topics: Settings, tmp_path: Path) -> Iterator[System]:
    with running(Gateway(topics, tmp_path)) as gw:
        assert isinstance(gw, Gateway)
        yield System(topics, gw, None)  # type: ignore[arg-type]


async def produce(settings: Settings, event_type: str, severities: list[str]) -> list[str]:
    """One EventBatch per event on partition 0 of live.<type>; returns the ids in order."""
    records: list[dict[str, Any]] = events(event_type, len(severities), seed=uuid.uuid4().int % 997)
    producer = reliable_producer(settings)
    await producer.start()
    try:
        for record, severity in zip(records, severities, strict=True):
            record["metadata"].update(event_id=str(uuid.uuid4()), severity=severity,
                                      occurred_at=int(time.time() * 1000))  # fmt: skip
            value = CODEC.encode("EventBatch", batch(event_type, [record]))
            await producer.send_and_wait(
                settings.catalog.live_topic(event_type), value, partition=0
            )
    finally:
        await producer.stop()
    return [r["metadata"]["event_id"] for r in records]


async def visible_ids(page: Page) -> list[str]:
    ids: list[str] = await page.eval_on_selector_all(
        "#feed li[data-event-id]:not([hidden])", "rows => rows.map(r => r.dataset.eventId)"
    )
    return ids


async def open_page(browser: Browser, system: System) -> Page:
    page = await browser.new_page(viewport={"width": 1366, "height": 768})
    await page.goto(f"{system.gateway.http_url}#token={system.token()}")
    await page.wait_for_selector('body[data-subscribed="6"]', timeout=WAIT_MS)
    return page


async def test_filters_pause_and_replay(browser: Browser, gateway_only: System) -> None:
    settings = gateway_only.settings
    page = await open_page(browser, gateway_only)
    started = int(time.time() * 1000) - 1000
    low = await produce(settings, "DecisionMade", ["LOW", "INFO"])
    high = await produce(settings, "AuditTrailEntry", ["HIGH", "CRITICAL"])
    await wait_for_ids(page, low + high)

    # Keyboard only: the severity filter, then the Audit type checkbox.
    await page.focus("#severity-filter")
    await page.keyboard.press("End")  # Critical
    assert await visible_ids(page) == [high[1]]
    await page.select_option("#severity-filter", "DEBUG")
    await page.get_by_label("Audit").press("Space")
    assert sorted(await visible_ids(page)) == sorted(low)
    await page.get_by_label("Audit").press("Space")

    # Pause: new events wait; resume shows them, none skipped.
    await page.get_by_role("button", name="Pause").press("Enter")
    waiting = await produce(settings, "SimulationUpdate", ["INFO", "INFO", "INFO"])
    await page.wait_for_function("() => /3 waiting/.test(document.querySelector('#feed-count').textContent)", timeout=WAIT_MS)  # fmt: skip
    assert not set(waiting) & set(await shown_ids(page))
    await page.get_by_role("button", name="Resume").press("Enter")
    await wait_for_ids(page, waiting)

    # Replay from a time: the feed is rebuilt from the log.
    local = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(started / 1000))
    await page.fill("#replay-from", local)
    await page.click("#replay")
    await wait_for_ids(page, low + high + waiting)
    await page.wait_for_selector('#conn[data-state="live"]', timeout=WAIT_MS)
    assert sorted(await shown_ids(page)) == sorted(low + high + waiting)


async def test_a_retention_gap_is_shown(browser: Browser, gateway_only: System) -> None:
    settings = gateway_only.settings
    page = await open_page(browser, gateway_only)
    first = await produce(settings, "DecisionMade", ["INFO"] * 3)  # offsets 0..2
    await wait_for_ids(page, first)
    await page.wait_for_function("() => sessionStorage.getItem('regstream.resume')", timeout=WAIT_MS)  # fmt: skip
    await page.goto("about:blank")  # away; the tab keeps its session storage

    later = await produce(settings, "DecisionMade", ["INFO"] * 5)  # offsets 3..7
    admin = admin_client(settings)
    await admin.start()
    try:
        tp = TopicPartition(settings.catalog.live_topic("DecisionMade"), 0)
        await admin.delete_records({tp: RecordsToDelete(before_offset=6)})
    finally:
        await admin.close()

    await page.goto(gateway_only.gateway.http_url)  # the JWT and resume token are in the tab
    await wait_for_ids(page, later[3:], gateway_only.gateway.log_tail)
    assert await page.is_visible("#gap-notice")
    # From the last checkpoint the tab stored (offset 0 or 3, depending on whether the quiet
    # checkpoint after the first events came before the tab left) to the new log start, 6.
    assert re.search(
        r"partition 0 offsets [03]–5: deleted by retention", await page.inner_text("#gap-text")
    )
    assert await page.get_attribute("#conn", "data-state") == "gap"
    assert await page.locator('#feed li[data-gap="retention"]').count() == 1
    assert not set(later[:3]) & set(await shown_ids(page))
    await page.click("#gap-dismiss")
    await page.wait_for_selector('#conn[data-state="live"]', timeout=WAIT_MS)


async def test_a_refused_token_is_told_apart_from_an_outage(
    browser: Browser, gateway_only: System
) -> None:
    """A JWT the gateway refuses ends in "Token rejected" with what to do, not in an endless
    "Reconnecting…"; the publish hint follows the token that is then pasted and used."""
    good = gateway_only.token()
    forged = good.rsplit(".", 1)[0] + ".c2lnbmF0dXJl"  # same claims, another signature
    page = await browser.new_page()
    await page.goto(f"{gateway_only.gateway.http_url}#token={forged}")
    await page.wait_for_selector('#conn[data-state="rejected"]', timeout=WAIT_MS)
    assert await page.inner_text("#conn-label") == "Token rejected"
    assert await page.inner_text("#conn-detail") == "invalid_credentials"
    assert await page.is_visible("#sign-in")
    reason = await page.inner_text("#sign-in-reason")
    assert reason.startswith("Token rejected.") and "regstream token mint" in reason
    for jwt, may_publish in ((reader_token(gateway_only), False), (good, True)):
        await page.fill("#token-input", jwt)
        await page.click("#sign-in-form button[type=submit]")
        await page.wait_for_selector('#conn[data-state="live"]', timeout=WAIT_MS)
        assert await page.is_disabled("#collab-send") is not may_publish
        assert ("may not publish" in await page.inner_text("#collab-hint")) is not may_publish
        await page.click("#sign-out")


def reader_token(system: System) -> str:
    """A valid token that may read everything and publish nothing."""
    gw = load_gateway_settings()
    return mint_token(
        system.settings.jwt_secret.get_secret_value(), sub="rita.reader", audience=gw.jwt_audience,
        issuer=gw.jwt_issuer, now_s=int(time.time()), kid=DEV_JWT_KID, publish=[],
    )  # fmt: skip
