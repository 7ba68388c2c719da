"""Unit tests of orka.spec: from settings to the plan of machines, names and addresses."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pytest

from orka.errors import ClusterError
from orka.settings import DEFAULT_SETTINGS_PATH, load_settings
from orka.spec import (
    ClusterSpec,
    build_spec,
    cluster_name_for,
    cluster_slot,
    cluster_subnet,
    master_machines,
    needs_tools,
    node_names,
)


def make_spec(
    tmp_path: Path,
    name: str = "orka",
    overrides: dict[str, object] | None = None,
) -> ClusterSpec:
    """A plan from the repo's default settings file (all three methods unless overridden), paths in tmp_path."""
    settings = load_settings(DEFAULT_SETTINGS_PATH, {"methods": ["salt", "ansible", "custom"], **(overrides or {})})
    keys = tmp_path / ".orka" / "clusters" / name
    return build_spec(
        settings,
        name=name,
        provider="docker",
        image="orka-node:0123456789ab",
        tools_image="orka-node-tools:0123456789ab",
        ssh_private_key=keys / "id_ed25519",
        ssh_public_key=keys / "id_ed25519.pub",
        repo_root=tmp_path,
        wheelhouse=tmp_path / ".orka" / "wheelhouse" / "abc",
        upload_dir=Path("/nonexistent/upload"),
    )


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


@pytest.mark.parametrize("name", ["demo", "orka-demo", "orka-gw", "orka-gwx", "orka-gw1-extra", "ci-42"])
def test_cluster_slot_of_other_names_is_stable_and_clear_of_workers(name: str) -> None:
    slot = cluster_slot(name)
    assert 128 <= slot <= 255
    assert cluster_slot(name) == slot


def test_cluster_slot_differs_between_some_named_clusters() -> None:
    # Not a constant: named clusters are spread over the upper slots.
    slots = {cluster_slot(f"named-{i}") for i in range(20)}
    assert len(slots) > 1


def test_cluster_subnet_picks_the_slot_th_24() -> None:
    assert cluster_subnet("10.87.0.0/16", 0) == ipaddress.IPv4Network("10.87.0.0/24")
    assert cluster_subnet("10.87.0.0/16", 3) == ipaddress.IPv4Network("10.87.3.0/24")
    assert cluster_subnet("10.87.0.0/16", 255) == ipaddress.IPv4Network("10.87.255.0/24")
    assert cluster_subnet("192.168.16.0/20", 2) == ipaddress.IPv4Network("192.168.18.0/24")


def test_cluster_subnet_of_a_24_is_the_network_itself() -> None:
    assert cluster_subnet("10.87.5.0/24", 0) == ipaddress.IPv4Network("10.87.5.0/24")


@pytest.mark.parametrize(("subnet", "slot"), [("10.87.5.0/24", 1), ("10.87.0.0/16", 256), ("10.87.0.0/22", 4)])
def test_cluster_subnet_without_room_is_refused(subnet: str, slot: int) -> None:
    with pytest.raises(ClusterError) as info:
        cluster_subnet(subnet, slot)
    message = str(info.value)
    assert "network.subnet" in message
    assert subnet in message
    assert "larger network" in message
    assert str(slot) in message


def test_two_clusters_get_disjoint_subnets(tmp_path: Path) -> None:
    first = make_spec(tmp_path, "orka")
    second = make_spec(tmp_path, "orka-gw0")
    first_net = ipaddress.IPv4Network(first.subnet)
    second_net = ipaddress.IPv4Network(second.subnet)
    assert not first_net.overlaps(second_net)
    assert {m.ip for m in first.machines}.isdisjoint(m.ip for m in second.machines)


def test_node_names() -> None:
    assert node_names(3) == ["orka-node-1", "orka-node-2", "orka-node-3"]
    assert node_names(1) == ["orka-node-1"]
    assert node_names(0) == []
    assert node_names(100)[-1] == "orka-node-100"
    assert len(set(node_names(100))) == 100


@pytest.mark.parametrize(
    ("methods", "expected"),
    [
        (("custom",), []),
        (("salt",), [("orka-master", "salt-master")]),
        (("ansible",), [("ansible-master", "ansible-master")]),
        (("salt", "custom"), [("orka-master", "salt-master")]),
        (("ansible", "custom"), [("ansible-master", "ansible-master")]),
        (("salt", "ansible", "custom"), [("orka-master", "salt-master"), ("ansible-master", "ansible-master")]),
    ],
)
def test_master_machines_only_for_selected_methods(methods: tuple[str, ...], expected: list[tuple[str, str]]) -> None:
    assert master_machines(methods) == expected


