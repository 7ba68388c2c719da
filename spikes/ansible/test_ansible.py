"""The Ansible spike, run as the original spike ran it: on ansible-master, agentless.

ansible all -m ping
ansible-playbook /opt/orka/ansible/config/playbook.yml
ansible-playbook /opt/orka/ansible/config/orchestrate.yml
"""

from __future__ import annotations

import pytest

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
