"""The ssh_config orka writes from `vagrant up`'s output reads back as Vagrant's own does."""

from __future__ import annotations

from pathlib import Path

import pytest

from orka.plan.sshconfig import SshEntry, close_masters, multiplexed, parse_booted, parse_ssh_address, render
from orka.plan.state import ClusterPaths
from orka.runner.ssh import read_ssh_config


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("    orka-node-1: SSH address: 172.17.0.2:22\n", ("orka-node-1", "172.17.0.2", 22)),
        ("    ansible-master: SSH address: 127.0.0.1:2200", ("ansible-master", "127.0.0.1", 2200)),
        ("    orka-node-1: SSH username: vagrant\n", None),
        ("==> orka-node-1: Machine booted and ready!\n", None),
        ("    orka-node-1: SSH address: 172.17.0.2\n", None),  # no port: not the line we know
    ],
)
def test_parse_ssh_address(line: str, expected: tuple[str, str, int] | None) -> None:
    assert parse_ssh_address(line) == expected


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("==> orka-node-1: Machine booted and ready!\n", "orka-node-1"),
        ("==> web.example-2: Machine booted and ready!", "web.example-2"),
        ("==> orka-node-1: Waiting for machine to boot. This may take a few minutes...\n", None),
        ("    orka-node-1: SSH address: 172.17.0.2:22\n", None),
        ("    orka-node-1: orka: Machine booted and ready!\n", None),  # a provisioning script's own line
    ],
)
def test_parse_booted(line: str, expected: str | None) -> None:
    assert parse_booted(line) == expected


def test_rendered_config_reads_back_per_machine(tmp_path: Path) -> None:
    config = tmp_path / "ssh_config"
    config.write_text(
        render(
            [
                SshEntry("orka-master", "172.17.0.4", 22, "vagrant", "/keys/id_ed25519"),
                SshEntry("orka-node-1", "172.17.0.2", 2222, "vagrant", "/keys/id_ed25519"),
            ]
        )
    )
    entries = read_ssh_config(config)
    assert set(entries) == {"orka-master", "orka-node-1"}
    node = entries["orka-node-1"]
    assert (node["hostname"], node["port"], node["user"]) == ("172.17.0.2", "2222", "vagrant")
    assert node["identityfile"] == "/keys/id_ed25519"
    assert node["passwordauthentication"] == "no"
    assert node["identitiesonly"] == "yes"
    assert entries["orka-master"]["hostname"] == "172.17.0.4"


def test_nothing_rendered_for_no_machines() -> None:
    assert render([]) == ""


def test_every_machine_rides_one_master_connection(tmp_path: Path) -> None:
    sockets = tmp_path / "ssh"
    config = multiplexed(render([SshEntry("orka-node-1", "10.0.0.2", 22, "vagrant", "/k")]), sockets)
    tail = config.split("Host *\n", 1)[1]
    assert "ControlMaster auto" in tail
    assert f"ControlPath {sockets}/%C" in tail
    assert "ControlPersist" in tail
    assert sockets.is_dir()
    assert oct(sockets.stat().st_mode & 0o777) == "0o700"
    (tmp_path / "ssh_config").write_text(config)
    assert read_ssh_config(tmp_path / "ssh_config")["orka-node-1"]["hostname"] == "10.0.0.2"  # the runner's read


def test_a_state_folder_too_deep_for_a_socket_path_gets_one_under_tmp() -> None:
    shallow = ClusterPaths(Path("/work/main/.orka/clusters/orka"))
    assert shallow.ssh_sockets == shallow.state_dir / "ssh"
    # What ssh binds first: the socket's name (%C, 40 characters) and a dot and 16 random characters.
    for state in ("/tmp/after/.orka/clusters/orka-bench-spike-gw0", "/work/" + "a" * 80 + "/.orka/clusters/orka"):
        deep = ClusterPaths(Path(state))
        assert deep.ssh_sockets.parent == Path("/tmp")
        assert len(f"{deep.ssh_sockets}/{'0' * 40}.{'x' * 16}") < 108
    assert deep.ssh_sockets != ClusterPaths(Path("/work/" + "b" * 80 + "/.orka/clusters/orka")).ssh_sockets


def test_closing_the_masters_of_a_cluster_with_none_removes_the_folder(tmp_path: Path) -> None:
    sockets = tmp_path / "ssh"
    sockets.mkdir()
    close_masters(sockets)
    assert not sockets.exists()
