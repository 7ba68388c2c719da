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
from dataclasses import dataclass

from orka import methods
from orka.config import NODE_PREFIX
from orka.config.settings import Timeouts
from orka.plan.spec import ClusterSpec
from orka.progress import Emit
from orka.providers.vagrant import VagrantCluster, VMProvider
from orka.providers.virsh import POOL, listed, pool_volumes, virsh

# A machine's name: a method's master, or a node.
MACHINE = (
    "(?:"
    + "|".join(
        [*(re.escape(m.name) for d in methods.descriptors() for m in d.masters), rf"{re.escape(NODE_PREFIX)}\d+"]
    )
    + ")"
)
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
    return select(name, listed("list", "--all", "--name"), listed("net-list", "--all", "--name"), pool_volumes())


def cluster_names() -> set[str]:
    """The clusters that have a domain in libvirt."""
    return {m["cluster"] for d in listed("list", "--all", "--name") if (m := DOMAIN.match(d))}


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


class LibvirtCluster(VagrantCluster):
    def remove_machines(self) -> None:
        super().remove_machines()
        if find(self.name):  # a domain Vagrant failed to destroy, or one a still-running `vagrant up` made
            remove(self.name)

    def exists(self) -> bool:
        return super().exists() or bool(find(self.name).domains)


class LibvirtProvider(VMProvider):
    name = "libvirt"

    def cluster(self, spec: ClusterSpec, timeouts: Timeouts, emit: Emit) -> LibvirtCluster:
        return LibvirtCluster(spec, timeouts, emit)

    def has_leftovers(self, name: str) -> bool:
        return bool(find(name))
