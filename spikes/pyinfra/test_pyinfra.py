"""The pyinfra spike: pyinfra from the machine that runs pytest (the Bamboo agent), over the cluster's SSH config.

pyinfra -y --sudo INVENTORY exec -- true
pyinfra -y --sudo INVENTORY <scenario>/pyinfra/deploy.py
pyinfra -y --sudo INVENTORY <scenario>/pyinfra/orchestrate.py
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from orka.methods.pyinfra import DESCRIPTOR
from orka.methods.pyinfra.method import PyinfraMethod, inventory_source
from orka.spike import Spike
from spikes.no_agent import check_no_agent
from spikes.phases import check_node, check_phase

pytestmark = [pytest.mark.pyinfra, pytest.mark.xdist_group("pyinfra")]


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
def test_deploy_converges(spike: Spike) -> None:
    check_phase(spike, "apply")


@pytest.mark.phase("apply")
def test_apply(spike: Spike, node: str) -> None:
    check_node(spike, "apply", node)


@pytest.mark.phase("idempotence")
def test_second_deploy_changes_nothing(spike: Spike) -> None:
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


def test_plain_pyinfra_agrees(spike: Spike, tmp_path: Path) -> None:
    """pyinfra's own command as a user types it, without orka's callbacks, on the converged cluster: the deploy
    exits 0 and its results hold every node, none changed or failed (orka's wrapper changes nothing of pyinfra's)."""
    spike.ensure("apply")
    method = spike.method
    assert isinstance(method, PyinfraMethod)
    inventory = tmp_path / "inventory.py"
    inventory.write_text(inventory_source(method.inventory()))
    deploy = spike.scenario.folder("pyinfra") / "deploy.py"
    pyinfra = Path(sys.executable).with_name("pyinfra")
    command = [str(pyinfra), "-y", "--sudo", "--json", str(inventory), str(deploy)]
    done = subprocess.run(command, cwd=deploy.parent, capture_output=True, text=True, timeout=method.timeout_s)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(done.stdout)["results"]
    assert results["failed_hosts"] == [], results
    assert results["totals"]["error"] == 0, results
    changed = {op["name"]: op["success"] for op in results["operations"] if op["success"]}
    assert changed == {}, f"a converged cluster changed: {changed}"
    reported = {node for op in results["operations"] for node in op["no_change"]}
    assert reported == set(spike.node_names)


# A RedHat-family node's release file, as pyinfra's LinuxDistribution fact reads it (Rocky Linux 9).
REDHAT_RELEASE = 'ID="rocky"\nID_LIKE="rhel centos fedora"\nNAME="Rocky Linux"\nVERSION_ID="9.4"\n'


def test_deploy_plans_for_the_redhat_family(spike: Spike) -> None:
    """No RedHat node can be had here (no RPM mirror): the last node's /etc/os-release says Rocky Linux 9 while
    pyinfra plans the scenario's deploy (`--debug-operations`: facts are read, no operation runs). The plan holds
    the same operations, by name and in order, for that node as for a Debian one; where the deploy branches by OS
    family (the example's and web's package manager) they are operations of the node's own. dnf is not run."""
    method = spike.method
    assert isinstance(method, PyinfraMethod)
    node, debian = spike.node_names[-1], spike.node_names[0]
    write = f"printf %s {shlex.quote(REDHAT_RELEASE)} >/etc/os-release"
    swap = f"sudo sh -c {shlex.quote(f'mv /etc/os-release /etc/os-release.orka && {write}')}"
    assert spike.cluster.run(node, swap).rc == 0
    try:
        run = method.invoke(["--debug-operations", DESCRIPTOR.entry])
    finally:
        restored = spike.cluster.run(node, "sudo mv /etc/os-release.orka /etc/os-release")
    assert restored.rc == 0, restored.stderr
    assert run.rc == 0, run.stderr[-3000:]
    plan = json.loads(run.stdout)["op_order"]
    for_redhat = [", ".join(op["names"]) for op in plan if node in op["hosts"]]
    for_debian = [", ".join(op["names"]) for op in plan if debian in op["hosts"]]
    assert for_redhat == for_debian, plan
    apart = [op["names"] for op in plan if node in op["hosts"] and debian not in op["hosts"]]
    spike.emit(f"[orka] {spike.name} RedHat plan: {len(for_redhat)} operations, {len(apart)} of its own: {apart}")


def test_nodes_run_no_agent(spike: Spike) -> None:
    """pyinfra needs nothing on the nodes but sshd, sudo and a shell: after its runs no node holds or runs Salt or
    Ansible, nor the cluster's private key (spikes/no_agent.py)."""
    spike.ensure("orchestrate")  # and apply before it
    check_no_agent(spike)
