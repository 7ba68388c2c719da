"""The order `pytest spikes/` runs its tests in, as pytest itself reports it.

Each method's phase tests in order, its verification checks (spikes/test_desired_state.py, IDs
`[<method>-<node>]`) right after them, one method after another in the settings' order; a method
the settings do not select is deselected. Seen from outside, the way a user sees it: `pytest
spikes/ --collect-only` in a child process from the repository root, with a settings file of the
test's own. Collecting boots nothing: no cluster state, no reports.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from itertools import groupby, pairwise
from pathlib import Path
from typing import Protocol

import pytest

from orka.config import REPO_ROOT
from orka.config.settings import METHODS

# Each has a per-node test: test_<phase>[<method>-<node>].
PHASES = ("up", "ping", "apply", "idempotence", "orchestrate")
STATE = REPO_ROOT / ".orka"
SUMMARY = re.compile(r"^(?:(\d+)/)?(\d+) tests? collected(?: \((\d+) deselected\))?")


@dataclass(frozen=True)
class Collected:
    ids: list[str]
    deselected: int


class Collect(Protocol):
    def __call__(self, methods: tuple[str, ...], paths: tuple[str, ...] = ...) -> Collected: ...


def snapshot(folder: Path) -> set[Path]:
    return set(folder.rglob("*")) if folder.exists() else set()


def collect(
    tmp_path: Path, methods: tuple[str, ...], paths: tuple[str, ...] = ("spikes/",), extra: tuple[str, ...] = ()
) -> Collected:
    """`pytest PATHS --collect-only -q` with these methods; checks it left no reports and no cluster state."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    settings = tmp_path / "settings.yaml"
    settings.write_text(f"methods: [{', '.join(methods)}]\n")
    reports = tmp_path / "reports"
    env = {k: v for k, v in os.environ.items() if k not in ("ORKA_SETTINGS", "PYTEST_ADDOPTS")}
    env["ORKA_REPORTS"] = str(reports)
    state_before = snapshot(STATE)
    command = [sys.executable, "-m", "pytest", *paths, "--collect-only", "-q", "-p", "no:cacheprovider", *extra]
    result = subprocess.run(
        [*command, "--settings", str(settings)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert snapshot(STATE) == state_before, "collecting made cluster state"
    assert not reports.exists() or not any(reports.iterdir()), f"collecting wrote reports: {list(reports.iterdir())}"
    lines = result.stdout.splitlines()
    summary = next(m for line in lines if (m := SUMMARY.match(line)))
    ids = [line for line in lines if "::" in line]
    assert len(ids) == int(summary.group(1) or summary.group(2))
    return Collected(ids, int(summary.group(3) or 0))


@pytest.fixture(scope="module")
def collected(tmp_path_factory: pytest.TempPathFactory) -> Collect:
    """Collect once per methods and paths (each a child pytest of a second or two), for every test of this module."""
    runs: dict[tuple[tuple[str, ...], tuple[str, ...]], Collected] = {}

    def of(methods: tuple[str, ...], paths: tuple[str, ...] = ("spikes/",)) -> Collected:
        if (methods, paths) not in runs:
            runs[methods, paths] = collect(tmp_path_factory.mktemp("-".join(methods)), methods, paths)
        return runs[methods, paths]

    return of


CHECKS_FILE = "spikes/example/verify/test_desired_state.py"  # the example scenario's checks


def method_of(node_id: str) -> str:
    """A spike test's method: its module's folder, or a verification check's `[<method>-` ID."""
    path = node_id.split("::")[0]
    if path == CHECKS_FILE:
        return node_id.split("[", 1)[1].split("-", 1)[0]
    folder = path.split("/")[1]
    assert folder in METHODS, node_id
    return folder


def is_verify(node_id: str) -> bool:
    return node_id.startswith(f"{CHECKS_FILE}::")


def stage(node_id: str) -> int:
    """0 a phase's test, 1 a check, 2 a drift test, 3 a check again after the drift's repair."""
    if is_verify(node_id):
        return 3 if node_id.endswith("-repaired]") else 1
    return 2 if "::test_drift" in node_id else 0


# The files as pytest finds them under spikes/ (each method's folder, then the checks), and named the other way round.
NAMED_BACKWARDS = (CHECKS_FILE, "spikes/salt/", "spikes/custom/", "spikes/ansible/")


@pytest.mark.parametrize(
    ("methods", "paths"),
    [
        (("salt", "ansible", "custom", "pyinfra"), ("spikes/",)),
        (("pyinfra", "custom", "salt"), ("spikes/",)),
        (("custom", "salt"), NAMED_BACKWARDS),
    ],
    ids=["salt-ansible-custom-pyinfra", "pyinfra-custom-salt", "custom-salt-files-named-backwards"],
)
def test_each_method_runs_its_phases_then_its_checks_in_the_settings_order(
    methods: tuple[str, ...], paths: tuple[str, ...], collected: Collect
) -> None:
    ids = collected(methods, paths).ids
    order = [method_of(i) for i in ids]
    assert [method for method, _ in groupby(order)] == list(methods)  # one method after another, never mixed
    for method in methods:
        block = [i for i in ids if method_of(i) == method]
        stages = [stage(i) for i in block]
        assert stages == sorted(stages), f"{method}: phases, checks, drift, checks again: {stages}"
        assert set(stages) == {0, 1, 2, 3}, f"{method}: {sorted(set(stages))}"
        own = [i for i in block if stage(i) == 0]
        assert all(i.startswith(f"spikes/{method}/") for i in own)
        positions = {}
        for phase in PHASES:
            at = [n for n, i in enumerate(own) if f"::test_{phase}[{method}-" in i]
            assert at, f"{method}: no per-node {phase} tests"
            positions[phase] = (min(at), max(at))
        spans = [positions[phase] for phase in PHASES]
        assert all(a[1] < b[0] for a, b in pairwise(spans)), f"{method}: phases {spans}"


def test_a_method_not_selected_is_deselected(collected: Collect) -> None:
    every = collected(("salt", "ansible", "custom", "pyinfra"))
    two = collected(("custom", "salt"))
    left_out = [i for i in every.ids if method_of(i) in ("ansible", "pyinfra")]
    assert {method_of(i) for i in left_out} == {"ansible", "pyinfra"}
    assert not [i for i in two.ids if method_of(i) in ("ansible", "pyinfra")]
    assert not [i for i in two.ids if "ansible" in i or "pyinfra" in i]
    # Their own tests are deselected; their verification checks are never made for a method not selected.
    assert two.deselected == len([i for i in left_out if not is_verify(i)])
    assert sorted(two.ids) == sorted(i for i in every.ids if method_of(i) not in ("ansible", "pyinfra"))


def test_verify_only_runs_the_checks_and_never_the_drift_phase(tmp_path: Path) -> None:
    """`orka verify` (--verify-only on a kept cluster) runs the checks as the cluster is: no drift, no repair."""
    ids = collect(tmp_path, ("custom",), ("spikes/example/verify/",), ("--verify-only", "-m", "custom")).ids
    assert ids
    assert all(is_verify(i) for i in ids)
    assert not [i for i in ids if i.endswith("-repaired]")]
