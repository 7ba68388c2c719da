"""The orka clusters on this machine, seen with docker and the state folders directly rather than through orka."""

from __future__ import annotations

import json
import os
import subprocess

from orka.config import REPO_ROOT
from orka.plan.state import STATE_ROOT

LABEL = "orka.cluster"


# What this session's own run sets, never given to a run a test starts as a user would: pytest's and xdist's,
# orka's overrides, and make's (make test's MAKEFLAGS would reach a make a test starts; a make within a make
# also reports the folders it enters).
RUN_OWN = {"PYTEST_ADDOPTS", "ORKA_SETTINGS", "ORKA_SPEC", "ORKA_CLUSTER", "VAGRANT_DOTFILE_PATH"}
RUN_OWN |= {"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES"}


def user_environment(**given: str) -> dict[str, str]:
    """The user's environment, without what this session's run set for itself, with the given variables."""
    env = {k: v for k, v in os.environ.items() if k not in RUN_OWN and not k.startswith("PYTEST_XDIST")}
    return {**env, **given}


def docker_lines(*args: str) -> list[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=60, check=False).stdout.split()


def cluster_names() -> set[str]:
    """Every cluster with a state folder in this checkout or a container or network labelled by orka."""
    names = {p.name for p in (STATE_ROOT / "clusters").glob("*")}
    for listing in (["ps", "-a"], ["network", "ls"]):
        names.update(docker_lines(*listing, "--filter", f"label={LABEL}", "--format", f'{{{{.Label "{LABEL}"}}}}'))
    return names - {""}


def of_another_checkout(name: str) -> bool:
    """True when the cluster is not this checkout's: no state folder here, and its containers mount
    nothing from this repository (every machine mounts its checkout's provisioning scripts)."""
    if (STATE_ROOT / "clusters" / name).exists():
        return False
    containers = docker_lines("ps", "-aq", "--filter", f"label={LABEL}={name}")
    if not containers:
        return False  # a network alone says nothing of where it came from
    inspected = subprocess.run(
        ["docker", "inspect", "--format", "{{json .Mounts}}", *containers],
        capture_output=True, text=True, timeout=60, check=False,
    ).stdout.splitlines()  # fmt: skip
    sources = {str(m.get("Source", "")) for line in inspected if line.strip() for m in json.loads(line) or []}
    return not any(s == str(REPO_ROOT) or s.startswith(f"{REPO_ROOT}/") for s in sources)
