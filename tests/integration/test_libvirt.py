"""orka's libvirt provider on real VMs: the real Vagrant, the real Vagrantfile, orka's own box.

One cluster, orka-kvm (a Salt master and three nodes), is brought up on
libvirt with `box: orka/bookworm`, the Debian box orka builds offline (built
once, then cached by its recipe's hash). Every VM is checked as the docker
nodes are in test_cluster.py, the custom runner and Salt ping the nodes, and
the last test tears the cluster down and looks for anything of it left in
libvirt: domains, networks, volumes.

Where libvirt does not work (no libvirtd, no plugin), the module fails and
says why: it does not skip. Without VT-x/AMD-V (this build machine), qemu
emulates the CPU and a cold run takes a quarter of an hour or more.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from orka.config.settings import default_settings, load_settings
from orka.errors import OrkaError
from orka.methods.base import load_method
from orka.plan.state import ClusterPaths
from orka.progress import to_stderr
from orka.providers import libvirt, virsh
from orka.providers.base import Cluster
from orka.providers.box import ORKA_BOX
from orka.providers.choose import choose_provider
from orka.providers.lifecycle import started
from tests.integration.machine_checks import (
    assert_reaches_every_other_machine_by_name,
    assert_sshd_listens_with_keys_only,
    assert_systemd_is_pid_1_and_running,
)

EXAMPLE = default_settings().scenarios[0]  # the desired state the methods apply

# Not in `make test`: `make test-libvirt` runs it where libvirt works (see the README).
pytestmark = [pytest.mark.integration, pytest.mark.libvirt]

NAME = "orka-kvm"
VMS = ["orka-master", "orka-node-1", "orka-node-2", "orka-node-3"]
METHOD_TIMEOUT_S = 300  # emulated VMs on a shared CPU: a salt-master takes a while to answer
# Generous: without hardware virtualisation every VM's CPU is emulated, four on two shared cores.
SETTINGS = f"""
cluster: 3
provider: libvirt
methods: [salt, custom]
box: {ORKA_BOX}
node:
  cpus: 1
  memory: 768
timeouts:
  up: 3600
  ready: 900
  command: 600
