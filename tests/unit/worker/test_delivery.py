"""Exactly-once delivery retries a transaction's start soon after the previous commit."""

from __future__ import annotations

from aiokafka.producer import sender

from streams.worker.delivery import TRANSACTION_RESTART_BACKOFF_S, ExactlyOnce


def test_an_exactly_once_worker_shortens_the_transaction_restart_backoff() -> None:
    before = sender.BACKOFF_OVERRIDE
    try:
        ExactlyOnce(app=None)
        assert sender.BACKOFF_OVERRIDE == TRANSACTION_RESTART_BACKOFF_S < before
    finally:
        sender.BACKOFF_OVERRIDE = before
