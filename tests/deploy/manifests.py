"""Reading the deployment manifests for the tests: every YAML document of deploy/k8s, the
compose file, and the Strimzi validators (npm, installed once per lock file into a cache)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "k8s"
STRIMZI = Path(__file__).resolve().parent / "strimzi"

Doc = dict[str, Any]


def k8s_documents() -> list[tuple[str, Doc]]:
    """(file name, document) of every resource in deploy/k8s (kustomization.yaml aside)."""
    docs: list[tuple[str, Doc]] = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        docs.extend((path.name, doc) for doc in yaml.safe_load_all(path.read_text()) if doc)
    return docs


def of_kind(docs: list[tuple[str, Doc]], kind: str) -> list[Doc]:
    return [doc for _, doc in docs if doc["kind"] == kind]


def containers(docs: list[tuple[str, Doc]]) -> Iterator[tuple[Doc, Doc]]:
    """(Deployment, container) for every container of every Deployment."""
    for deployment in of_kind(docs, "Deployment"):
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            yield deployment, container


def strimzi_validator() -> Path:
    """The validation script in a directory where its npm dependencies are installed."""
    lock = (STRIMZI / "package-lock.json").read_bytes()
    digest = hashlib.sha256(lock + (STRIMZI / "validate.mjs").read_bytes()).hexdigest()[:16]
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    home = cache / "regstream" / "strimzi-schemas" / digest
    if not (home / "node_modules").is_dir():
        staging = home.with_name(f"{digest}.partial")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        for name in ("package.json", "package-lock.json", "validate.mjs"):
            shutil.copy(STRIMZI / name, staging / name)
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=staging, check=True, capture_output=True, timeout=600,
        )  # fmt: skip
        shutil.rmtree(home, ignore_errors=True)
        staging.rename(home)
    return home / "validate.mjs"


def strimzi_errors(resources: list[Doc]) -> list[str | None]:
    """For each resource, None or what Strimzi's CRD schema says is wrong with it."""
    done = subprocess.run(
        ["node", str(strimzi_validator())],
        input=json.dumps(resources), capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    results: list[str | None] = json.loads(done.stdout)
    return results