# -- build_spec ---------------------------------------------------------------


def test_build_spec_custom_only_has_just_the_nodes(tmp_path: Path) -> None:
    spec = make_spec(tmp_path, overrides={"cluster": 5, "methods": ["custom"]})
    assert [m.name for m in spec.machines] == [f"orka-node-{i}" for i in range(1, 6)]
    assert {m.role for m in spec.machines} == {"node"}
    assert spec.masters == ()
    assert spec.nodes == spec.machines
    assert spec.methods == ("custom",)
    assert spec.name == "orka"
    assert spec.subnet == "10.87.0.0/24"
    assert [m.ip for m in spec.machines] == [f"10.87.0.{host}" for host in range(21, 26)]


def test_build_spec_all_methods(tmp_path: Path) -> None:
    spec = make_spec(tmp_path, name="orka-gw2", overrides={"cluster": 4})
    by_name = {m.name: m for m in spec.machines}
    assert list(by_name) == [
        "orka-master",
        "ansible-master",
        "orka-node-1",
        "orka-node-2",
        "orka-node-3",
        "orka-node-4",
    ]
    assert by_name["orka-master"].role == "salt-master"
    assert by_name["ansible-master"].role == "ansible-master"
    assert all(by_name[n].role == "node" for n in node_names(4))
    # orka-gw2 is slot 3.
    assert spec.subnet == "10.87.3.0/24"
    assert by_name["orka-master"].ip == "10.87.3.10"
    assert by_name["ansible-master"].ip == "10.87.3.11"
    assert [by_name[n].ip for n in node_names(4)] == ["10.87.3.21", "10.87.3.22", "10.87.3.23", "10.87.3.24"]
    assert [m.name for m in spec.masters] == ["orka-master", "ansible-master"]
    assert [m.name for m in spec.nodes] == node_names(4)


@pytest.mark.parametrize(
    ("methods", "masters"),
    [(["salt"], ["orka-master"]), (["ansible"], ["ansible-master"]), (["custom", "salt"], ["orka-master"])],
)
def test_build_spec_masters_follow_methods(tmp_path: Path, methods: list[str], masters: list[str]) -> None:
    spec = make_spec(tmp_path, overrides={"cluster": 3, "methods": methods})
    assert [m.name for m in spec.masters] == masters
    assert spec.methods == tuple(methods)


@pytest.mark.parametrize(
    ("methods", "tools"),
    [
        # The masters install their tool; the nodes only as Salt minions.
        (["salt"], {"orka-master": True, "orka-node-1": True, "orka-node-3": True}),
        (["ansible"], {"ansible-master": True, "orka-node-1": False, "orka-node-3": False}),
        (["custom"], {"orka-node-1": False, "orka-node-2": False, "orka-node-3": False}),
        (["ansible", "custom"], {"ansible-master": True, "orka-node-2": False}),
        (["custom", "salt"], {"orka-master": True, "orka-node-2": True}),
        (["salt", "ansible", "custom"], {"orka-master": True, "ansible-master": True, "orka-node-1": True}),
    ],
)
def test_build_spec_gives_the_tools_only_to_machines_that_install_them(
    tmp_path: Path, methods: list[str], tools: dict[str, bool]
) -> None:
    spec = make_spec(tmp_path, overrides={"cluster": 3, "methods": methods})
    by_name = {m.name: m for m in spec.machines}
    assert {name: by_name[name].tools for name in tools} == tools
    for machine in spec.machines:
        assert machine.tools == needs_tools(machine.role, spec.methods)


@pytest.mark.parametrize("name", ["orka", "orka-gw0", "orka-gw9", "someone-else"])
@pytest.mark.parametrize("size", [3, 5, 100])
def test_build_spec_addresses_are_distinct_and_inside_the_cluster_24(tmp_path: Path, name: str, size: int) -> None:
    spec = make_spec(tmp_path, name=name, overrides={"cluster": size})
    net = ipaddress.IPv4Network(spec.subnet)
    assert net.prefixlen == 24
    assert net == cluster_subnet("10.87.0.0/16", cluster_slot(name))
    ips = [ipaddress.IPv4Address(m.ip) for m in spec.machines]
    assert len(set(ips)) == len(ips) == size + 2
    for ip in ips:
        assert ip in net
        assert ip not in (net.network_address, net.broadcast_address)


