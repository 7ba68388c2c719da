"""Unit tests of the `static:` settings section (provider static): every problem at once, each naming
the key, the bad value and what is allowed; nothing outside tmp_path touched."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from orka.config import REPO_ROOT
from orka.config.fleet import FleetHost
from orka.config.settings import load_settings
from orka.errors import SettingsError


@pytest.fixture
def key(tmp_path: Path) -> Path:
    path = tmp_path / "fleet_ed25519"
    path.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn\n-----END OPENSSH PRIVATE KEY-----\n")
    path.chmod(0o600)
    return path


def hosts(*roles: str) -> list[dict[str, object]]:
    """Hosts with these roles, at 10.0.0.1, 10.0.0.2, ..."""
    return [{"address": f"10.0.0.{i}", "role": role} for i, role in enumerate(roles, start=1)]


def hosts_at(count: int) -> list[dict[str, object]]:
    """count nodes, 250 to a /24: 10.0.0.1..250, 10.0.1.1, ..."""
    return [{"address": f"10.0.{i // 250}.{i % 250 + 1}", "role": "node"} for i in range(count)]


FLEET = ("salt-master", "ansible-master", "node", "node", "node")


def write(tmp_path: Path, key: Path, host_list: list[dict[str, object]], **extra: object) -> Path:
    static: dict[str, object] = {"user": "deploy", "key": str(key), "known_hosts": "none", "hosts": host_list}
    static.update(extra.pop("static", {}))  # type: ignore[call-overload]
    path = tmp_path / "settings.yaml"
    path.write_text(yaml.safe_dump({"provider": "static", **extra, "static": static}))
    return path


def problems_of(path: Path, overrides: dict[str, object] | None = None) -> list[str]:
    with pytest.raises(SettingsError) as info:
        load_settings(path, overrides)
    return info.value.problems


def test_a_valid_fleet_names_hosts_as_orka_does_and_sizes_the_cluster(tmp_path: Path, key: Path) -> None:
    listed = hosts(*FLEET)
    listed[3]["name"] = "orka-node-1"  # named nodes keep their names, the others take the free numbers in order
    listed[4]["port"] = 2222
    listed[4]["user"] = "ops"
    settings = load_settings(write(tmp_path, key, listed))
    assert settings.provider == "static"
    assert settings.cluster == 3
    assert settings.fleet is not None
    assert settings.fleet.known_hosts is None
    by_address = {h.address: h for h in settings.fleet.hosts}
    assert by_address["10.0.0.1"] == FleetHost("orka-master", "salt-master", "10.0.0.1", "deploy", key)
    assert by_address["10.0.0.2"].name == "ansible-master"
    assert by_address["10.0.0.3"].name == "orka-node-2"
    assert by_address["10.0.0.4"].name == "orka-node-1"
    assert by_address["10.0.0.5"] == FleetHost("orka-node-3", "node", "10.0.0.5", "ops", key, 2222)
    assert [n.name for n in settings.fleet.nodes] == ["orka-node-1", "orka-node-2", "orka-node-3"]
    assert settings.to_dict()["static"]["hosts"][4]["port"] == 2222


def test_a_fleet_may_be_larger_than_a_cluster_orka_makes(tmp_path: Path, key: Path) -> None:
    """250 hosts of a /24 (benchmarks/fleet.py's largest): past the 100 nodes orka makes on this machine."""
    settings = load_settings(write(tmp_path, key, hosts_at(250), methods=["custom"]))
    assert settings.cluster == 250
    assert settings.fleet is not None
    assert len(settings.fleet.nodes) == 250
    assert any("1001 host(s) with role node" in p for p in problems_of(write(tmp_path, key, hosts_at(1001))))


def test_known_hosts_is_a_file_by_default(tmp_path: Path, key: Path) -> None:
    path = write(tmp_path, key, hosts(*FLEET), static={"known_hosts": str(tmp_path / "known_hosts")})
    fleet = load_settings(path).fleet
    assert fleet is not None
    assert fleet.known_hosts == tmp_path / "known_hosts"


def test_every_problem_of_the_section_at_once(tmp_path: Path, key: Path) -> None:
    listed: list[dict[str, object]] = [
        {"address": "10.0.0.1", "role": "salt-minion"},
        {"address": "not an address", "role": "node", "port": 70000},
        {"address": "10.0.0.3", "role": "node", "user": "Bad User", "colour": "red"},
        {"role": "node"},
    ]
    problems = problems_of(write(tmp_path, key, listed))
    assert problems == [
        "static.hosts[2].colour: unknown key; allowed: name, address, role, user, key, port",
        "static.hosts[0].role: 'salt-minion' is not known; allowed: salt-master, ansible-master, node",
        "static.hosts[1].address: 'not an address' is not an IP address or DNS name; allowed: e.g. 10.0.0.21",
        "static.hosts[1].port: 70000 is not a TCP port; allowed: an integer from 1 to 65535 (default 22)",
        "static.hosts[2].user: 'Bad User' is not a user name; allowed: a login such as deploy or vagrant",
        "static.hosts[3].address: missing; allowed: the IP address or DNS name orka reaches the host at",
        "static.hosts: the salt method needs a host with role salt-master, and none is listed; "
        "allowed: add one, or leave salt out of methods",
        "static.hosts: the ansible method needs a host with role ansible-master, and none is listed; "
        "allowed: add one, or leave ansible out of methods",
    ]


def test_the_key_must_be_a_private_key_for_its_owner_only(tmp_path: Path, key: Path) -> None:
    public = tmp_path / "fleet_ed25519.pub"
    public.write_text("ssh-ed25519 AAAAC3Nza fleet\n")
    public.chmod(0o600)
    listed = hosts(*FLEET)
    listed[2]["key"] = str(public)
    listed[3]["key"] = str(tmp_path / "missing")
    key.chmod(0o644)
    problems = problems_of(write(tmp_path, key, listed))
    allowed = "allowed: a private key file (not its .pub), readable by its owner only (chmod 600)"
    assert problems == [
        f"static.key: {str(key)!r} has mode 0644, open to others; {allowed}; fix: chmod 600 {key}",
        f"static.hosts[2].key: {str(public)!r} is not a private key (no PRIVATE KEY header); {allowed}",
        f"static.hosts[3].key: {str(tmp_path / 'missing')!r} is not a file; {allowed}",
    ]


def test_a_host_needs_a_user_and_a_key_from_itself_or_the_section(tmp_path: Path, key: Path) -> None:
    path = tmp_path / "settings.yaml"
    path.write_text(
        yaml.safe_dump({"provider": "static", "methods": ["custom"], "static": {"hosts": hosts(*FLEET[2:])}})
    )
    problems = problems_of(path)
    assert len(problems) == 6
    assert problems[0] == (
        "static.hosts[0].user: missing, and static.user gives none; allowed: the SSH login, e.g. deploy"
    )
    assert problems[1] == (
        "static.hosts[0].key: missing, and static.key gives none; allowed: a private key file, mode 0600"
    )


def test_names_are_orkas_and_addresses_unique(tmp_path: Path, key: Path) -> None:
    listed = hosts(*FLEET, "node")
    listed[0]["name"] = "salt"
    listed[2]["name"] = "web-1"
    listed[3]["name"] = "orka-node-5"
    listed[5]["address"] = "10.0.0.5"
    problems = problems_of(write(tmp_path, key, listed))
    assert problems == [
        "static.hosts[5].address: 10.0.0.5 is also static.hosts[4]'s; "
        "allowed: one host per address (the hosts reach each other by these addresses)",
        "static.hosts[0].name: 'salt' is not orka's name for a salt-master; allowed: 'orka-master', or leave name out",
        "static.hosts[2].name: 'web-1' is not a node name; allowed: orka-node-N (the spikes and states use these "
        "names; the host's own hostname is left as it is), or leave name out",
        "static.hosts: the nodes are named orka-node-1, orka-node-2, orka-node-5; "
        "allowed: orka-node-1 to orka-node-3 with no gap (leave names out to number them in order)",
    ]
    del listed[0]["name"], listed[2]["name"]
    listed[5]["address"] = "10.0.0.6"
    (gap,) = problems_of(write(tmp_path, key, listed))
    assert gap == (
        "static.hosts: the nodes are named orka-node-1, orka-node-2, orka-node-3, orka-node-5; "
        "allowed: orka-node-1 to orka-node-4 with no gap (leave names out to number them in order)"
    )


def test_masters_at_most_one_each_and_only_for_selected_methods(tmp_path: Path, key: Path) -> None:
    two_salt = problems_of(write(tmp_path, key, hosts("salt-master", "salt-master", *FLEET[1:])))
    assert two_salt == ["static.hosts: 2 hosts with role salt-master; allowed: at most one"]
    nodes_only = load_settings(write(tmp_path, key, hosts(*FLEET[2:]), methods=["custom"]))
    assert nodes_only.fleet is not None
    assert len(nodes_only.fleet.hosts) == 3


def test_cluster_must_match_the_fleet_or_be_left_out(tmp_path: Path, key: Path) -> None:
    path = write(tmp_path, key, hosts(*FLEET), cluster=5)
    (problem,) = problems_of(path)
    assert problem == (
        "cluster: 5, but static.hosts lists 3 nodes; allowed: leave cluster out with provider static "
        "(the fleet's nodes are the cluster), or make it 3"
    )
    (override,) = problems_of(write(tmp_path, key, hosts(*FLEET)), {"cluster": 4})
    assert override.startswith("cluster (override): 4, but static.hosts lists 3 nodes")
    assert load_settings(write(tmp_path, key, hosts(*FLEET), cluster=3)).cluster == 3


def test_a_static_section_is_not_checked_for_another_provider(tmp_path: Path, key: Path) -> None:
    """A section written for the fleet's machine never blocks a docker run on another (--provider docker)."""
    path = write(tmp_path, key, [{"address": "bad address"}], static={"key": "/nowhere"})
    settings = load_settings(path, {"provider": "docker"})
    assert settings.provider == "docker"
    assert settings.fleet is None
    assert "static" not in settings.to_dict()


def test_a_missing_or_empty_host_list(tmp_path: Path, key: Path) -> None:
    path = tmp_path / "settings.yaml"
    path.write_text("provider: static\n")
    (problem,) = problems_of(path)
    assert problem.startswith("static.hosts: () is not a non-empty list; allowed: a list of hosts such as")
    path.write_text("provider: static\nstatic:\n  hosts: [web-1]\n  known_hosts: none\n")
    problems = problems_of(path)
    assert (
        "static.hosts[0]: 'web-1' is not a mapping; allowed: a mapping with keys name, address, role, user, key, port"
        in problems
    )


def test_unknown_key_in_the_section_is_named(tmp_path: Path, key: Path) -> None:
    path = write(tmp_path, key, hosts(*FLEET), static={"host": []})
    (problem,) = problems_of(path)
    assert problem.startswith("static.host: unknown key (did you mean 'static.hosts'?); allowed: static.hosts")


def test_the_shipped_example_is_valid_but_for_its_made_up_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """settings/static.example.yaml, as a team copies it: only the key files it names are missing (in an empty home)."""
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(SettingsError) as info:
        load_settings(REPO_ROOT / "settings" / "static.example.yaml")
    assert info.value.problems, "the example names keys that do not exist here"
    for problem in info.value.problems:
        assert problem.startswith(("static.key: '~/.ssh/fleet_ed25519'", "static.hosts[4].key: '~/.ssh/legacy")), (
            problem
        )
        assert "is not a file" in problem, problem


def test_a_host_entry_names_its_line_and_a_near_key(tmp_path: Path, key: Path) -> None:
    listed = hosts(*FLEET)
    listed[4] = {"adress": "10.0.0.5", "role": "node"}
    path = tmp_path / "settings.yaml"
    path.write_text(
        f"provider: static\nstatic:\n  user: deploy\n  key: {key}\n  known_hosts: none\n  hosts:\n"
        + "".join(f"    - {yaml.safe_dump(h, default_flow_style=True)}" for h in listed)
    )
    with pytest.raises(SettingsError) as info:
        load_settings(path)
    assert info.value.problems == [
        "static.hosts[4].adress: unknown key (did you mean 'address'?); allowed: name, address, role, user, key, port",
        "static.hosts[4].address: missing; allowed: the IP address or DNS name orka reaches the host at",
    ]
    assert info.value.lines == [11, 11]


def test_an_unknown_key_in_an_unused_section_is_still_named(tmp_path: Path, key: Path) -> None:
    path = write(tmp_path, key, [{"address": "bad address"}], static={"hostz": []})
    (problem,) = problems_of(path, {"provider": "docker"})
    assert problem.startswith("static.hostz: unknown key (did you mean 'static.hosts'?)")


def test_a_node_name_without_a_number_is_named_even_with_cluster_given(tmp_path: Path, key: Path) -> None:
    listed = hosts(*FLEET)
    listed[2]["name"] = "webserver"
    (problem,) = problems_of(write(tmp_path, key, listed, cluster=3))
    assert problem.startswith("static.hosts[2].name: 'webserver' is not a node name; allowed: orka-node-N")
