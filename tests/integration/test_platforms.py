"""A platform other than the host's: Debian 13's nodes, with the tools installed for their own Python (3.13).

The example converged with Salt (whose agent needs the tools on every node) on a kept debian-13 cluster
through `orka converge --platform debian-13`, as a user iterates; then what the nodes run is looked at on
them: the OS release, the tools' interpreter, salt working from it. Every phase of every method on both
Debian platforms is CI's `make spike-platforms`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import pytest

from orka.config import REPO_ROOT
from orka.plan.layout import REMOTE_TOOLS
from orka.plan.state import ClusterPaths
from tests.integration.clusters import cluster_names

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("platforms")]

NAME = "orka-it-trixie"


def orka(*args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "orka", *args]
    return subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, check=False, timeout=timeout)


def on(machine: str, command: str) -> str:
    """What a shell command printed on the machine (`orka login` hands it to the remote shell, as ssh does)."""
    run = orka("login", machine, "--name", NAME, "--", command, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


@pytest.fixture(scope="module")
def converged() -> Iterator[subprocess.CompletedProcess[str]]:
    run = orka("converge", "salt", "--platform", "debian-13", "--name", NAME)
    try:
        yield run
    finally:
        orka("destroy", "--name", NAME)
    assert NAME not in cluster_names()


def test_salt_converges_the_example_on_debian_13(converged: subprocess.CompletedProcess[str]) -> None:
    assert converged.returncode == 0, converged.stdout[-3000:] + converged.stderr[-3000:]
    assert "salt apply: ok" in converged.stdout
    spec = json.loads(ClusterPaths.for_name(NAME).spec_file.read_text())
    assert spec["platform_name"] == "debian-13"
    assert any(m["image"].startswith("orka-node-tools:") for m in spec["machines"])


def test_the_nodes_run_trixie_and_the_tools_run_on_its_python(converged: subprocess.CompletedProcess[str]) -> None:
    assert converged.returncode == 0, converged.stderr[-2000:]
    for machine in ("orka-master", "orka-node-3"):
        assert "VERSION_CODENAME=trixie" in on(machine, "cat /etc/os-release")
        version = on(machine, f"{REMOTE_TOOLS}/bin/python -c 'import sys; print(sys.version_info[:2])'")
        assert version.strip() == "(3, 13)", version
    # A compiled dependency (salt's timelib) made for 3.13, not the host's 3.11, imports there.
    assert on("orka-node-3", f"{REMOTE_TOOLS}/bin/python -c 'import timelib; print(1)'").strip() == "1"
    assert "3008" in on("orka-node-3", "sudo salt-call --local --version")


def test_a_platform_the_docker_provider_cannot_build_is_refused_before_boot() -> None:
    run = orka("up", "--provider", "docker", "--platform", "rocky-9", "--name", "orka-it-rocky", timeout=60)
    assert run.returncode != 0
    assert "platform rocky-9 has no node image recipe for the docker provider" in run.stderr
    assert "provider: libvirt or virtualbox" in run.stderr
    assert "Traceback" not in run.stderr
    assert "orka-it-rocky" not in cluster_names()
    assert not ClusterPaths.for_name("orka-it-rocky").state_dir.exists()
