"""The plan of one cluster, as spec.json holds it: every machine, and what it gets and runs at provisioning."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from orka.config import NODE_ROLE, platforms
from orka.config.platforms import DEFAULT_PLATFORM, Platform
from orka.config.scenario import Scenario
from orka.config.settings import Settings


@dataclass(frozen=True)
class Folder:
    """A host folder a machine sees at `guest` (synced by Vagrant, copied over SSH to an existing host)."""

    host: str
    guest: str


@dataclass(frozen=True)
class MachineSpec:
    """One machine of the cluster."""

    name: str
    role: str  # a method master's role, or "node"
    ip: str
    primary: bool = False
    # Its provisioning installs the tools of the wheelhouse (docker gives it the image that has them).
    tools: bool = False
    image: str = ""  # docker: the node image it runs
    folders: tuple[Folder, ...] = ()
    upload: str = ""  # host folder of what only this machine gets, at REMOTE_UPLOAD when `commands` run
    commands: tuple[str, ...] = ()  # its provisioning, run as root in one shell, in order
    # An existing host's login (provider static); a machine orka makes is reached as vagrant with the cluster's key.
    user: str = "vagrant"
    port: int = 22
    key: str = ""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["folders"] = [asdict(f) for f in self.folders]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MachineSpec:
        fields = dict(data)
        fields["folders"] = tuple(Folder(**f) for f in data.get("folders", ()))
        fields["commands"] = tuple(data.get("commands", ()))
        return cls(**fields)


@dataclass(frozen=True)
class ClusterSpec:
    """Everything a provider needs to build (or, for existing hosts, provision) one cluster."""

    name: str
    provider: str
    box: str  # VM providers
    cpus: int
    memory_mb: int
    boot_timeout_s: int
    subnet: str  # the cluster's /24, or "existing hosts"
    machines: tuple[MachineSpec, ...]
    ssh_private_key: str  # the key orka logs in with (an existing fleet: its first node's)
    ssh_public_key: str  # the cluster's own public key, which its machines take ("" on an existing fleet)
    repo_root: str
    wheelhouse: str  # host folder of the tools' wheels ("" when no machine installs tools)
    methods: tuple[str, ...]
    known_hosts: str = ""  # an existing fleet's known_hosts file ("none": host keys not checked)
    scenario: str = ""  # the scenario whose desired state the cluster is for
    scenario_path: str = ""  # its folder (`orka run --inventory cluster` reads its vars there)
    # Vagrant's guest type of the machines when the provider knows it ("" : Vagrant detects it, about
    # thirty SSH commands a machine before its provisioner).
    guest: str = ""
    platform_name: str = DEFAULT_PLATFORM  # the machines' OS release (orka.config.platforms)

    @property
    def platform(self) -> Platform:
        return platforms.platform(self.platform_name)

    @property
    def nodes(self) -> tuple[MachineSpec, ...]:
        return tuple(m for m in self.machines if m.role == NODE_ROLE)

    @property
    def masters(self) -> tuple[MachineSpec, ...]:
        return tuple(m for m in self.machines if m.role != NODE_ROLE)

    @property
    def primary(self) -> MachineSpec:
        return next(m for m in self.nodes if m.primary)

    def machine(self, name: str) -> MachineSpec:
        return next(m for m in self.machines if m.name == name)

    def container_name(self, machine: str) -> str:
        """Docker container name: prefixed by the cluster so clusters never collide."""
        return f"{self.name}-{machine}"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["machines"] = [m.to_dict() for m in self.machines]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClusterSpec:
        fields = dict(data)
        fields["machines"] = tuple(MachineSpec.from_dict(m) for m in data["machines"])
        fields["methods"] = tuple(data["methods"])
        return cls(**fields)


@dataclass(frozen=True)
class Work:
    """What one method gives one machine and has it run: the method's part of the machine's plan."""

    folders: tuple[Folder, ...] = ()
    commands: tuple[str, ...] = ()
    uploads: tuple[tuple[str, str], ...] = ()  # (path in the machine's upload, host file): keys, root-only
    # (path in the machine's upload, text) written there root-only: a password from the environment
    contents: tuple[tuple[str, str], ...] = field(default=(), repr=False)


@dataclass(frozen=True)
class PlanInputs:
    """What a method's provisioning may read of the plan being made."""

    settings: Settings
    machines: tuple[MachineSpec, ...]  # names, roles, addresses and logins; no commands yet
    keys_dir: str  # the cluster's state folder, where keys made on the host are kept
    control_key: str  # the private key a control node reaches the nodes with
    existing_hosts: bool  # provider static: hosts orka did not make and does not remake

    @property
    def platform(self) -> Platform:
        """The one platform of the cluster's settings: the OS its machines run."""
        return self.settings.platform

    @property
    def scenario(self) -> Scenario:
        """The one scenario of the cluster's settings (a pool gives each scenario and method a cluster)."""
        return self.settings.scenarios[0]

    @property
    def nodes(self) -> tuple[MachineSpec, ...]:
        return tuple(m for m in self.machines if m.role == NODE_ROLE)

    @property
    def primary(self) -> str:
        return next(m.name for m in self.nodes if m.primary)

    @property
    def secondaries(self) -> list[str]:
        return [m.name for m in self.nodes if not m.primary]
