"""Docker's shared objects on this host: which /24 a docker cluster takes, and when a run may touch them.

Clusters side by side on one Docker engine (xdist workers, builds of a
build server, a user's kept cluster) must never share a /24, so a cluster's
network is claimed, not computed: under the host lock, the first /24 of the
settings' subnet from the cluster's own slot on that no Docker network on the
host overlaps is taken, and its network made there and then, labelled with
the cluster (Vagrant's docker provider finds it by its subnet and uses it).

The same lock orders removal against bring-up. Vagrant's docker provider,
before it creates a machine's container, lists every network and container
on the host and inspects each one; one that another cluster removes in
between fails the whole `vagrant up`. A bring-up holds the lock shared until
its last container is being created; a removal holds it alone.
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from orka.errors import ClusterError
from orka.locks import HostLock
from orka.plan import layout

DOCKER_OBJECTS = "docker-objects"


@dataclass(frozen=True)
class TakenNetwork:
    subnet: ipaddress.IPv4Network
    name: str
    cluster: str  # its orka.cluster label, "" for a network orka did not make


def removing() -> HostLock:
    """Held while orka removes containers or networks: no bring-up is looking at the host's objects then."""
    return HostLock(DOCKER_OBJECTS)


def looking() -> HostLock:
    """Held (shared) by a bring-up from `vagrant up` until its last container is being created."""
    return HostLock(DOCKER_OBJECTS, shared=True)


class LastCreation:
    """Watches `vagrant up`'s lines: once every machine's container is being created, calls `done` (once)."""

    MARKER = "Creating the container"

    def __init__(self, machines: int, done: Callable[[], None]) -> None:
        self.waiting = machines
        self.done = done

    def __call__(self, line: str) -> None:
        if self.MARKER in line and self.waiting > 0:
            self.waiting -= 1
            if self.waiting == 0:
                self.done()


def vagrant_network_name(subnet: ipaddress.IPv4Network) -> str:
    """The name Vagrant's docker provider gives a network it makes for this subnet."""
    return f"vagrant_network_{subnet}"


def taken_networks() -> list[TakenNetwork]:
    """Every IPv4 network Docker has on this host, with the cluster orka labelled it with."""
    listed = _docker("network", "ls", "-q").split()
    if not listed:
        return []
    inspected = json.loads(_docker("network", "inspect", *listed) or "[]")
    taken = []
    for network in inspected:
        for config in (network.get("IPAM") or {}).get("Config") or []:
            try:
                subnet = ipaddress.ip_network(config.get("Subnet", ""), strict=False)
            except ValueError:
                continue
            if isinstance(subnet, ipaddress.IPv4Network):
                cluster = (network.get("Labels") or {}).get(layout.LABEL, "")
                taken.append(TakenNetwork(subnet, network.get("Name", ""), cluster))
    return taken


def free_slot(subnet: str, preferred: int, name: str, taken: Sequence[TakenNetwork]) -> int:
    """The cluster's own /24 if it has one already, else the first free one from its preferred slot on
    (wrapping round): free when no network on the host overlaps it."""
    room = 1 << (24 - ipaddress.IPv4Network(subnet).prefixlen)
    for network in taken:
        if network.cluster == name:
            for slot in range(room):
                if layout.cluster_subnet(subnet, slot) == network.subnet:
                    return slot
    for offset in range(room):
        slot = (preferred + offset) % room
        candidate = layout.cluster_subnet(subnet, slot)
        if not any(candidate.overlaps(network.subnet) for network in taken):
            return slot
    users = sorted({n.cluster or n.name for n in taken if n.subnet.overlaps(ipaddress.IPv4Network(subnet))})
    raise ClusterError(
        f"network.subnet {subnet}: every /24 of it is taken by a Docker network ({', '.join(users)}); "
        "remove clusters no run needs (`orka down --all`) or give a larger network.subnet, e.g. 10.87.0.0/16"
    )


def claim_subnet(subnet: str, name: str) -> ipaddress.IPv4Network:
    """The /24 of cluster `name`: its own if its network exists, else a free one, its network made now."""
    with HostLock(DOCKER_OBJECTS):
        taken = taken_networks()
        slot = free_slot(subnet, layout.cluster_slot(name), name, taken)
        chosen = layout.cluster_subnet(subnet, slot)
        if not any(network.cluster == name and network.subnet == chosen for network in taken):
            _docker(
                "network", "create", "--subnet", str(chosen), "--label", f"{layout.LABEL}={name}",
                vagrant_network_name(chosen),
            )  # fmt: skip
    return chosen


def _docker(*args: str) -> str:
    result = subprocess.run(["docker", *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ClusterError(f"`docker {' '.join(args[:3])}` failed: {result.stderr.strip()}; is dockerd running?")
    return result.stdout
