"""The Salt spike, run as the original spike ran it: on orka-master.

salt '*' test.ping
salt '*' state.apply
salt-run state.orchestrate orch.secondary
"""

from __future__ import annotations

import json
import re

import pytest

from orka.runner import Host, Inventory, parse_taskfile, run_taskfile
from orka.spike import Spike
from spikes.phases import check_node, check_phase

pytestmark = [pytest.mark.salt, pytest.mark.xdist_group("salt")]


@pytest.mark.phase("up")
def test_every_node_fresh_and_ready(spike: Spike) -> None:
    check_phase(spike, "up")


@pytest.mark.phase("up")
def test_up(spike: Spike, node: str) -> None:
    check_node(spike, "up", node)


@pytest.mark.phase("ping")
def test_ping_every_minion_answers(spike: Spike) -> None:
    check_phase(spike, "ping")


@pytest.mark.phase("ping")
def test_ping(spike: Spike, node: str) -> None:
    check_node(spike, "ping", node)


@pytest.mark.phase("apply")
def test_highstate_converges(spike: Spike) -> None:
    check_phase(spike, "apply")


@pytest.mark.phase("apply")
def test_apply(spike: Spike, node: str) -> None:
    check_node(spike, "apply", node)


@pytest.mark.phase("idempotence")
def test_second_highstate_changes_nothing(spike: Spike) -> None:
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


def test_states_render_for_the_redhat_family(spike: Spike) -> None:
    """No CentOS node can be had here: render the scenario's highstate with a RedHat os_family instead."""
    config = "/tmp/orka-redhat"
    command = (
        f"sudo mkdir -p {config} && printf '%s\\n' 'file_client: local' 'id: {spike.cluster.nodes[-1].name}' "
        "'file_roots: {base: [/srv/salt]}' 'pillar_roots: {base: [/srv/pillar, /srv/salt/pillar]}' "
        "'grains: {os_family: RedHat, os: CentOS Stream, osmajorrelease: 9}' "
        "'gpg_keydir: /etc/salt/gpgkeys' "  # a GPG-encrypted pillar is decrypted with the master's key
        f"| sudo tee {config}/minion >/dev/null && "
        f"sudo salt-call --local --config-dir={config} state.show_highstate --out=json"
    )
    result = spike.cluster.run("orka-master", command)
    assert result.rc == 0, result.stdout[-2000:] + result.stderr[-2000:]
    rendered = json.loads(result.stdout)["local"]
    assert isinstance(rendered, dict), f"the highstate did not render for RedHat: {rendered}"
    assert rendered, "the highstate rendered for RedHat holds no state"


def test_the_spike_hand_commands_work_verbatim(spike: Spike) -> None:
    """The original spike's commands, typed from vagrant/ as its notes give them (the orchestration the
    scenario's own; on a static fleet, which has no Vagrant: the same commands through `ssh -F` orka's ssh_config)."""
    master = "orka-master"
    ping = spike.cluster.hand_command(master, "sudo salt '*' test.ping")
    assert ping.returncode == 0, ping.stderr
    for node in spike.cluster.nodes:
        assert f"{node.name}:\n    True" in ping.stdout, ping.stdout
    highstate = spike.cluster.hand_command(master, "sudo salt '*' state.apply")
    assert highstate.returncode == 0, highstate.stdout[-2000:]
    assert len(re.findall(r"^Failed:\s+0$", highstate.stdout, re.M)) == len(spike.cluster.nodes), highstate.stdout[
        -2000:
    ]
    if spike.scenario.orchestration_of("salt"):
        orchestrate = spike.cluster.hand_command(
            master, f"sudo salt-run state.orchestrate {spike.method.orchestration}"
        )
        assert orchestrate.returncode == 0, orchestrate.stdout[-2000:]


def test_the_task_runner_drives_a_highstate_through_the_master(spike: Spike) -> None:
    """One tool for a plan: orka's runner asks orka-master for a highstate of every minion."""
    spike.ensure("apply")
    master = Host("orka-master", ssh_config=str(spike.cluster.paths.ssh_config))
    taskfile = parse_taskfile("tasks: [{name: highstate, salt: {target: '*', function: state.apply}}]")
    report = run_taskfile(Inventory((master,)), taskfile, timeout=spike.method.timeout_s)
    (run,) = report.runs()
    assert run.ok, run.error or run.failed
    assert run.results[0].msg == f"{len(spike.cluster.nodes)} minions, 0 changes"
    assert run.changed == [], "the cluster is converged: a highstate through the runner changes nothing"
