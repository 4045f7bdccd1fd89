"""The Grafana board (deploy/grafana) shows metrics regstream exports, under their real names
and label values; the compose test runs its queries against a live Prometheus."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client import Metric

from gateway.io.metrics import GatewayMetrics
from streams.pipeline import DispositionCounter
from streams.pipeline.policy import Outcome
from streams.worker.metrics import BatchLatency, render

BOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "dashboards" / "regstream.json"
SUFFIXES = {"counter": ("_total",), "gauge": ("",), "histogram": ("_bucket", "_sum", "_count")}


def board_queries() -> list[tuple[str, str]]:
    """(panel title, PromQL) of every query on the board."""
    board = json.loads(BOARD.read_text())
    return [(p["title"], t["expr"]) for p in board["panels"] for t in p["targets"]]


def exported_names() -> set[str]:
    families: list[Metric] = list(GatewayMetrics().registry.collect())
    names = {f.name + suffix for f in families for suffix in SUFFIXES[f.type]}
    worker = render(DispositionCounter(), {}, {"events.x": 0}, BatchLatency())
    names |= set(re.findall(r"^(regstream_worker_\w+?)(?:\{| )", worker, re.MULTILINE))
    names.add("regstream_worker_records_total")
    return names


def test_every_query_names_an_exported_metric() -> None:
    known = exported_names()
    for title, expr in board_queries():
        used = set(re.findall(r"\bregstream_\w+", expr))
        assert used, f"{title}: {expr} shows no regstream metric"
        assert used <= known, f"{title}: {sorted(used - known)} are not exported"


def test_label_values_are_the_outcomes_the_worker_counts() -> None:
    outcomes = {o.value for o in Outcome}
    for title, expr in board_queries():
        for value in re.findall(r'outcome="([^"]+)"', expr):
            assert value in outcomes, f"{title}: outcome {value!r}"


def test_panels_read_the_chosen_prometheus_and_have_unique_ids() -> None:
    board = json.loads(BOARD.read_text())
    assert [v["name"] for v in board["templating"]["list"]] == ["datasource"]
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    for panel in board["panels"]:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
