"""The directions imports may point in (ARCHITECTURE.md "Layout"), read from the source itself.

Every ``import`` counts, also those under ``if TYPE_CHECKING:`` and inside functions: a cycle a
type checker needs is still a cycle a reader has to untangle.

* ``schemas`` ← ``streams`` ← ``gateway``: the data contract imports neither, the pipeline does
  not import the gateway, and the gateway takes from ``streams`` only what the architecture names
  (settings and Kafka helpers).
* ``gateway.core`` is sans-I/O: nothing of ``gateway.io``, the client SDK or ``streams``, and no
  module that reaches a socket, an event loop, a thread, a process or the clock.
* ``gateway.client`` (the SDK) takes only the error table of the core; nothing else in the
  gateway imports the SDK.
* No import cycle between modules, nor between the subpackages of ``streams``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("schemas", "streams", "gateway")

# What the sans-I/O core must never import: I/O, concurrency, processes and clocks.
CORE_FORBIDDEN = (
    "asyncio",
    "aiokafka",
    "websockets",
    "socket",
    "ssl",
    "selectors",
    "select",
    "threading",
    "concurrent",
    "multiprocessing",
    "subprocess",
    "signal",
    "os",
    "time",
    "datetime",
    "http",
    "urllib.request",
    "requests",
    "httpx",
    "structlog",
    "logging",
    "prometheus_client",
    "jwt.jwks_client",
)
# Names whose use means network I/O even though their module is allowed (PyJWT's JWKS client).
CORE_FORBIDDEN_NAMES = frozenset({"PyJWKClient"})
# What the gateway may take from streams (ARCHITECTURE.md: "may use streams.settings/Kafka helpers"):
# the Kafka helpers are the clients' construction, their reconnect backoff and the bounding of
# their repeated warnings in the log.
GATEWAY_FROM_STREAMS = frozenset(
    {"streams.settings", "streams.kafka", "streams.reconnect", "streams.logs"}
)
CLIENT_FROM_GATEWAY = frozenset({"gateway.core.errors"})


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def sources() -> dict[str, Path]:
    return {
        module_name(path): path
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
    }


SOURCES = sources()


def imports(module: str, path: Path) -> Iterator[str]:
    """Every module ``path`` imports, absolute, with ``from x import y`` yielding ``x.y`` when
    ``x.y`` is a module of ours (else ``x``)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                full = f"{base}.{alias.name}"
                yield full if full in SOURCES else base


def names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    found = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    found |= {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    found |= {a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names}
    return found


GRAPH = {module: set(imports(module, path)) for module, path in SOURCES.items()}


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if within(m, "schemas")))
def test_schemas_import_neither_streams_nor_gateway(module: str) -> None:
    assert not [t for t in GRAPH[module] if within(t, "streams") or within(t, "gateway")]


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if within(m, "streams")))
def test_streams_do_not_import_the_gateway(module: str) -> None:
    assert not [t for t in GRAPH[module] if within(t, "gateway")]


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if within(m, "gateway")))
def test_the_gateway_takes_from_streams_only_settings_and_kafka_helpers(module: str) -> None:
    taken = {t for t in GRAPH[module] if within(t, "streams")}
    assert taken <= GATEWAY_FROM_STREAMS, f"{module} imports {sorted(taken)}"


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if within(m, "gateway.core")))
def test_the_core_is_sans_io(module: str) -> None:
    bad = sorted(
        t
        for t in GRAPH[module]
        if within(t, "gateway.io")
        or within(t, "gateway.client")
        or within(t, "streams")
        or any(within(t, f) for f in CORE_FORBIDDEN)
    )
    assert not bad, f"{module} imports {bad}"
    used = names(SOURCES[module]) & CORE_FORBIDDEN_NAMES
    assert not used, f"{module} uses {sorted(used)} (network I/O belongs to gateway.io)"


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if within(m, "gateway")))
def test_the_client_sdk_stands_apart(module: str) -> None:
    if within(module, "gateway.client"):
        taken = {
            t for t in GRAPH[module] if within(t, "gateway") and not within(t, "gateway.client")
        }
        assert taken <= CLIENT_FROM_GATEWAY, f"{module} imports {sorted(taken)}"
    else:
        assert not [t for t in GRAPH[module] if within(t, "gateway.client")]


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in graph:
                continue
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_module_import_cycles() -> None:
    graph = {m: {t for t in targets if t in GRAPH and t != m} for m, targets in GRAPH.items()}
    # a package's __init__ importing its own modules is how packages re-export, not a cycle
    for module, targets in graph.items():
        if SOURCES[module].name == "__init__.py":
            targets.difference_update(t for t in set(targets) if within(t, module))
    assert cycles(graph) == []


def test_no_cycles_between_the_subpackages_of_streams() -> None:
    def unit(module: str) -> str:
        return ".".join(module.split(".")[:2])

    graph: dict[str, set[str]] = {}
    for module, targets in GRAPH.items():
        if within(module, "streams"):
            graph.setdefault(unit(module), set()).update(
                unit(t) for t in targets if within(t, "streams") and unit(t) != unit(module)
            )
    assert cycles(graph) == []


def test_the_lint_sees_what_it_checks() -> None:
    """The rules above pass vacuously if the scan finds nothing: make sure it finds the core."""
    assert "gateway.core.session" in GRAPH
    assert "gateway.core.frames" in GRAPH["gateway.core.session"]
    assert "gateway.io.connection" in GRAPH
