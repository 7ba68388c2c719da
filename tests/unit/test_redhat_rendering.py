"""The custom runner's task files rendered for a RedHat-family node, as orka's runner renders them there.

No RedHat node can be had here (no RPM mirror: see the README's platform table). What can be checked
without one is what the runner's payload itself decides by the node's family: every task file of every
scenario (the spikes' and the integration tests') renders its tasks' arguments for RedHat from the
family's values, each name a Debian node resolves resolved on RedHat too, and the package task picks dnf.
Salt's and pyinfra's RedHat rendering run on a cluster (spikes/salt, spikes/pyinfra); Ansible's too
(spikes/ansible: test_playbook_takes_the_redhat_branch).
"""

# remote.py is untyped on purpose (plain Python 3.7 for any server); calling it is fine here.
# mypy: allow-untyped-calls

from __future__ import annotations

import string
from pathlib import Path
from typing import Any

import pytest

from orka.config import REPO_ROOT
from orka.config.platforms import DEBIAN, REDHAT
from orka.config.scenario import load_scenario
from orka.runner import remote
from orka.runner.taskfile import load_taskfile

TASK_FILES = sorted(
    path
    for folder in (REPO_ROOT / "spikes", REPO_ROOT / "tests" / "integration" / "data")
    for path in folder.glob("*/custom/*.yml")
)
# What the cluster's inventory gives every host (orka.providers.base.Cluster.inventory).
INVENTORY_VARS = {"role": "primary", "cluster_size": 3, "method": "custom", "primary": "orka-node-1"}


def names_in(value: Any) -> set[str]:
    """The $var and ${var} names a task argument refers to."""
    if isinstance(value, str):
        return {m["named"] or m["braced"] for m in string.Template.pattern.finditer(value) if m["named"] or m["braced"]}
    if isinstance(value, list):
        return set().union(*map(names_in, value)) if value else set()
    if isinstance(value, dict):
        return set().union(*map(names_in, value.values())) if value else set()
    return set()


def rendered(path: Path, family: str, monkeypatch: pytest.MonkeyPatch) -> tuple[remote.Run, list[dict[str, Any]]]:
    """The runner's Run on a node of that family, and every task's arguments as it renders them there."""
    scenario, _ = load_scenario(path.parent.parent)
    assert scenario is not None
    monkeypatch.setattr(remote, "os_family", lambda: family)
    tasks = load_taskfile(path)
    run = remote.Run({"vars": {**scenario.vars, **INVENTORY_VARS}, "family": tasks.family})
    return run, [run.render(task.args) for step in tasks.steps for task in step.tasks]


def test_there_are_task_files_to_render() -> None:
    assert len(TASK_FILES) >= 5, TASK_FILES


@pytest.mark.parametrize("path", TASK_FILES, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_every_name_a_debian_node_resolves_a_redhat_node_resolves_too(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tasks = load_taskfile(path)
    used = set().union(*(names_in(task.args) for step in tasks.steps for task in step.tasks))
    unresolved = {}
    for family in (DEBIAN, REDHAT):
        run, _ = rendered(path, family, monkeypatch)
        assert run.facts["os_family"] == family
        unresolved[family] = used - set(run.vars)
    assert unresolved[REDHAT] <= unresolved[DEBIAN], (
        f"{path.name}: {sorted(unresolved[REDHAT] - unresolved[DEBIAN])} resolved on Debian only: "
        "give `family: RedHat:` the same names as `family: Debian:`"
    )


def test_the_examples_family_values_differ_where_the_os_does(monkeypatch: pytest.MonkeyPatch) -> None:
    path = REPO_ROOT / "spikes" / "example" / "custom" / "desired_state.yml"
    shells = {}
    for family in (DEBIAN, REDHAT):
        _, args = rendered(path, family, monkeypatch)
        shells[family] = next(a["shell"] for a in args if "shell" in a)
    assert shells == {DEBIAN: "/usr/sbin/nologin", REDHAT: "/sbin/nologin"}


def test_a_redhat_node_installs_packages_with_dnf(monkeypatch: pytest.MonkeyPatch) -> None:
    """The package task's branch on RedHat: rpm asks, dnf installs (recorded here, not run)."""
    monkeypatch.setattr(remote, "os_family", lambda: REDHAT)
    ran: list[tuple[str, ...]] = []

    def sh(*argv: str, check: bool = True) -> Any:
        ran.append(argv)
        return type("Done", (), {"returncode": 1 if argv[0] == "rpm" else 0, "stdout": "", "stderr": ""})()

    monkeypatch.setattr(remote, "sh", sh)
    changed, message = remote.Run({}).package({"name": "tree"})
    assert (changed, message) == (True, "installed tree")
    assert ran == [("rpm", "-q", "tree"), ("dnf", "install", "-y", "-q", "tree")]
