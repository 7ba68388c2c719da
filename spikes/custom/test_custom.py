"""The custom method: orka's own task runner, from the machine that runs pytest over SSH.

orka run <scenario>/custom/desired_state.yml --inventory cluster
orka run <scenario>/custom/orchestrate.yml --inventory cluster
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from orka.config import REPO_ROOT
from orka.spike import Spike
from spikes.no_agent import check_no_agent
from spikes.phases import check_node, check_phase

pytestmark = [pytest.mark.custom, pytest.mark.xdist_group("custom")]


@pytest.mark.phase("up")
def test_every_node_fresh_and_ready(spike: Spike) -> None:
    check_phase(spike, "up")


@pytest.mark.phase("up")
def test_up(spike: Spike, node: str) -> None:
    check_node(spike, "up", node)


@pytest.mark.phase("ping")
def test_ping_every_node_answers(spike: Spike) -> None:
    check_phase(spike, "ping")


@pytest.mark.phase("ping")
def test_ping(spike: Spike, node: str) -> None:
    check_node(spike, "ping", node)


@pytest.mark.phase("apply")
def test_apply_converges(spike: Spike) -> None:
    check_phase(spike, "apply")


@pytest.mark.phase("apply")
def test_apply(spike: Spike, node: str) -> None:
    check_node(spike, "apply", node)


@pytest.mark.phase("idempotence")
def test_second_apply_changes_nothing(spike: Spike) -> None:
    check_phase(spike, "idempotence")


@pytest.mark.phase("idempotence")
def test_idempotence(spike: Spike, node: str) -> None:
    check_node(spike, "idempotence", node)


@pytest.mark.phase("orchestrate")
def test_orchestrate_primary_before_secondaries(spike: Spike) -> None:
    check_phase(spike, "orchestrate")


@pytest.mark.phase("orchestrate")
def test_orchestrate(spike: Spike, node: str) -> None:
    check_node(spike, "orchestrate", node)


@pytest.mark.drift
def test_drift_found_and_repaired(spike: Spike) -> None:
    check_phase(spike, "drift")


@pytest.mark.drift
def test_drift(spike: Spike, node: str) -> None:
    check_node(spike, "drift", node)


def test_the_cli_a_plan_calls(spike: Spike, tmp_path: Path) -> None:
    """`orka run` as a Bamboo plan calls it: a dry run of the scenario's task file on a converged cluster
    changes nothing, JSON on request, exit 0; a task that fails on a host fails the plan."""
    spike.ensure("apply")
    tasks = spike.scenario.folder("custom") / "desired_state.yml"
    command = [sys.executable, "-m", "orka", "run", str(tasks), "--inventory", "cluster"]
    command += ["--name", spike.cluster.name]
    dry = subprocess.run([*command, "--check", "--json"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert dry.returncode == 0, dry.stderr
    report = json.loads(dry.stdout)
    hosts = [h for step in report["steps"] for h in step["hosts"]]
    assert {h["host"] for h in hosts} == {n.name for n in spike.cluster.nodes}
    assert all(h["ok"] and h["changed"] == [] for h in hosts), hosts

    failing = tmp_path / "fails.yml"
    failing.write_text("tasks:\n  - name: always fails\n    command: {run: 'exit 3'}\n")
    bad = subprocess.run(
        [sys.executable, "-m", "orka", "run", str(failing), "--inventory", "cluster", "--name", spike.cluster.name],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert bad.returncode == 1, bad.stdout
    assert "always fails: TaskError: exit 3" in bad.stdout


def test_nodes_run_no_agent(spike: Spike) -> None:
    """The runner needs nothing on the nodes but sshd, sudo and python3: after its runs no node holds or runs
    Salt or Ansible, nor the cluster's private key (spikes/no_agent.py)."""
    spike.ensure("orchestrate")  # and apply before it
    check_no_agent(spike)
