"""The regstream image installs the pinned closure of pyproject's dependencies
(deploy/images/regstream/constraints.txt): every runtime dependency must be pinned there, at a
version its specifier accepts."""

from __future__ import annotations

import re
import tomllib

from packaging.requirements import Requirement

from tests.deploy.manifests import REPO


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_runtime_dependency_is_pinned_for_the_image() -> None:
    pins = {}
    for line in (REPO / "deploy" / "images" / "regstream" / "constraints.txt").read_text().split():
        name, version = line.split("==")
        pins[canonical(name)] = version
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    for spec in project["dependencies"]:
        requirement = Requirement(spec)
        pinned = pins.get(canonical(requirement.name))
        assert pinned is not None, f"{requirement.name} is not in constraints.txt"
        assert requirement.specifier.contains(pinned), f"{requirement.name}=={pinned} vs {spec}"