"""


@pytest.fixture(scope="module")
def kvm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    # Failed outside the except blocks: the message alone, not a chain of tracebacks.
    problem = ""
    try:
        to_stderr(f"[orka] provider libvirt: {choose_provider('libvirt')[1]}")
    except OrkaError as exc:
        problem = f"libvirt is not usable here, so its provider cannot be tested: {exc}"
    if problem:
        pytest.fail(problem, pytrace=False)
    settings_file = tmp_path_factory.mktemp("kvm") / "settings.yaml"
    settings_file.write_text(SETTINGS)
    settings = load_settings(settings_file)
    if not ClusterPaths.for_name(NAME).state_dir.exists():
        libvirt.remove(NAME)  # what a killed run left, that Vagrant no longer knows
    try:
        with started(settings, name=NAME, emit=to_stderr) as cluster:
            yield cluster
    except OrkaError as exc:
        problem = str(exc)
    if problem:
        pytest.fail(problem, pytrace=False)


def test_the_cluster_is_as_planned(kvm: Cluster) -> None:
    assert [m.name for m in kvm.machines] == VMS
    assert kvm.spec.provider == "libvirt"
    assert kvm.spec.box == ORKA_BOX


@pytest.mark.parametrize("vm", VMS)
def test_is_a_virtual_machine(kvm: Cluster, vm: str) -> None:
    # Not a container: its own kernel, under qemu (emulated) or KVM.
    assert kvm.run(vm, "systemd-detect-virt").stdout.strip() in ("qemu", "kvm")
    assert kvm.run(vm, "systemd-detect-virt --container").stdout.strip() == "none"


@pytest.mark.parametrize("vm", VMS)
def test_systemd_is_pid_1_and_running(kvm: Cluster, vm: str) -> None:
    assert_systemd_is_pid_1_and_running(kvm.host(vm))


@pytest.mark.parametrize("vm", VMS)
def test_hostname_is_the_machine_name(kvm: Cluster, vm: str) -> None:
    assert kvm.host(vm).check_output("hostname") == vm


@pytest.mark.parametrize("vm", VMS)
def test_sshd_listens_with_keys_only(kvm: Cluster, vm: str) -> None:
    assert_sshd_listens_with_keys_only(kvm.host(vm))


@pytest.mark.parametrize("vm", VMS)
def test_only_the_cluster_key_logs_in(kvm: Cluster, vm: str) -> None:
    # The box's first boot took Vagrant's well-known key; provisioning replaced it.
    keys = kvm.host(vm).check_output("cat ~vagrant/.ssh/authorized_keys").splitlines()
    assert keys == [Path(kvm.spec.ssh_public_key).read_text().strip()]


@pytest.mark.parametrize("vm", VMS)
def test_reaches_every_other_machine_by_name(kvm: Cluster, vm: str) -> None:
    assert_reaches_every_other_machine_by_name(kvm.host(vm), vm, kvm.machines)


def test_custom_runner_pings_every_node(kvm: Cluster) -> None:
    result = load_method("custom")(kvm, METHOD_TIMEOUT_S, EXAMPLE).ping()
    assert result.ok, result.problems()
    assert sorted(h.node for h in result.hosts) == VMS[1:]


def test_salt_pings_every_node(kvm: Cluster) -> None:
    salt = load_method("salt")(kvm, METHOD_TIMEOUT_S, EXAMPLE)
    waited = salt.wait_ready()
    result = salt.ping()
    assert result.ok, f"after {waited:.0f} s: {result.problems()}"
    assert sorted(h.node for h in result.hosts) == VMS[1:]


def test_teardown_leaves_nothing_in_libvirt(kvm: Cluster) -> None:
    """Last: destroy (the fixture's own destroy after it finds nothing to do) and look."""
    found = libvirt.find(NAME)
    assert all((found.domains, found.networks, found.volumes)), f"nothing to tear down: {found}"
    kvm.destroy()
    assert not libvirt.find(NAME), libvirt.find(NAME)
    assert not ClusterPaths.for_name(NAME).state_dir.exists()


def virsh_ok(*args: str) -> str:
    result = virsh.virsh(*args)
    assert result is not None, "virsh is not installed"
    assert result.returncode == 0, f"virsh {' '.join(args)}: {result.stderr}"
    return result.stdout.strip()


def test_orka_down_removes_what_vagrant_no_longer_knows(tmp_path: Path) -> None:
    """A killed run whose state folder is gone left a domain, its disk and a network: `orka down` finds them
    by name and removes them, and leaves other clusters' objects alone. (Defined, not booted: no VM runs.)"""
    name, other = "orka-lvdown", "orka-lvdown2"
    disk = f"{name}-orka-node-1.img"
    for cluster in (name, other):
        network = tmp_path / f"{cluster}.xml"
        network.write_text(f"<network><name>{cluster}-private</name></network>")
        virsh_ok("net-define", str(network))
    virsh_ok("vol-create-as", virsh.POOL, disk, "1M")
    domain = tmp_path / "domain.xml"
    domain.write_text(
        f"<domain type='qemu'><name>{name}-orka-node-1</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>"
        "<os><type>hvm</type></os><devices><disk type='file' device='disk'>"
        f"<source file='{virsh_ok('vol-path', disk, '--pool', virsh.POOL)}'/>"
        "<target dev='vda' bus='virtio'/></disk></devices></domain>"
    )
    virsh_ok("define", str(domain))
    try:
        assert not ClusterPaths.for_name(name).state_dir.exists()
        down = subprocess.run(
            [sys.executable, "-m", "orka", "down", "--name", name], capture_output=True, text=True, check=False
        )
        assert down.returncode == 0, down.stdout + down.stderr
        assert "3 libvirt objects" in down.stdout + down.stderr, down.stdout + down.stderr
        assert not libvirt.find(name), libvirt.find(name)
        assert libvirt.find(other).networks == (f"{other}-private",)
    finally:
        libvirt.remove(name)
        libvirt.remove(other)
