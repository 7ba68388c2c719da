"""What the web scenario leaves on every node, whichever method made it: plain testinfra checks."""

from __future__ import annotations

from testinfra.host import Host

from orka.pytest_plugin.check_fixtures import ClusterUnderTest

PROXY_PORT = 8088  # scenario.yaml's vars: web_proxy_port


def test_nginx_runs_enabled(host: Host) -> None:
    assert host.package("nginx").is_installed
    nginx = host.service("nginx")
    assert nginx.is_enabled
    assert nginx.is_running
    assert host.socket("tcp://0.0.0.0:80").is_listening


def test_the_node_serves_its_own_name(host: Host, node: str) -> None:
    assert host.check_output("curl -fsS http://127.0.0.1/").strip() == node


def test_the_proxy_config_names_the_primary(host: Host, cluster: ClusterUnderTest) -> None:
    conf = host.file("/etc/nginx/conf.d/orka-web.conf")
    assert conf.is_file
    assert (conf.user, conf.mode) == ("root", 0o644)
    assert f"listen {PROXY_PORT};" in conf.content_string
    assert f"http://{cluster.primary}:80/" in conf.content_string


def test_every_node_forwards_to_the_primary(host: Host, role: str, cluster: ClusterUnderTest) -> None:
    """The dependency between the nodes: the proxy port of each, the primary's own included, answers with the
    primary's page."""
    assert role in ("primary", "secondary")
    assert host.socket(f"tcp://0.0.0.0:{PROXY_PORT}").is_listening
    assert host.check_output(f"curl -fsS http://127.0.0.1:{PROXY_PORT}/").strip() == cluster.primary
