"""The worker's web port answers the probes containers and Kubernetes use: /healthz as soon as it
runs, /readyz once its group has settled and the agent directory is loaded; /metrics has what
the Grafana board shows (consumer lag, batch latency)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

from streams.broker.cluster import free_port
from streams.settings import Settings
from tests.integration.test_worker_harness import running_workers, wait_for, worker_env


def probe(port: int, path: str) -> tuple[int, object]:
    """Status and body (JSON when it is) of GET http://127.0.0.1:<port><path>; (0, None) while
    nothing listens."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as answer:
            status, body = answer.status, answer.read()
    except urllib.error.HTTPError as refused:
        status, body = refused.code, refused.read()
    except OSError:
        return 0, None
    try:
        return status, json.loads(body)
    except ValueError:
        return status, body


async def test_worker_serves_healthz_and_readyz(settings: Settings, tmp_path: Path) -> None:
    port = free_port()
    env = worker_env(settings, tmp_path / "data", web_enabled="true", web_port=str(port))
    with running_workers(env, tmp_path) as workers:
        workers.start()

        async def answers() -> bool:
            return probe(port, "/healthz")[0] != 0

        await wait_for(answers, 120, lambda: "the web port never answered", workers)
        assert probe(port, "/healthz") == (200, {"status": "ok"})

        async def ready() -> bool:
            return probe(port, "/readyz") == (200, {"ready": True})

        await wait_for(ready, 120, lambda: f"/readyz: {probe(port, '/readyz')}", workers)
        status, text = probe(port, "/metrics")
        assert status == 200
        assert isinstance(text, bytes)
        assert b"# TYPE regstream_worker_consumer_lag gauge" in text
        assert b"# TYPE regstream_worker_batch_seconds histogram" in text
