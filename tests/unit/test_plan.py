"""Unit tests of orka.plan: from settings to the plan of machines, names, addresses, and what each machine
gets and runs at provisioning, the same for the Vagrant providers and for an existing fleet. Nothing is run."""

from __future__ import annotations

import ipaddress
import json
import shlex
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from orka import methods
from orka.config import REPO_ROOT
from orka.config.fleet import Fleet
from orka.config.platforms import platform
from orka.config.scenario import load_scenario
from orka.config.settings import DEFAULT_BOX, DEFAULT_SETTINGS_PATH, Settings, Timeouts, load_settings
from orka.errors import ClusterError
from orka.plan import layout, state
from orka.plan.build import build_plan, environment, masters_of, needs_tools
from orka.plan.keys import ensure_ssh_keypair
from orka.plan.layout import cluster_name_for, cluster_slot, cluster_subnet, node_names
from orka.plan.spec import ClusterSpec, MachineSpec
from orka.providers.box import ORKA_BOX
from orka.providers.docker import DockerProvider
from orka.providers.libvirt import LibvirtProvider
from orka.providers.static import StaticCluster
from orka.providers.vagrant import VagrantProvider
from orka.providers.virtualbox import VirtualBoxProvider

PROVISION = layout.REMOTE_PROVISION
SALT = layout.remote_method_dir("salt")
ANSIBLE = layout.remote_method_dir("ansible")
Plan = Callable[..., ClusterSpec]


@pytest.fixture
def plan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Plan:
    """build_plan on the repo's settings (all three methods unless told), state under tmp_path."""
    monkeypatch.setattr(state, "STATE_ROOT", tmp_path / ".orka")

    def make(
        name: str = "orka",
        provider: str = "docker",
        fleet: Fleet | None = None,
        guest: str = "",
        **overrides: object,
    ) -> ClusterSpec:
        settings = load_settings(DEFAULT_SETTINGS_PATH, {"methods": ["salt", "ansible", "custom"], **overrides})
        private, public = ensure_ssh_keypair(state.ClusterPaths.for_name(name).state_dir, comment="test")
        return build_plan(
            settings,
            name=name,
            provider=provider,
            ssh_private_key=Path(fleet.nodes[0].key) if fleet else private,
            ssh_public_key=None if fleet else public,
            wheelhouse=tmp_path / "cache" / "wheelhouse" / "abc",
            image="orka-node:0123456789ab",
            tools_image="orka-node-tools:0123456789ab",
            guest=guest,
            fleet=fleet,
        )

    return make


def fleet_of(tmp_path: Path, methods_: list[str]) -> tuple[Settings, Fleet]:
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
    path = tmp_path / "fleet.yaml"
    path.write_text(yaml.safe_dump({"provider": "static", "methods": methods_, "static": static}))
    settings = load_settings(path)
    assert settings.fleet is not None
    return settings, settings.fleet


def by_name(spec: ClusterSpec) -> dict[str, MachineSpec]:
    return {m.name: m for m in spec.machines}


def split(machine: MachineSpec) -> list[list[str]]:
    return [shlex.split(command) for command in machine.commands]


# -- names and slots ----------------------------------------------------------


@pytest.mark.parametrize(
    ("worker_id", "expected"),
    [(None, "orka"), ("master", "orka"), ("", "orka"), ("gw0", "orka-gw0"), ("gw2", "orka-gw2")],
)
def test_cluster_name_for(worker_id: str | None, expected: str) -> None:
    assert cluster_name_for(worker_id) == expected


@pytest.mark.parametrize(
    ("name", "slot"),
    [("orka", 0), ("orka-gw0", 1), ("orka-gw1", 2), ("orka-gw5", 6), ("orka-gw41", 42)],
)
def test_cluster_slot_of_default_and_workers(name: str, slot: int) -> None:
    assert cluster_slot(name) == slot


@pytest.mark.parametrize("name", ["fleet", "orka-scale", "someone-else", "orka-gw999"])
def test_cluster_slot_of_other_names_is_stable_and_clear_of_workers(name: str) -> None:
    assert cluster_slot(name) == cluster_slot(name)
    assert 128 <= cluster_slot(name) < 256


def test_cluster_subnet_picks_the_slot_th_24() -> None:
    assert cluster_subnet("10.87.0.0/16", 0) == ipaddress.IPv4Network("10.87.0.0/24")
    assert cluster_subnet("10.87.0.0/16", 3) == ipaddress.IPv4Network("10.87.3.0/24")


