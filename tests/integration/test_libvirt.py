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
from collections.abc import Iterator
from pathlib import Path

import pytest

from orka.box import ORKA_BOX, pool_volumes
from orka.cluster import Cluster, ClusterPaths, started
from orka.errors import OrkaError
from orka.methods import load_method
from orka.progress import to_stderr
from orka.providers import choose_provider
from orka.settings import load_settings

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


def virsh(*args: str) -> list[str]:
    result = subprocess.run(["virsh", "-c", "qemu:///system", *args], capture_output=True, text=True, check=False)
    return [line.strip() for line in result.stdout.splitlines() if line.strip()]


def libvirt_objects(name: str) -> dict[str, list[str]]:
    """Everything in libvirt named after the cluster: domains, networks, volumes of the default pool."""
    prefix = f"{name}-"
    found = {
        "domains": virsh("list", "--all", "--name"),
        "networks": virsh("net-list", "--all", "--name"),
        "volumes": pool_volumes("default"),
    }
    return {kind: [n for n in names if n.startswith(prefix)] for kind, names in found.items()}


def remove_leftovers(name: str) -> None:
    """What a killed run left in libvirt after its Vagrant state was gone: Vagrant no longer knows it."""
    objects = libvirt_objects(name)
    for domain in objects["domains"]:
        virsh("destroy", domain)
        virsh("undefine", domain, "--remove-all-storage")
    for network in objects["networks"]:
        virsh("net-destroy", network)
        virsh("net-undefine", network)
    for volume in libvirt_objects(name)["volumes"]:
        virsh("vol-delete", volume, "--pool", "default")


@pytest.fixture(scope="module")
def kvm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    try:
        provider, reason = choose_provider("libvirt")
    except OrkaError as exc:
        pytest.fail(f"libvirt is not usable here, so its provider cannot be tested: {exc}", pytrace=False)
    to_stderr(f"[orka] provider {provider}: {reason}")
    settings_file = tmp_path_factory.mktemp("kvm") / "settings.yaml"
    settings_file.write_text(SETTINGS)
    settings = load_settings(settings_file)
    if not ClusterPaths.for_name(NAME).state_dir.exists():
        remove_leftovers(NAME)
    try:
        with started(settings, name=NAME, emit=to_stderr) as cluster:
            yield cluster
    except OrkaError as exc:
        pytest.fail(str(exc), pytrace=False)


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
    host = kvm.host(vm)
    assert host.check_output("cat /proc/1/comm") == "systemd"
    assert host.run("systemctl is-system-running").stdout.strip() == "running"


@pytest.mark.parametrize("vm", VMS)
def test_hostname_is_the_machine_name(kvm: Cluster, vm: str) -> None:
    assert kvm.host(vm).check_output("hostname") == vm


@pytest.mark.parametrize("vm", VMS)
def test_sshd_listens_with_keys_only(kvm: Cluster, vm: str) -> None:
    host = kvm.host(vm)
    assert host.service("ssh").is_running
    assert host.socket("tcp://0.0.0.0:22").is_listening
    effective = host.check_output("sudo sshd -T")
    assert "passwordauthentication no" in effective
    assert "authenticationmethods publickey" in effective


@pytest.mark.parametrize("vm", VMS)
def test_only_the_cluster_key_logs_in(kvm: Cluster, vm: str) -> None:
    # The box's first boot took Vagrant's well-known key; provisioning replaced it.
    keys = kvm.host(vm).check_output("cat ~vagrant/.ssh/authorized_keys").splitlines()
    assert keys == [Path(kvm.spec.ssh_public_key).read_text().strip()]


@pytest.mark.parametrize("vm", VMS)
def test_reaches_every_other_machine_by_name(kvm: Cluster, vm: str) -> None:
    host = kvm.host(vm)
    for other in kvm.machines:
        if other.name == vm:
            continue
        resolved = host.check_output(f"getent hosts {other.name}").split()[0]
        assert resolved == other.ip, f"{vm} resolves {other.name} to {resolved}, planned {other.ip}"
        banner = host.run(f"timeout 5 bash -c 'exec 3<>/dev/tcp/{other.name}/22; head -c 7 <&3'")
        assert banner.stdout == "SSH-2.0", f"{vm} cannot reach sshd on {other.name}: {banner.stderr}"


def test_custom_runner_pings_every_node(kvm: Cluster) -> None:
    result = load_method("custom")(kvm, METHOD_TIMEOUT_S).ping()
    assert result.ok, result.problems()
    assert sorted(h.node for h in result.hosts) == VMS[1:]


def test_salt_pings_every_node(kvm: Cluster) -> None:
    salt = load_method("salt")(kvm, METHOD_TIMEOUT_S)
    waited = salt.wait_ready()
    result = salt.ping()
    assert result.ok, f"after {waited:.0f} s: {result.problems()}"
    assert sorted(h.node for h in result.hosts) == VMS[1:]


def test_teardown_leaves_nothing_in_libvirt(kvm: Cluster) -> None:
    """Last: destroy (the fixture's own destroy after it finds nothing to do) and look."""
    assert all(libvirt_objects(NAME)[kind] for kind in ("domains", "networks", "volumes")), "nothing to tear down"
    kvm.destroy()
    assert libvirt_objects(NAME) == {"domains": [], "networks": [], "volumes": []}
    assert not ClusterPaths.for_name(NAME).state_dir.exists()
