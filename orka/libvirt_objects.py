"""A cluster's objects in libvirt, found by the names the Vagrantfile gives them.

vagrant-libvirt names a machine's domain `<default_prefix><machine>` and its
disk volumes after the domain; the Vagrantfile sets the prefix to `<cluster>-`
and names the cluster's two networks `<cluster>-private` and `<cluster>-mgmt`.
Once a killed run's state folder is gone Vagrant no longer knows them, so
these names are how `orka down` finds and removes them. The names are matched
whole (`orka-` does not match cluster orka-kvm's `orka-kvm-orka-node-1`), and
the box's own volume, shared by every cluster, never matches.

Where libvirt is not installed or not running there is nothing to find.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass

URI = "qemu:///system"
POOL = "default"
MACHINE = r"(?:orka-master|ansible-master|orka-node-\d+)"
# A domain's name, and the cluster it belongs to.
DOMAIN = re.compile(rf"^(?P<cluster>.+)-{MACHINE}$")


@dataclass(frozen=True)
class LibvirtObjects:
    domains: tuple[str, ...] = ()
    networks: tuple[str, ...] = ()
    volumes: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.domains or self.networks or self.volumes)

    def names(self) -> tuple[str, ...]:
        """Each object as `orka down` lists it: 'domain orka-kvm-orka-node-1'."""
        return tuple(
            f"{kind} {name}"
            for kind, names in (("domain", self.domains), ("network", self.networks), ("volume", self.volumes))
            for name in names
        )


def virsh(*args: str) -> subprocess.CompletedProcess[str] | None:
    """virsh on the system connection; None where virsh is not installed."""
    try:
        return subprocess.run(["virsh", "-c", URI, *args], capture_output=True, text=True, timeout=120, check=False)
    except FileNotFoundError:
        return None


def _listed(*args: str) -> list[str]:
    result = virsh(*args)
    if result is None or result.returncode != 0:
        return []
    return [line.strip() for line in result.stdout.splitlines() if line.strip()]


def parse_vol_list(output: str) -> list[str]:
    """Volume names from `virsh vol-list POOL`: the first column below the rule (no --name for volumes)."""
    lines = output.splitlines()
    rule = next((i for i, line in enumerate(lines) if line.startswith("---")), len(lines))
    return [line.split()[0] for line in lines[rule + 1 :] if line.strip()]


def pool_volumes(pool: str = POOL) -> list[str]:
    """The volumes of a libvirt storage pool; none when libvirt or the pool is not there."""
    result = virsh("vol-list", pool)
    return parse_vol_list(result.stdout) if result is not None and result.returncode == 0 else []


def select(name: str, domains: list[str], networks: list[str], volumes: list[str]) -> LibvirtObjects:
    """Of everything listed, what is the cluster's."""
    cluster = re.escape(name)
    domain = re.compile(rf"^{cluster}-{MACHINE}$")
    network = re.compile(rf"^{cluster}-(?:private|mgmt)$")
    volume = re.compile(rf"^{cluster}-{MACHINE}(?:\.img|-[\w.]+)$")
    return LibvirtObjects(
        tuple(sorted(d for d in domains if domain.match(d))),
        tuple(sorted(n for n in networks if network.match(n))),
        tuple(sorted(v for v in volumes if volume.match(v))),
    )


def find(name: str) -> LibvirtObjects:
    return select(name, _listed("list", "--all", "--name"), _listed("net-list", "--all", "--name"), pool_volumes())


def cluster_names() -> set[str]:
    """The clusters that have a domain in libvirt."""
    return {m["cluster"] for d in _listed("list", "--all", "--name") if (m := DOMAIN.match(d))}


def remove(name: str) -> None:
    """Stop and remove the cluster's domains (with their storage), then its networks and any volume left."""
    found = find(name)
    for domain in found.domains:
        virsh("destroy", domain)  # fails harmlessly for a domain that is not running
        virsh("undefine", domain, "--remove-all-storage")
    for network in found.networks:
        virsh("net-destroy", network)
        virsh("net-undefine", network)
    for volume in find(name).volumes:
        virsh("vol-delete", volume, "--pool", POOL)
