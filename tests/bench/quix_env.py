"""The virtualenv the quix-streams baseline runs in, created by the benchmark on first use.

Why not regstream's own virtualenv: quix-streams 3.28 requires ``pydantic < 2.14`` and
``pydantic-settings < 2.16``; installing it next to regstream would downgrade what regstream is
tested with. So the baseline gets ``.venv-bench-quix`` beside ``.venv``, holding quix-streams and
the two libraries regstream's codec and pipeline code need (fastavro at regstream's own version,
so decoding costs both the same, and orjson); the repository itself is put on ``PYTHONPATH``.
"""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

from streams.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".venv-bench-quix"
QUIX_VERSION = "3.28.1"


def requirements() -> list[str]:
    return [
        f"quixstreams=={QUIX_VERSION}",
        f"fastavro=={version('fastavro')}",
        f"orjson=={version('orjson')}",
    ]


def quix_python() -> Path:
    """The baseline's interpreter, installing its virtualenv first if it is missing or stale."""
    python = VENV / "bin" / "python"
    stamp = VENV / ".requirements"
    wanted = "\n".join(requirements())
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return python
    print(f"creating {VENV} for the quix-streams baseline ({QUIX_VERSION})", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", *requirements()], check=True, timeout=900
    )
    stamp.write_text(wanted)
    return python


def quix_argv(
    settings: Settings, output: str, group: str, guarantee: str, state_dir: Path
) -> list[str]:
    """The command line of :mod:`tests.bench.quix_app` for these topics and this guarantee."""
    return [
        str(quix_python()),
        str(ROOT / "tests" / "bench" / "quix_app.py"),
        settings.bootstrap_servers,
        settings.input_prefix,
        output,
        group,
        guarantee.replace("_", "-"),
        str(state_dir),
    ]


def quix_env(base: dict[str, str]) -> dict[str, str]:
    """``base`` with the repository on ``PYTHONPATH`` (the app imports regstream's codec)."""
    return {**base, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