@pytest.mark.parametrize(("subnet", "slot"), [("10.9.9.0/24", 1), ("10.9.0.0/23", 2)])
def test_cluster_subnet_without_room_is_refused(subnet: str, slot: int) -> None:
    with pytest.raises(ClusterError, match="give a larger network"):
        cluster_subnet(subnet, slot)


def test_node_names() -> None:
    assert node_names(3) == ["orka-node-1", "orka-node-2", "orka-node-3"]
    assert node_names(0) == []
    assert node_names(100)[-1] == "orka-node-100"


# -- the machines ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("selected", "expected"),
    [
        (("custom",), []),
        (("salt",), [("orka-master", "salt-master", 10)]),
        (("ansible", "custom"), [("ansible-master", "ansible-master", 11)]),
        (("custom", "ansible", "salt"), [("orka-master", "salt-master", 10), ("ansible-master", "ansible-master", 11)]),
    ],
)
def test_masters_come_from_the_selected_methods_descriptors(
    selected: tuple[str, ...], expected: list[tuple[str, str, int]]
) -> None:
    found = masters_of(selected)
    assert [(name, role, part) for _, name, role, part in found] == expected
    assert all(d.name in selected for d, _, _, _ in found)


def test_all_methods_a_master_each_then_the_nodes_on_the_clusters_24(plan: Plan) -> None:
    spec = plan("orka-gw2", cluster=4)
    assert [(m.name, m.role, m.ip) for m in spec.machines] == [
        ("orka-master", "salt-master", "10.87.3.10"),
        ("ansible-master", "ansible-master", "10.87.3.11"),
        *((f"orka-node-{i}", "node", f"10.87.3.{20 + i}") for i in range(1, 5)),
    ]
    assert spec.subnet == "10.87.3.0/24"
    assert [m.name for m in spec.machines if m.primary] == ["orka-node-1"]


def test_two_clusters_get_disjoint_subnets(plan: Plan) -> None:
    first, second = plan("orka"), plan("orka-gw0")
    assert not ipaddress.IPv4Network(first.subnet).overlaps(ipaddress.IPv4Network(second.subnet))
    assert {first.container_name(m.name) for m in first.machines}.isdisjoint(
        second.container_name(m.name) for m in second.machines
    )


@pytest.mark.parametrize(
    ("selected", "tools"),
    [
        # The masters install their tool; the nodes only as Salt minions.
        (["salt"], {"orka-master": True, "orka-node-1": True}),
        (["ansible"], {"ansible-master": True, "orka-node-1": False}),
        (["custom"], {"orka-node-1": False, "orka-node-3": False}),
        (["custom", "salt"], {"orka-master": True, "orka-node-2": True}),
    ],
)
def test_the_tools_and_their_image_only_where_they_are_installed(
    plan: Plan, selected: list[str], tools: dict[str, bool]
) -> None:
    spec = plan(methods=selected)
    machines = by_name(spec)
    assert {name: machines[name].tools for name in tools} == tools
    for machine in spec.machines:
        assert machine.tools == needs_tools(machine.role, spec.methods)
        assert machine.image == ("orka-node-tools:0123456789ab" if machine.tools else "orka-node:0123456789ab")
        has_wheels = any(f.guest == layout.REMOTE_WHEELHOUSE for f in machine.folders)
        assert has_wheels == machine.tools


def test_a_24_subnet_has_no_room_for_a_worker_cluster(plan: Plan) -> None:
    with pytest.raises(ClusterError, match=r"network\.subnet"):
        plan("orka-gw0", **{"network.subnet": "10.9.9.0/24"})


# -- what each machine runs --------------------------------------------------------


def test_every_machine_sets_the_scripts_environment_then_runs_common_sh(plan: Plan) -> None:
    spec = plan()
    hosts = [f"{m.ip}={m.name}" for m in spec.machines]
    public = Path(spec.ssh_public_key).read_text().strip()
    for machine in spec.machines:
        assert machine.commands[0] == environment(platform("debian-12"))
        assert split(machine)[1] == ["bash", f"{PROVISION}/common.sh", machine.name, public, *hosts]
    assert "ORKA_UPLOAD=/tmp/orka-upload" in machine.commands[0]
    assert "ORKA_PYTHON=python3" in machine.commands[0].split()


def test_the_tools_python_is_the_platforms(plan: Plan) -> None:
    """A RedHat 9's python3 is 3.9: its tools' venv is made with python3.11 from AppStream."""
    for name, python in (("centos-stream-9", "python3.11"), ("rocky-9", "python3.11"), ("debian-13", "python3")):
        spec = plan(provider="libvirt" if name != "debian-13" else "docker", platforms=[name])
        assert all(f"ORKA_PYTHON={python}" in m.commands[0].split() for m in spec.machines), name