def test_build_spec_only_the_first_node_is_primary(tmp_path: Path) -> None:
    spec = make_spec(tmp_path, overrides={"cluster": 5})
    assert [m.name for m in spec.machines if m.primary] == ["orka-node-1"]


def test_build_spec_copies_settings_and_paths(tmp_path: Path) -> None:
    spec = make_spec(tmp_path, overrides={"cluster": 3})
    assert spec.provider == "docker"
    assert spec.image == "orka-node:0123456789ab"
    assert spec.tools_image == "orka-node-tools:0123456789ab"
    assert spec.box == "centos/stream9"
    assert spec.cpus == 1
    assert spec.memory_mb == 1024
    assert spec.repo_root == str(tmp_path)
    assert spec.ssh_private_key == str(tmp_path / ".orka" / "clusters" / "orka" / "id_ed25519")
    assert spec.ssh_public_key == str(tmp_path / ".orka" / "clusters" / "orka" / "id_ed25519.pub")


def test_build_spec_stores_the_wheelhouse_host_folder(tmp_path: Path) -> None:
    spec = make_spec(tmp_path)
    assert spec.wheelhouse == str(tmp_path / ".orka" / "wheelhouse" / "abc")


def test_build_spec_accepts_a_wheelhouse_outside_the_repo(tmp_path: Path) -> None:
    # The wheelhouse lives in a cache shared by every checkout (ORKA_CACHE, ~/.cache/orka).
    repo = tmp_path / "repo"
    cache = tmp_path / "cache" / "wheelhouse" / "0123456789ab"
    spec = build_spec(
        load_settings(DEFAULT_SETTINGS_PATH),
        name="orka",
        provider="docker",
        image="",
        tools_image="",
        ssh_private_key=repo / "k",
        ssh_public_key=repo / "k.pub",
        repo_root=repo,
        wheelhouse=cache,
        upload_dir=Path("/nonexistent/upload"),
    )
    assert spec.wheelhouse == str(cache)
    assert spec.repo_root == str(repo)


def test_build_spec_with_a_24_subnet_refuses_a_worker_cluster(tmp_path: Path) -> None:
    settings = load_settings(DEFAULT_SETTINGS_PATH, {"network.subnet": "10.9.9.0/24"})
    with pytest.raises(ClusterError, match=r"network\.subnet"):
        build_spec(
            settings,
            name="orka-gw0",
            provider="docker",
            image="",
            tools_image="",
            ssh_private_key=tmp_path / "k",
            ssh_public_key=tmp_path / "k.pub",
            repo_root=tmp_path,
            wheelhouse=tmp_path / "w",
            upload_dir=Path("/nonexistent/upload"),
        )


# -- ClusterSpec --------------------------------------------------------------


@pytest.mark.parametrize("methods", [["custom"], ["salt", "ansible", "custom"]])
def test_cluster_spec_round_trips_through_json(tmp_path: Path, methods: list[str]) -> None:
    spec = make_spec(tmp_path, name="orka-gw1", overrides={"cluster": 4, "methods": methods})
    text = json.dumps(spec.to_dict())
    back = ClusterSpec.from_dict(json.loads(text))
    assert back == spec
    assert isinstance(back.machines, tuple)
    assert isinstance(back.methods, tuple)
    assert back.nodes == spec.nodes
    assert back.masters == spec.masters


def test_cluster_spec_to_dict_is_plain_json_data(tmp_path: Path) -> None:
    data = make_spec(tmp_path, overrides={"cluster": 3, "methods": ["salt"]}).to_dict()
    assert data["machines"][0] == {
        "name": "orka-master",
        "role": "salt-master",
        "ip": "10.87.0.10",
        "primary": False,
        "tools": True,
    }
    assert data["machines"][1]["primary"] is True
    assert data["image"] == "orka-node:0123456789ab"
    assert data["tools_image"] == "orka-node-tools:0123456789ab"
    assert data["wheelhouse"] == str(tmp_path / ".orka" / "wheelhouse" / "abc")


def test_container_name_is_prefixed_by_the_cluster(tmp_path: Path) -> None:
    first = make_spec(tmp_path, "orka")
    second = make_spec(tmp_path, "orka-gw0")
    assert first.container_name("orka-node-1") == "orka-orka-node-1"
    assert second.container_name("orka-node-1") == "orka-gw0-orka-node-1"
    first_names = {first.container_name(m.name) for m in first.machines}
    second_names = {second.container_name(m.name) for m in second.machines}
    assert len(first_names) == len(first.machines)
    assert first_names.isdisjoint(second_names)
    assert all(n.startswith("orka-gw0-") for n in second_names)
