"""Filters: compile once, evaluate over payload + metadata + enrichment, refuse bad specs."""

from __future__ import annotations

import pytest

from gateway.core.errors import BadFilter
from gateway.core.filters import MATCH_ALL, compile_filter
from tests.unit.gateway.helpers import event


def test_match_all() -> None:
    assert compile_filter(None) is MATCH_ALL and compile_filter({}) is MATCH_ALL
    assert MATCH_ALL.matches(event())


@pytest.mark.parametrize(
    ("spec", "ev", "ok"),
    [
        ({"severity": {"gte": "HIGH"}}, event(severity="CRITICAL"), True),
        ({"severity": {"gte": "HIGH"}}, event(severity="MEDIUM"), False),
        ({"severity": {"lte": "LOW"}}, event(severity="DEBUG"), True),
        ({"agent_id": "a1"}, event(agent_id="a1"), True),
        ({"agent_id": ["a1", "a2"]}, event(agent_id="a3"), False),
        ({"event_type": "AgentStatusUpdate"}, event(), True),
        ({"source": {"in": ["svc", "cli"]}}, event(source="cli"), True),
        ({"payload.status": "ERROR"}, event(status="ACTIVE"), False),
        ({"enrichment.pipeline_latency_ms": {"gte": 3}}, event(), True),
        ({"enrichment.pipeline_latency_ms": {"lte": 2}}, event(), False),
        ({"enrichment.agent_known": False}, event(), True),
        ({"enrichment.agent_known": 0}, event(), False),  # JSON: false is not 0
        ({"enrichment.agent_name": None}, event(), True),
        ({"payload.no_such_field": None}, event(), False),  # missing never matches
        ({"payload.attributes": "x"}, event(), False),  # objects never equal scalars
        ({"payload.attributes": ["x"]}, event(), False),
        ({"agent_id": "agent-1", "severity": {"gte": "INFO"}}, event(), True),
    ],
)
def test_predicates(spec: dict, ev: dict, ok: bool) -> None:
    assert compile_filter(spec).matches(ev) is ok


def test_canonical_key_shared_by_equal_filters() -> None:
    a = compile_filter({"severity": {"gte": "HIGH"}, "agent_id": "a1"})
    b = compile_filter({"agent_id": {"eq": "a1"}, "metadata.severity": {"gte": "HIGH"}})
    assert a.key == b.key and a.key != compile_filter({"agent_id": "a2"}).key


@pytest.mark.parametrize(
    ("spec", "needle"),
    [
        ("severity", "object"),
        ({"nope": 1}, "must start with"),
        ({"payload.": 1}, "not a valid path"),
        ({"payload.a.b.c.d.e": 1}, "not a valid path"),
        ({"severity": {"gte": "URGENT"}}, "severity must be"),
        ({"payload.x": {"gte": "3"}}, "number"),
        ({"payload.x": {"gte": True}}, "number"),
        ({"payload.x": {"like": "a%"}}, "unknown operator"),
        ({"payload.x": {"eq": 1, "in": [1]}}, "exactly one"),
        ({"payload.x": {"in": []}}, "'in' takes"),
        ({"payload.x": {"eq": {"nested": 1}}}, "values must be"),
        ({"payload.x": "y" * 300}, "values must be"),
        ({f"payload.f{i}": i for i in range(17)}, "more than"),
        ({"agent_id": 1, "payload.agent_id": 2}, "twice"),
        ({"agent_id": [f"agent-{i:05}" for i in range(200)]}, "larger than"),
    ],
)
def test_bad_filters(spec: object, needle: str) -> None:
    with pytest.raises(BadFilter, match=needle):
        compile_filter(spec)