def test_each_method_runs_its_own_scripts_from_its_folder(plan: Plan) -> None:
    machines = by_name(plan())
    (master,) = [c[2:] for c in split(machines["orka-master"]) if c[:2] == ["bash", f"{SALT}/salt-master.sh"]]
    pillar, variables, top = master
    assert json.loads(variables) == {}  # the example's scenario.yaml has no vars
    assert json.loads(top) == {"base": {"*": ["orka", "orka_vars"]}}  # nor a pillar of its own
    assert json.loads(pillar) == {
        "method": "salt",
        "cluster_size": 3,
        "primary": "orka-node-1",
        "nodes": ["orka-node-1", "orka-node-2", "orka-node-3"],
    }
    assert split(machines["orka-node-2"])[-1] == ["bash", f"{SALT}/salt-minion.sh", "orka-node-2", "orka-master"]
    assert split(machines["ansible-master"])[-1] == [
        "bash",
        f"{ANSIBLE}/ansible-master.sh",
        "/opt/orka/ansible/config",
        "{}",
        "orka-node-1",
        "orka-node-2",
        "orka-node-3",
    ]
    folders = {f.guest: f.host for f in machines["orka-master"].folders}
    assert folders["/srv/salt"].endswith("spikes/example/salt")
    assert folders[SALT].endswith("orka/methods/salt/scripts")


def test_each_machine_gets_only_its_own_keys_root_only(plan: Plan) -> None:
    machines = by_name(plan(methods=["salt", "ansible"]))
    master = Path(machines["orka-master"].upload)
    assert sorted(p.relative_to(master).as_posix() for p in master.rglob("*") if p.is_file()) == [
        "salt/master.pem",
        "salt/master.pub",
        *(f"salt/minions/orka-node-{i}.pub" for i in range(1, 4)),
    ]
    node = Path(machines["orka-node-1"].upload)
    assert sorted(p.name for p in node.rglob("*") if p.is_file()) == ["master.pub", "minion.pem", "minion.pub"]
    control = Path(machines["ansible-master"].upload)
    assert [p.relative_to(control).as_posix() for p in control.rglob("*") if p.is_file()] == ["ssh/id_ed25519"]
    for folder in (master, node, control):
        for path in [folder, *folder.rglob("*")]:
            assert stat.S_IMODE(path.stat().st_mode) == (0o700 if path.is_dir() else 0o600), path


def test_a_node_of_a_cluster_without_an_agent_gets_nothing_of_one(plan: Plan) -> None:
    for node in plan(methods=["ansible", "custom"]).nodes:
        assert node.upload == ""
        assert [f.guest for f in node.folders] == [PROVISION]
        assert len(node.commands) == 2  # the environment, common.sh


# -- the same plan on an existing fleet ------------------------------------------------


def test_an_existing_fleet_runs_the_same_plan_as_orkas_own_machines(plan: Plan, tmp_path: Path) -> None:
    """One plan builder for every provider: a fleet's machines run the same method scripts with the same
    arguments; what differs is the fleet's own (its logins kept, its nodes reset first, its keys for Ansible)."""
    _, fleet = fleet_of(tmp_path, ["salt", "ansible"])
    made = by_name(plan(methods=["salt", "ansible"]))
    existing = by_name(plan("fleet", provider="static", fleet=fleet, methods=["salt", "ansible"]))
    assert list(made) == list(existing)
    for name, machine in existing.items():
        own = made[name]
        assert machine.commands[0] == own.commands[0] == environment(platform("debian-12"))
        common = split(machine)[2 if machine.role == "node" else 1]
        assert common[:3] == ["bash", f"{PROVISION}/common.sh", name]
        assert common[3] == "", "an existing fleet's logins stay as the team made them"
        method_scripts = [c for c in split(machine) if c[:1] == ["bash"] and c[1].startswith(layout.REMOTE_METHODS)]
        own_scripts = [c for c in split(own) if c[:1] == ["bash"] and c[1].startswith(layout.REMOTE_METHODS)]
        assert [c[:2] for c in method_scripts] == [c[:2] for c in own_scripts]
        assert [f.guest for f in machine.folders] == [f.guest for f in own.folders]
    # A node is first taken back to fresh (no existing host is remade between methods); a master is not.
    reset = load_scenario(REPO_ROOT / "spikes" / "example")[0].leaves.reset  # type: ignore[union-attr]
    assert split(existing["orka-node-2"])[1] == ["bash", "-ec", reset]
    assert not any(reset in c for c in existing["orka-master"].commands + existing["ansible-master"].commands)
    assert existing["orka-node-2"].ip == "10.0.0.22"
    assert (existing["orka-node-2"].user, existing["orka-node-2"].port) == ("ops", 2222)
    # Each node's own login for Ansible; two distinct keys, one file each on the control node.
    control = existing["ansible-master"]
    assert (
        "ansible_user: ops\nansible_port: 2222\nansible_ssh_private_key_file: /root/.ssh/orka_fleet/key-2"
        in (control.commands[2])
    )
    keys = Path(control.upload) / "fleet-keys"
    assert sorted(p.name for p in keys.iterdir()) == ["key-1", "key-2"]


