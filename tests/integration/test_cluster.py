"""The cluster on the real docker provider through the real Vagrant.

Every machine boots systemd, is named as planned, runs sshd, and reaches the
others by name; the wheelhouse installs offline; teardown leaves nothing.
"""

from __future__ import annotations

import dataclasses
import subprocess
from collections.abc import Iterator

import pytest
from testinfra.host import Host

from orka.config.settings import Settings
from orka.errors import OrkaError
from orka.plan.layout import REMOTE_WHEELHOUSE
from orka.plan.state import ClusterPaths
from orka.progress import to_stderr
from orka.providers.base import Cluster
from orka.providers.lifecycle import started
from orka.providers.vagrant import VagrantCluster
from tests.integration.machine_checks import (
    assert_reaches_every_other_machine_by_name,
    assert_sshd_listens_with_keys_only,
    assert_systemd_is_pid_1_and_running,
)

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("cluster")]


@pytest.fixture(scope="module")
def cluster(orka_settings: Settings) -> Iterator[Cluster]:
    """As conftest's session fixture (which tests/integration/data/teardown_faults.py runs), but gone when this
    module ends: test_teardown's `orka down --all` runs only on a machine where no other cluster is up."""
    problem = ""
    try:
        with started(orka_settings, emit=to_stderr) as up:
            yield up
    except OrkaError as exc:
        problem = str(exc)
    if problem:  # outside the except: the message alone, not a chain of tracebacks
        pytest.fail(problem, pytrace=False)


@pytest.fixture(scope="module")
def hosts(cluster: Cluster) -> dict[str, Host]:
    return {m.name: cluster.host(m.name) for m in cluster.machines}


def test_systemd_is_pid_1_and_running(hosts: dict[str, Host], machine: str) -> None:
    assert_systemd_is_pid_1_and_running(hosts[machine])


def test_loopback_has_ipv6_as_a_debian_machine_does(hosts: dict[str, Host], machine: str) -> None:
    """::1 on lo: an unmodified public role (geerlingguy.postfix, inet_protocols = all) needs it to start."""
    inet6 = hosts[machine].file("/proc/net/if_inet6").content_string
    assert any(line.split()[0] == "0" * 31 + "1" and line.split()[-1] == "lo" for line in inet6.splitlines()), inet6


def test_hostname_is_the_machine_name(hosts: dict[str, Host], machine: str) -> None:
    assert hosts[machine].check_output("hostname") == machine


def test_sshd_listens_with_keys_only(hosts: dict[str, Host], machine: str) -> None:
    assert_sshd_listens_with_keys_only(hosts[machine])


def test_reaches_every_other_machine_by_name(cluster: Cluster, hosts: dict[str, Host], machine: str) -> None:
    assert_reaches_every_other_machine_by_name(hosts[machine], machine, cluster.machines)


def test_cluster_key_is_private_and_per_cluster(cluster: Cluster) -> None:
    key = ClusterPaths.for_name(cluster.name).state_dir / "id_ed25519"
    assert key.stat().st_mode & 0o777 == 0o600
    assert "orka-" in (key.parent / "id_ed25519.pub").read_text()
    assert "vagrant insecure" not in (key.parent / "id_ed25519.pub").read_text()


def test_wheelhouse_installs_offline_on_a_node(cluster: Cluster) -> None:
    """Provisioning needs no internet inside a node: pip takes only the host-built wheels."""
    node = cluster.nodes[0].name
    wheels = REMOTE_WHEELHOUSE
    result = cluster.run(
        node,
        f"python3 -m venv /tmp/offline && /tmp/offline/bin/pip install --no-index --find-links {wheels} "
        f"-r {wheels}/requirements.txt >/tmp/pip.log 2>&1 && /tmp/offline/bin/ansible --version | head -1 "
        "&& /tmp/offline/bin/salt-call --version",
        timeout=300,
    )
    assert result.rc == 0, cluster.run(node, "tail -20 /tmp/pip.log").stdout
    assert "ansible [core 2.19" in result.stdout
    assert "salt-call 3008" in result.stdout


def _labelled(kind: str, name: str) -> list[str]:
    command = ["docker", "ps", "-aq"] if kind == "container" else ["docker", kind, "ls", "-q"]
    out = subprocess.run([*command, "--filter", f"label=orka.cluster={name}"], capture_output=True, text=True)
    return out.stdout.split()


def test_keep_reuse_and_teardown_after_a_failure_leave_nothing(orka_settings: Settings) -> None:
    """A kept cluster is reused as it is; a failure inside the run still tears everything down."""
    settings = dataclasses.replace(orka_settings, methods=("custom",))  # nodes only: quick
    name = "orka-lifecycle"
    with started(settings, name=name, keep=True, emit=to_stderr) as kept:
        first = sorted(_labelled("container", name))
        volumes = subprocess.run(
            ["docker", "inspect", "--format", "{{range .Mounts}}{{if .Name}}{{.Name}} {{end}}{{end}}", *first],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        assert len(first) == len(kept.nodes) == settings.cluster
        assert kept.machine_states() == {m.name: "running" for m in kept.machines}
    assert sorted(_labelled("container", name)) == first, "--keep-cluster must leave the cluster up"

    def a_run_that_fails() -> None:
        with started(settings, name=name, reuse=True, emit=to_stderr) as reused:
            assert sorted(_labelled("container", name)) == first, "--reuse-cluster must not rebuild"
            # orka reads the machines' states from docker; they must be what `vagrant status` says.
            assert isinstance(reused, VagrantCluster)
            subprocess.run(["docker", "stop", "--time", "1", f"{name}-{reused.nodes[-1].name}"], check=True)
            states = reused.machine_states()
            assert states == VagrantCluster.machine_states(reused)
            assert list(states.values()) == ["running"] * (len(reused.machines) - 1) + ["stopped"]
            raise RuntimeError("a test failed")

    with pytest.raises(RuntimeError, match="a test failed"):
        a_run_that_fails()

    assert _labelled("container", name) == []
    assert _labelled("network", name) == []
    leftover_volumes = subprocess.run(["docker", "volume", "ls", "-q"], capture_output=True, text=True).stdout.split()
    assert not set(volumes) & set(leftover_volumes)
    assert not ClusterPaths.for_name(name).state_dir.exists()
