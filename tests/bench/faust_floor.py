"""A Faust agent that does nothing but ``take_events()`` over the benchmark's input.

The ceiling of any agent built on Faust's stock consumer on this machine, for scale beside the
worker (which replaces that consumer's hand-off, :mod:`streams.worker.transport`). Run as a
process of its own: ``python -m tests.bench.faust_floor CONFIG_JSON``; prints ``RESULT {"events",
"first", "last"}`` (epoch seconds) and exits once it has seen ``count`` events.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

import orjson

from schemas.contract import EVENT_TYPES
from streams.settings import Settings
from tests.bench.loadgen import report

WITHIN_S = 0.02
"""The batch window the worker's agent used with Faust's own consumer."""


def main(config: dict[str, Any]) -> None:
    import faust
    from faust.worker import Worker

    count = int(config["count"])
    app = faust.App(
        config["app_id"],
        broker=f"kafka://{config['bootstrap']}",
        topic_disable_leader=True,
        consumer_auto_offset_reset="earliest",
        table_standby_replicas=1,
        web_enabled=False,
    )
    settings = Settings(bootstrap_servers=config["bootstrap"], input_prefix=config["input_prefix"])
    source = app.topic(
        *(settings.catalog.input_topic(t) for t in EVENT_TYPES),
        key_serializer="raw",
        value_serializer="raw",
    )
    seen = {"n": 0, "first": 0.0}

    @app.agent(source)
    async def drain(stream: Any) -> None:
        async for events in stream.take_events(500, within=WITHIN_S):
            seen["first"] = seen["first"] or time.time()
            seen["n"] += len(events)
            if seen["n"] >= count:
                report({"events": seen["n"], "first": seen["first"], "last": time.time()})
                os._exit(0)

    runner = Worker(app, loglevel="warning", quiet=True, redirect_stdouts=False)
    runner.spinner = None
    runner.execute_from_commandline()


if __name__ == "__main__":
    main(orjson.loads(sys.argv[1]))
