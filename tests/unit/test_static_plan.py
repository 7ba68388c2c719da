"""Unit tests of the static fleet's plan: the machines, the ssh_config, and the provisioning commands,
which must be the Vagrantfile's own scripts with the same arguments. Pure logic: nothing is run."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
import yaml

from orka.desired_state import RESET
from orka.fleet import Fleet
from orka.settings import Timeouts, load_settings
from orka.spec import ClusterSpec
from orka.static import STOP_ORKA_MINION, StaticCluster, fleet_machines, render_ssh_config

PROVISION = "/srv/orka/src/vagrant/provision"


@pytest.fixture
def fleet(tmp_path: Path) -> Fleet:
    key = tmp_path / "fleet_ed25519"
    key.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    key.chmod(0o600)
    other = tmp_path / "other_ed25519"
    other.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    other.chmod(0o600)
    hosts = [
        {"address": "10.0.0.21", "role": "node"},
        {"address": "10.0.0.10", "role": "salt-master"},
        {"address": "10.0.0.11", "role": "ansible-master"},
        {"address": "10.0.0.22", "role": "node", "user": "ops", "key": str(other), "port": 2222},
        {"address": "web-3.example.com", "role": "node"},
    ]
    static = {"user": "deploy", "key": str(key), "known_hosts": str(tmp_path / "known_hosts"), "hosts": hosts}
    path = tmp_path / "settings.yaml"
    path.write_text(yaml.safe_dump({"provider": "static", "static": static}))
    loaded = load_settings(path).fleet
    assert loaded is not None
    return loaded


def cluster(fleet: Fleet, methods: tuple[str, ...]) -> StaticCluster:
    spec = ClusterSpec(
        name="orka-static-unit",
        provider="static",
        image="",
        tools_image="",
        box="",
        cpus=1,
        memory_mb=1024,
        boot_timeout_s=60,
        subnet="existing hosts",
        machines=fleet_machines(fleet, methods),
        ssh_private_key=str(fleet.nodes[0].key),
        ssh_public_key="",
        repo_root="/repo",
        wheelhouse="/cache/wheelhouse/abc",
        salt_tree="/repo/spikes/salt",
        ansible_config="/repo/spikes/ansible",
        upload_dir="/state/upload",
        methods=methods,
    )
    return StaticCluster(spec, fleet, Timeouts(600, 120, 300), lambda _: None)


def test_machines_are_the_methods_masters_then_the_nodes(fleet: Fleet) -> None:
    machines = fleet_machines(fleet, ("salt", "custom"))
    assert [(m.name, m.role, m.ip, m.primary) for m in machines] == [
        ("orka-master", "salt-master", "10.0.0.10", False),
        ("orka-node-1", "node", "10.0.0.21", True),
        ("orka-node-2", "node", "10.0.0.22", False),
        ("orka-node-3", "node", "web-3.example.com", False),
    ]


def test_ssh_config_logs_in_as_the_settings_say_and_accepts_new_host_keys_only(fleet: Fleet) -> None:
    config = render_ssh_config(fleet, fleet_machines(fleet, ("custom",)))
    blocks = {block.split("\n", 1)[0]: block for block in config.split("\n\n")}
    assert set(blocks) == {"Host orka-node-1", "Host orka-node-2", "Host orka-node-3"}
    node_2 = blocks["Host orka-node-2"]
    for line in ("HostName 10.0.0.22", "User ops", "Port 2222", "IdentitiesOnly yes", "BatchMode yes"):
        assert f"  {line}\n" in node_2
    assert f'IdentityFile "{fleet.nodes[1].key}"' in node_2
    assert "StrictHostKeyChecking accept-new" in node_2
    assert f'UserKnownHostsFile "{fleet.known_hosts}"' in node_2


def test_provisioning_runs_the_vagrantfiles_scripts_with_its_arguments(fleet: Fleet) -> None:
    static = cluster(fleet, ("salt", "ansible"))
    hosts = [
        "10.0.0.10=orka-master",
        "10.0.0.11=ansible-master",
        "10.0.0.21=orka-node-1",
        "10.0.0.22=orka-node-2",
        "web-3.example.com=orka-node-3",
    ]
    by_name = {m.name: m for m in static.machines}
    master = [shlex.split(c) for c in static.scripts(by_name["orka-master"])]
    # An empty public key: the fleet's own logins are left as they are.
    assert master[0] == ["bash", f"{PROVISION}/common.sh", "orka-master", "", *hosts]
    assert master[1][:2] == ["bash", f"{PROVISION}/salt-master.sh"]
    assert json.loads(master[1][2]) == {
        "method": "salt",
        "cluster_size": 3,
        "primary": "orka-node-1",
        "nodes": ["orka-node-1", "orka-node-2", "orka-node-3"],
    }
    minion = [shlex.split(c) for c in static.scripts(by_name["orka-node-2"])]
    # A node is first taken back to fresh (no host is remade between methods); a master is not.
    assert minion[0] == ["bash", "-ec", RESET]
    assert not any(RESET in c for m in ("orka-master", "ansible-master") for c in static.scripts(by_name[m]))
    assert minion[1][:3] == ["bash", f"{PROVISION}/common.sh", "orka-node-2"]
    assert minion[2] == ["bash", f"{PROVISION}/salt-minion.sh", "orka-node-2", "orka-master"]
    control = static.scripts(by_name["ansible-master"])
    assert shlex.split(control[1]) == [
        "bash",
        f"{PROVISION}/ansible-master.sh",
        "orka-node-1",
        "orka-node-2",
        "orka-node-3",
    ]
    # Each node's own login for Ansible; two distinct keys, one file each on the control node.
    assert (
        "ansible_user: ops\nansible_port: 2222\nansible_ssh_private_key_file: /root/.ssh/orka_fleet/key-2"
        in (shlex.split(control[2].split(" && ")[3])[2])
    )
    assert set(static.fleet_keys().values()) == {"key-1", "key-2"}


def test_what_each_machine_gets_copied(fleet: Fleet) -> None:
    static = cluster(fleet, ("salt", "ansible"))
    by_name = {m.name: m for m in static.machines}
    master = static.payload(by_name["orka-master"], wheelhouse_mark="")
    assert dict((r, str(p)) for p, r in master.folders)["/srv/salt"] == "/repo/spikes/salt"
    assert master.wheelhouse == Path("/cache/wheelhouse/abc")
    # A host that holds this wheelhouse already is not sent it again.
    assert static.payload(by_name["orka-master"], wheelhouse_mark="abc").wheelhouse is None
    control = static.payload(by_name["ansible-master"], wheelhouse_mark="")
    assert "/opt/orka/ansible/config" in control.remote_paths
    assert sorted(r for _, r in control.extra_files) == ["/root/.ssh/orka_fleet/key-1", "/root/.ssh/orka_fleet/key-2"]
    # Without salt a node installs no tools: it gets the scripts only.
    custom = cluster(fleet, ("custom",))
    plain = custom.payload(next(m for m in custom.machines if m.name == "orka-node-1"), wheelhouse_mark="")
    assert plain.wheelhouse is None
    assert plain.remote_paths == ["/srv/orka/src/vagrant/provision"]


@pytest.mark.parametrize("methods", [("ansible",), ("custom",), ("ansible", "custom")])
def test_a_method_without_salt_stops_the_minion_orka_installed(fleet: Fleet, methods: tuple[str, ...]) -> None:
    """Salt stays installed on a fleet after the salt method: while another method runs, its minion is off."""
    static = cluster(fleet, methods)
    for node in static.nodes:
        assert not node.tools
        scripts = static.scripts(node)
        assert scripts[-1] == STOP_ORKA_MINION
        assert not any("salt-minion.sh" in c for c in scripts)
    # Only the minion orka's salt-minion.sh installed, by its unit's words.
    assert "grep -qs 'installed by orka' /etc/systemd/system/salt-minion.service" in STOP_ORKA_MINION
    assert "systemctl disable --now" in STOP_ORKA_MINION
    assert not any(STOP_ORKA_MINION in c for m in static.masters for c in static.scripts(m))


def test_with_salt_the_minion_is_started_not_stopped(fleet: Fleet) -> None:
    static = cluster(fleet, ("salt", "custom"))
    for node in static.nodes:
        assert node.tools
        scripts = static.scripts(node)
        assert STOP_ORKA_MINION not in scripts
        assert shlex.split(scripts[-1])[:2] == ["bash", f"{PROVISION}/salt-minion.sh"]
