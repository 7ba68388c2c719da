"""What every method must leave on every node of the example: plain testinfra checks.

orka runs each once per method x node (IDs like `salt-orka-node-2`), after
that method's apply and orchestration, on that method's own cluster; each is
a JUnit testcase (test_desired_state.<check>[<method>-<node>] in class
spikes.<method>: scenario.yaml's junit_package) and a verify record in
reports/results.json.
"""

from __future__ import annotations

import json

from testinfra.host import Host

from orka.pytest_plugin.check_fixtures import ClusterUnderTest


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


def test_node_conf(host: Host, method: str, node: str, role: str, cluster: ClusterUnderTest) -> None:
    conf = host.file("/etc/orka/node.conf")
    assert conf.is_file
    assert (conf.user, conf.group, conf.mode) == ("root", "orka", 0o640)
    expected = {"node": node, "role": role, "cluster_size": str(len(cluster.nodes)), "method": method}
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


def test_cluster_json_spread_from_the_primary(host: Host, method: str, node: str, cluster: ClusterUnderTest) -> None:
    published = json.loads(cluster.host(cluster.primary).file("/opt/orka/www/cluster.json").content_string)
    assert published["primary"] == cluster.primary
    assert published["nodes"] == list(cluster.nodes)
    if node != cluster.primary:
        fetched = json.loads(host.file("/etc/orka/cluster.json").content_string)
        assert fetched == published, f"{node}'s /etc/orka/cluster.json differs from the primary's"
