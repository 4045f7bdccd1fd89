"""Fetch the Kafka broker classpath from Maven Central once, into a cache outside git.

The cache key is a hash of deploy/local/pom.xml, so changing the Kafka version fetches a new
classpath and never mixes jars of two versions. The copy goes to a temporary directory first and
is renamed into place, so an interrupted download never leaves a half classpath that looks complete.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from streams.broker.errors import BrokerError

POM = Path(__file__).resolve().parents[2] / "deploy" / "local" / "pom.xml"


def cache_root() -> Path:
    """Where fetched classpaths live (REGSTREAM_KAFKA_CACHE, else ~/.cache/regstream/kafka)."""
    configured = os.environ.get("REGSTREAM_KAFKA_CACHE")
    if configured:
        return Path(configured)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "regstream" / "kafka"


def require_tool(name: str, hint: str) -> str:
    """Path of an executable on PATH, or a BrokerError saying how to get it."""
    path = shutil.which(name)
    if path is None:
        raise BrokerError(f"{name} is not on PATH: {hint}")
    return path


def ensure_classpath(pom: Path = POM) -> Path:
    """Return the directory holding the broker jars, fetching them with Maven if needed."""
    digest = hashlib.sha256(pom.read_bytes()).hexdigest()[:16]
    libs = cache_root() / digest / "libs"
    if libs.is_dir() and any(libs.glob("kafka_2.13-*.jar")):
        return libs
    mvn = require_tool("mvn", "install Apache Maven 3.8+ (Debian: apt-get install maven)")
    libs.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="libs-", dir=libs.parent))
    command = [
        mvn, "-q", "-B", "-f", str(pom), "dependency:copy-dependencies",
        f"-DoutputDirectory={staging}", "-DincludeScope=runtime",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        tail = (result.stdout + result.stderr).strip().splitlines()[-15:]
        raise BrokerError("Maven could not fetch the Kafka jars:\n" + "\n".join(tail))
    staging.rename(libs)
    return libs
