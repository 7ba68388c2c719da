"""The Ansible spike, run as the original spike ran it: on ansible-master, agentless.

ansible all -m ping
ansible-playbook /opt/orka/ansible/config/playbook.yml
ansible-playbook /opt/orka/ansible/config/orchestrate.yml
"""

from __future__ import annotations

import json
import shlex

import pytest

from orka.methods.ansible import CONFIG, DESCRIPTOR
from orka.methods.ansible.method import CONTROL, FAILURES, JSON_OUTPUT, host_results
from orka.spike import Spike
from spikes.no_agent import check_no_agent
from spikes.phases import check_node, check_phase

pytestmark = [pytest.mark.ansible, pytest.mark.xdist_group("ansible")]


@pytest.mark.phase("up")
def test_every_node_fresh_and_ready(spike: Spike) -> None:
    check_phase(spike, "up")


@pytest.mark.phase("up")
def test_up(spike: Spike, node: str) -> None:
    check_node(spike, "up", node)


@pytest.mark.phase("ping")
def test_ping_every_node_pongs(spike: Spike) -> None:
    check_phase(spike, "ping")


@pytest.mark.phase("ping")
def test_ping(spike: Spike, node: str) -> None:
    check_node(spike, "ping", node)


@pytest.mark.phase("apply")
def test_playbook_converges(spike: Spike) -> None:
    check_phase(spike, "apply")


@pytest.mark.phase("apply")
def test_apply(spike: Spike, node: str) -> None:
    check_node(spike, "apply", node)


@pytest.mark.phase("idempotence")
def test_second_run_changes_nothing(spike: Spike) -> None:
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


# A RedHat-family node's release files, as Ansible's distribution facts read them (Rocky Linux 9): with
# os-release alone its os_family is "Rocky Linux", its distribution file makes it RedHat.
REDHAT_RELEASE = 'ID="rocky"\nID_LIKE="rhel centos fedora"\nNAME="Rocky Linux"\nVERSION_ID="9.4"\n'
REDHAT_DISTRIBUTION = "Rocky Linux release 9.4 (Blue Onyx)\n"
# What a RedHat package-manager task says on a Debian node, which has neither dnf nor rpm.
NO_RPM_TOOLING = ("dnf", "yum", "rpm")


def test_playbook_takes_the_redhat_branch(spike: Spike) -> None:
    """No RedHat node can be had here (no RPM mirror): the last node's /etc/os-release says Rocky Linux 9 while
    the scenario's playbook runs there in check mode. Ansible's facts then say RedHat, and the play renders for
    it: every task until the first package-manager task (which needs dnf, not on a Debian node) renders and
    passes its check, and a task that fails fails only for lacking dnf or rpm."""
    node = spike.node_names[-1]
    write = f"printf %s {shlex.quote(REDHAT_RELEASE)} >/etc/os-release"
    write += f" && printf %s {shlex.quote(REDHAT_DISTRIBUTION)} >/etc/redhat-release"
    swap = f"sudo sh -c {shlex.quote(f'mv /etc/os-release /etc/os-release.orka && {write}')}"
    assert spike.cluster.run(node, swap).rc == 0
    try:
        facts = spike.cluster.run(CONTROL, f"sudo ansible {node} -m setup -a filter=ansible_os_family -o")
        play = spike.cluster.run(
            CONTROL, f"sudo {JSON_OUTPUT} ansible-playbook --check --limit {node} {CONFIG}/{DESCRIPTOR.entry}"
        )
    finally:
        restored = spike.cluster.run(
            node, "sudo sh -c 'mv /etc/os-release.orka /etc/os-release; rm /etc/redhat-release'"
        )
    assert restored.rc == 0, restored.stderr
    assert '"ansible_os_family": "RedHat"' in facts.stdout, facts.stdout[-2000:]
    document = next(line for line in reversed(play.stdout.splitlines()) if line.startswith("{"))
    tasks = host_results(json.loads(document)).get(node, [])
    assert tasks, f"the play ran nothing on {node}: {play.stdout[-2000:]}"
    failed = [(name, str(result.get("msg", ""))) for name, result in tasks if result.get("status") in FAILURES]
    assert all(any(tool in msg for tool in NO_RPM_TOOLING) for _, msg in failed), failed
    rendered = [name for name, result in tasks if result.get("status") not in FAILURES]
    assert rendered, f"no task rendered for RedHat before {failed}"
    spike.emit(f"[orka] {spike.name} RedHat check run: {len(rendered)} tasks rendered, then {failed or 'no failure'}")


def test_nodes_run_no_agent(spike: Spike) -> None:
    """Agentless: after the playbooks ran, no node holds or runs Salt or Ansible, nor the cluster's private key,
    which only the control node holds (spikes/no_agent.py)."""
    spike.ensure("orchestrate")  # and apply before it
    check_no_agent(spike)
    control = spike.cluster.host("ansible-master")
    with control.sudo():
        key = control.file("/root/.ssh/orka_cluster")
        assert key.exists
        assert key.mode == 0o600


def test_the_spike_hand_commands_work_verbatim(spike: Spike) -> None:
    """The original spike's commands, typed from vagrant/ as its notes give them
    (on a static fleet, which has no Vagrant: the same commands through `ssh -F` orka's ssh_config)."""
    ping = spike.cluster.hand_command("ansible-master", "sudo ansible all -m ping")
    assert ping.returncode == 0, ping.stdout + ping.stderr
    for node in spike.cluster.nodes:
        assert f"{node.name} | SUCCESS" in ping.stdout, ping.stdout
    playbook = spike.cluster.hand_command(
        "ansible-master", "sudo ansible-playbook /opt/orka/ansible/config/playbook.yml"
    )
    assert playbook.returncode == 0, playbook.stdout[-2000:]
    recap = playbook.stdout.split("PLAY RECAP", 1)[-1]
    for node in spike.cluster.nodes:
        line = next(line for line in recap.splitlines() if line.startswith(node.name))
        assert "failed=0" in line, line
        assert "unreachable=0" in line, line