@pytest.mark.parametrize("selected", [["ansible"], ["custom"], ["ansible", "custom"]])
def test_on_a_fleet_a_method_without_salt_makes_the_minion_orka_left_inert(
    plan: Plan, tmp_path: Path, selected: list[str]
) -> None:
    inert = methods.descriptor("salt").inert_on_hosts
    assert "grep -qs 'installed by orka' /etc/systemd/system/salt-minion.service" in inert
    _, fleet = fleet_of(tmp_path, selected)
    spec = plan("fleet", provider="static", fleet=fleet, methods=selected)
    for node in spec.nodes:
        assert not node.tools
        assert node.commands[-1] == inert
    assert not any(inert in c for m in spec.masters for c in m.commands)
    assert not any(inert in c for m in plan(methods=selected).machines for c in m.commands), "not on orka's own"


def test_a_fleets_ssh_config_logs_in_as_the_settings_say_and_accepts_new_host_keys_only(
    plan: Plan, tmp_path: Path
) -> None:
    _, fleet = fleet_of(tmp_path, ["custom"])
    spec = plan("fleet", provider="static", fleet=fleet, methods=["custom"])
    cluster = StaticCluster(spec, Timeouts(600, 120, 300), lambda _: None)
    cluster.paths.state_dir.mkdir(parents=True, exist_ok=True)
    cluster.write_ssh_config()
    blocks = {b.split("\n", 1)[0]: b for b in cluster.paths.ssh_config.read_text().split("\n\n")}
    # One block per host, then the one every host shares: a master connection each (ControlMaster).
    assert set(blocks) == {"Host orka-node-1", "Host orka-node-2", "Host orka-node-3", "Host *"}
    assert f"ControlPath {cluster.paths.ssh_sockets}/%C" in blocks["Host *"]
    node_2 = blocks["Host orka-node-2"]
    for line in ("HostName 10.0.0.22", "User ops", "Port 2222", "IdentitiesOnly yes", "BatchMode yes"):
        assert f"  {line}\n" in node_2
    assert f"IdentityFile {fleet.nodes[1].key}" in node_2
    assert "StrictHostKeyChecking accept-new" in node_2
    assert f"UserKnownHostsFile {fleet.known_hosts}" in node_2
    # A host that holds this wheelhouse already is not sent it again.
    salt_spec = plan("fleet2", provider="static", fleet=fleet, methods=["salt"])
    static = StaticCluster(salt_spec, Timeouts(600, 120, 300), lambda _: None)
    master = salt_spec.machine("orka-master")
    assert static.payload(master, wheelhouse_mark="").wheelhouse == tmp_path / "cache" / "wheelhouse" / "abc"
    assert static.payload(master, wheelhouse_mark="abc").wheelhouse is None


# -- ClusterSpec --------------------------------------------------------------


@pytest.mark.parametrize("selected", [["custom"], ["salt", "ansible", "custom"]])
def test_the_plan_round_trips_through_json(plan: Plan, selected: list[str]) -> None:
    spec = plan("orka-gw1", cluster=4, methods=selected)
    back = ClusterSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert back == spec
    assert isinstance(back.machines[0].folders, tuple)
    assert back.nodes == spec.nodes


@pytest.mark.parametrize(
    ("provider", "box", "expected"),
    [
        (DockerProvider(), DEFAULT_BOX, "linux"),
        (LibvirtProvider(), ORKA_BOX, "debian"),
        (LibvirtProvider(), "centos/stream9", ""),
        (VirtualBoxProvider(), "debian/bookworm64", ""),
    ],
)
def test_a_guest_type_is_planned_only_where_the_provider_knows_the_system(
    plan: Plan, provider: VagrantProvider, box: str, expected: str
) -> None:
    # Docker nodes are Linux whatever the image, orka's own box is Debian; any other box is detected.
    settings = load_settings(DEFAULT_SETTINGS_PATH, {"methods": ["custom"], "box": box})
    assert provider.guest(settings) == expected
    # The Vagrantfile reads it from the plan's JSON; "" leaves detection to Vagrant.
    assert plan(guest=expected).to_dict()["guest"] == expected
