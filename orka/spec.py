"""The cluster's shape: which machines, their names, roles and addresses.

Pure logic from settings to a plan. The Vagrantfile reads this plan (as JSON),
so hand-run `vagrant up` and the fixtures build the same cluster.
"""

from __future__ import annotations

import ipaddress
import re
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from orka import methods
from orka.errors import ClusterError
from orka.methods.descriptor import Master
from orka.settings import Settings

DEFAULT_CLUSTER_NAME = "orka"
# Where every machine sees the repository and the host-built wheelhouse
# (not under /opt/orka, which the desired state gives to the orka user).
NODE_SOURCE = "/srv/orka/src"
NODE_WHEELHOUSE = "/srv/orka/wheelhouse"
# Each cluster takes one /24 of the settings' subnet: its masters' host parts are theirs, the nodes' from here.
FIRST_NODE_HOST_PART = 21
_WORKER_CLUSTER = re.compile(rf"^{DEFAULT_CLUSTER_NAME}-gw(\d+)$")
CLUSTER_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")


@dataclass(frozen=True)
class MachineSpec:
    """One machine of the cluster, as Vagrant will create it."""

    name: str
    role: str  # "salt-master", "ansible-master" or "node"
    ip: str
    primary: bool = False
    # Its provisioning installs salt or ansible-core (the docker provider gives it the tools image).
    tools: bool = False


@dataclass(frozen=True)
class ClusterSpec:
    """Everything the Vagrantfile needs to build one cluster."""

    name: str
    provider: str
    image: str  # docker: the plain node image, for machines without tools
    tools_image: str  # docker: the node image with the wheelhouse's tools installed, for machines with tools
    box: str
    cpus: int
    memory_mb: int
    boot_timeout_s: int
    subnet: str
    machines: tuple[MachineSpec, ...]
    ssh_private_key: str
    ssh_public_key: str
    repo_root: str
    wheelhouse: str  # host folder, which every machine sees at NODE_WHEELHOUSE
    salt_tree: str  # host folder the Salt master serves as /srv/salt
    ansible_config: str  # host folder mounted on ansible-master as /opt/orka/ansible/config
    upload_dir: str  # host folder with one subfolder of files per machine (its keys)
    methods: tuple[str, ...]

    @property
    def nodes(self) -> tuple[MachineSpec, ...]:
        return tuple(m for m in self.machines if m.role == "node")

    @property
    def masters(self) -> tuple[MachineSpec, ...]:
        return tuple(m for m in self.machines if m.role != "node")

    def container_name(self, machine: str) -> str:
        """Docker container name: prefixed by the cluster so clusters never collide."""
        return f"{self.name}-{machine}"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["machines"] = [asdict(m) for m in self.machines]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClusterSpec:
        fields = dict(data)
        fields["machines"] = tuple(MachineSpec(**m) for m in data["machines"])
        fields["methods"] = tuple(data["methods"])
        return cls(**fields)


def node_names(cluster: int) -> list[str]:
    return [f"orka-node-{index}" for index in range(1, cluster + 1)]


def masters_of(selected: tuple[str, ...]) -> list[Master]:
    """The masters of the selected methods, in the methods' order: one for each method that needs it."""
    return [
        master for descriptor in methods.descriptors() if descriptor.name in selected for master in descriptor.masters
    ]


def master_machines(selected: tuple[str, ...]) -> list[tuple[str, str]]:
    """(name, role) of the selected methods' masters."""
    return [(master.name, master.role) for master in masters_of(selected)]


def needs_tools(role: str, selected: tuple[str, ...]) -> bool:
    """Whether a machine's provisioning installs the tools: the masters, and the nodes when a method's
    agent runs there. Any other node must hold no agent: it gets neither the tools nor the wheelhouse."""
    return role != "node" or any(methods.descriptor(name).agent_on_nodes for name in selected)


def cluster_name_for(worker_id: str | None, base: str | None = None) -> str:
    """'orka' (or the given base name) for a plain run, 'orka-gw1' for pytest-xdist worker gw1."""
    base = base or DEFAULT_CLUSTER_NAME
    if not worker_id or worker_id == "master":
        return base
    return f"{base}-{worker_id}"


def cluster_slot(name: str) -> int:
    """Which /24 of the subnet a cluster uses.

    0 for 'orka', N+1 for xdist worker 'orka-gwN', and for any other name a
    stable slot from 128 up, so a named cluster stays clear of the workers'.
    """
    if name == DEFAULT_CLUSTER_NAME:
        return 0
    match = _WORKER_CLUSTER.match(name)
    if match and int(match.group(1)) < 127:
        return int(match.group(1)) + 1
    return 128 + zlib.crc32(name.encode()) % 128


def cluster_subnet(subnet: str, slot: int) -> ipaddress.IPv4Network:
    """The slot-th /24 inside the settings' subnet."""
    network = ipaddress.IPv4Network(subnet)
    room = 2 ** (24 - network.prefixlen)
    if slot >= room:
        raise ClusterError(
            f"network.subnet {subnet} has room for {room} cluster(s) of one /24 each, this one needs slot {slot}: "
            "give a larger network, e.g. 10.87.0.0/16"
        )
    return ipaddress.IPv4Network((int(network.network_address) + slot * 256, 24))


def build_spec(
    settings: Settings,
    *,
    name: str,
    provider: str,
    image: str,
    tools_image: str,
    ssh_private_key: Path,
    ssh_public_key: Path,
    repo_root: Path,
    wheelhouse: Path,
    upload_dir: Path,
) -> ClusterSpec:
    """Plan the machines of one cluster: masters for the selected methods, then the nodes."""
    net = cluster_subnet(settings.subnet, cluster_slot(name))
    base = net.network_address
    selected = settings.methods
    node_tools = needs_tools("node", selected)
    masters = [
        MachineSpec(m.name, m.role, str(base + m.host_part), tools=needs_tools(m.role, selected))
        for m in masters_of(selected)
    ]
    nodes = [
        MachineSpec(n, "node", str(base + FIRST_NODE_HOST_PART + i), primary=i == 0, tools=node_tools)
        for i, n in enumerate(node_names(settings.cluster))
    ]
    machines = masters + nodes
    return ClusterSpec(
        name=name,
        provider=provider,
        image=image,
        tools_image=tools_image,
        box=settings.box,
        cpus=settings.node.cpus,
        memory_mb=settings.node.memory_mb,
        boot_timeout_s=settings.timeouts.ready_s,
        subnet=str(net),
        machines=tuple(machines),
        ssh_private_key=str(ssh_private_key),
        ssh_public_key=str(ssh_public_key),
        repo_root=str(repo_root),
        wheelhouse=str(wheelhouse),
        salt_tree=str(settings.salt_tree),
        ansible_config=str(settings.ansible_config),
        upload_dir=str(upload_dir),
        methods=settings.methods,
    )
