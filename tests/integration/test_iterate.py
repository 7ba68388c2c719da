"""Iterating on a scenario as Molecule's users do, through the `orka` command on one kept cluster:
`orka init`, then converge, idempotence, verify, login, destroy, in that order (one module, one cluster).

The scenario is `orka init`'s skeleton written outside the repository (a team's own folder), run with the
custom method, the quickest to converge. A hand edit through `orka login` must turn verify red: the
commands look at the cluster as it is, not at what an earlier command printed.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from orka.config import REPO_ROOT
from tests.integration.clusters import cluster_names

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("iterate")]

NAME = "orka-iterate"


def orka(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "orka", *args]
    return subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, check=False, timeout=timeout)


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("team-repo") / "motd"
    made = orka("init", "motd", "--path", str(folder))
    assert made.returncode == 0, made.stderr
    yield folder
    orka("destroy", "--name", NAME)  # whatever a test left, nothing of the cluster stays


def test_converge_brings_up_and_applies(scenario: Path) -> None:
    run = orka("converge", "custom", "--scenario", str(scenario), "--name", NAME)
    assert run.returncode == 0, run.stdout + run.stderr[-3000:]
    assert "custom apply: ok" in run.stdout
    assert "custom orchestrate: not defined" in run.stdout  # the skeleton has no orchestration
    assert NAME in cluster_names()


def test_idempotence_changes_nothing(scenario: Path) -> None:
    run = orka("idempotence", "--scenario", str(scenario), "--name", NAME)
    assert run.returncode == 0, run.stdout + run.stderr[-3000:]
    assert "custom idempotence: ok" in run.stdout


def test_converge_refuses_another_method_on_the_kept_cluster(scenario: Path) -> None:
    run = orka("converge", "ansible", "--scenario", str(scenario), "--name", NAME)
    assert run.returncode != 0
    assert "orka destroy" in run.stderr
    assert "Traceback" not in run.stderr


def test_verify_passes_on_the_converged_cluster(scenario: Path) -> None:
    run = orka("verify", "--scenario", str(scenario), "--name", NAME)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "3 passed" in run.stdout  # the skeleton's one check on each of the three nodes


def test_login_runs_a_command_on_the_node(scenario: Path) -> None:
    run = orka("login", "orka-node-2", "--name", NAME, "--", "cat", "/srv/motd/motd.conf", timeout=60)
    assert run.returncode == 0, run.stderr
    assert "node=orka-node-2" in run.stdout


def test_a_kept_cluster_that_is_not_ready_stays_to_be_looked_into(scenario: Path) -> None:
    broken = orka("login", "orka-node-3", "--name", NAME, "--", "sudo", "systemd-run", "--unit", "orka-broken", "false")
    assert broken.returncode == 0, broken.stderr
    run = orka("converge", "custom", "--scenario", str(scenario), "--name", NAME)
    assert run.returncode != 0
    assert "orka-broken" in run.stderr  # the failed unit, named
    assert "keeping cluster" in run.stderr
    assert NAME in cluster_names(), "the user's kept cluster is theirs to look into, not orka's to drop"
    fixed = orka("login", "orka-node-3", "--name", NAME, "--", "sudo", "systemctl", "reset-failed")
    assert fixed.returncode == 0, fixed.stderr
    again = orka("converge", "custom", "--scenario", str(scenario), "--name", NAME)
    assert again.returncode == 0, again.stdout + again.stderr[-3000:]


def test_check_finds_the_converged_cluster_in_sync(scenario: Path) -> None:
    run = orka("check", "--scenario", str(scenario), "--name", NAME)
    assert run.returncode == 0, run.stdout + run.stderr[-3000:]
    assert run.stdout.splitlines() == [f"{node}: in sync" for node in ("orka-node-1", "orka-node-2", "orka-node-3")]


def test_verify_sees_a_hand_edit(scenario: Path) -> None:
    edit = orka("login", "orka-node-1", "--name", NAME, "--", "sudo", "chmod", "600", "/srv/motd/motd.conf")
    assert edit.returncode == 0, edit.stderr
    run = orka("verify", "--scenario", str(scenario), "--name", NAME)
    assert run.returncode != 0
    assert "1 failed, 2 passed" in run.stdout
    assert "orka-node-1" in run.stdout


def test_check_names_the_drifted_node_and_converge_repairs_it(scenario: Path) -> None:
    drifted = orka("check", "--scenario", str(scenario), "--name", NAME)
    assert drifted.returncode == 3, drifted.stdout + drifted.stderr[-3000:]
    expected = ["orka-node-1: would change: conf", "orka-node-2: in sync", "orka-node-3: in sync"]
    assert drifted.stdout.splitlines() == expected
    mode = orka("login", "orka-node-1", "--name", NAME, "--", "stat", "-c", "%a", "/srv/motd/motd.conf")
    assert mode.stdout.strip() == "600", "a dry run changes nothing"
    repaired = orka("converge", "custom", "--scenario", str(scenario), "--name", NAME)
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr[-3000:]
    assert orka("check", "--scenario", str(scenario), "--name", NAME).returncode == 0
    verified = orka("verify", "--scenario", str(scenario), "--name", NAME)
    assert verified.returncode == 0, verified.stdout[-3000:]
    assert "3 passed" in verified.stdout


def test_destroy_removes_the_cluster(scenario: Path) -> None:
    run = orka("destroy", "--name", NAME)
    assert run.returncode == 0, run.stderr
    assert NAME not in cluster_names()
    gone = orka("login", "orka-node-1", "--name", NAME, "--", "true", timeout=60)
    assert gone.returncode != 0
    assert f"no cluster {NAME}" in gone.stderr
