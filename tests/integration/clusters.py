"""The orka clusters on this machine, seen with docker and the state folders directly rather than through orka."""

from __future__ import annotations

import json
import subprocess

from orka.config import REPO_ROOT
from orka.plan.state import STATE_ROOT

LABEL = "orka.cluster"


def _docker(*args: str) -> list[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=60, check=False).stdout.split()


def cluster_names() -> set[str]:
    """Every cluster with a state folder in this checkout or a container or network labelled by orka."""
    names = {p.name for p in (STATE_ROOT / "clusters").glob("*")}
    for listing in (["ps", "-a"], ["network", "ls"]):
        names.update(_docker(*listing, "--filter", f"label={LABEL}", "--format", f'{{{{.Label "{LABEL}"}}}}'))
    return names - {""}


def of_another_checkout(name: str) -> bool:
    """True when the cluster is not this checkout's: no state folder here, and its containers mount
    nothing from this repository (every machine mounts its checkout's provisioning scripts)."""
    if (STATE_ROOT / "clusters" / name).exists():
        return False
    containers = _docker("ps", "-aq", "--filter", f"label={LABEL}={name}")
    if not containers:
        return False  # a network alone says nothing of where it came from
    inspected = subprocess.run(
        ["docker", "inspect", "--format", "{{json .Mounts}}", *containers],
        capture_output=True, text=True, timeout=60, check=False,
    ).stdout.splitlines()  # fmt: skip
    sources = {str(m.get("Source", "")) for line in inspected if line.strip() for m in json.loads(line) or []}
    return not any(s == str(REPO_ROOT) or s.startswith(f"{REPO_ROOT}/") for s in sources)
