"""What every method must leave on every node: the one desired state.

Parametrized over method x node (IDs like `salt-orka-node-2`); each method's
apply and orchestrate phases run first (on that method's own cluster), then
these checks, so the same module verifies Salt, Ansible and the custom runner.
Each check is a JUnit testcase of its own (properties method, phase=verify,
node, check) and a verify record in reports/results.json.
"""

from __future__ import annotations

import json

import pytest
from testinfra.host import Host

from orka.spike import Spike

pytestmark = pytest.mark.verify


@pytest.fixture
def host(spike: Spike, node: str) -> Host:
    spike.ensure("orchestrate")  # and apply before it, once per method
    return spike.cluster.host(node)


def _primary(spike: Spike) -> str:
    return next(n.name for n in spike.cluster.nodes if n.primary)


def test_tree_is_installed(host: Host, method: str, node: str) -> None:
    assert host.package("tree").is_installed
    assert host.run("tree --version").rc == 0


def test_orka_user_and_group(host: Host, method: str, node: str) -> None:
    group = host.group("orka")
    assert group.exists
    user = host.user("orka")
    assert user.exists
    assert user.home == "/opt/orka"
    assert user.group == "orka"
    assert user.uid < 1000, f"orka must be a system user, uid is {user.uid}"
    home = host.file("/opt/orka")
    assert home.is_directory
    assert home.user == "orka"


def test_node_conf(spike: Spike, host: Host, method: str, node: str) -> None:
    conf = host.file("/etc/orka/node.conf")
    assert conf.is_file
    assert (conf.user, conf.group, conf.mode) == ("root", "orka", 0o640)
    role = "primary" if node == _primary(spike) else "secondary"
    expected = {"node": node, "role": role, "cluster_size": str(len(spike.cluster.nodes)), "method": method}
    lines = host.check_output("sudo cat /etc/orka/node.conf").splitlines()
    found = dict(line.split("=", 1) for line in lines if "=" in line)
    assert found == expected


def test_agent_serves_the_node_page(host: Host, method: str, node: str) -> None:
    service = host.service("orka-agent")
    assert service.is_enabled
    assert service.is_running
    assert host.socket("tcp://0.0.0.0:8080").is_listening
    assert host.file("/opt/orka/www/index.html").contains(node)
    page = host.check_output("curl -fsS http://127.0.0.1:8080/index.html")
    assert node in page


def test_cluster_json_spread_from_the_primary(spike: Spike, host: Host, method: str, node: str) -> None:
    primary = _primary(spike)
    published = json.loads(spike.cluster.host(primary).file("/opt/orka/www/cluster.json").content_string)
    assert published["primary"] == primary
    assert published["nodes"] == [n.name for n in spike.cluster.nodes]
    if node != primary:
        fetched = json.loads(host.file("/etc/orka/cluster.json").content_string)
        assert fetched == published, f"{node}'s /etc/orka/cluster.json differs from the primary's"
