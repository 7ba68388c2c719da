"""What every provider's cluster is: the plan's machines, reached over SSH, brought up and torn down.

A provider makes a cluster's plan from the settings (prepare) and gives the
Cluster of a plan; the Cluster is the one interface the lifecycle, the
methods (through orka.methods.base.ClusterView), the CLI and `orka down` use.
"""

from __future__ import annotations

import abc
import json
import shlex
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from typing import ClassVar

import testinfra
from testinfra.backend.base import CommandResult
from testinfra.host import Host

from orka.config.settings import Settings, Timeouts
from orka.errors import ClusterError
from orka.plan.spec import ClusterSpec, MachineSpec
from orka.plan.state import ClusterPaths
from orka.progress import Emit, step
from orka.runner.inventory import Host as InventoryHost
from orka.runner.inventory import Inventory

# A bound on connecting and on a machine that stops answering mid-command (testinfra bounds connecting: 10 s).
SSH_EXTRA_ARGS = "-o LogLevel=ERROR -o ServerAliveInterval=5 -o ServerAliveCountMax=3"


class Cluster(abc.ABC):
    """One cluster of machines, as its plan describes it."""

    def __init__(self, spec: ClusterSpec, timeouts: Timeouts, emit: Emit) -> None:
        self.spec = spec
        self.timeouts = timeouts
        self.emit = emit
        self.paths = ClusterPaths.for_name(spec.name)
        # A kept cluster used as it was (--reuse-cluster): its nodes are not fresh, by request.
        self.reused = False

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def nodes(self) -> tuple[MachineSpec, ...]:
        return self.spec.nodes

    @property
    def masters(self) -> tuple[MachineSpec, ...]:
        return self.spec.masters

    @property
    def machines(self) -> tuple[MachineSpec, ...]:
        return self.spec.machines

    def host(self, machine: str) -> Host:
        """A testinfra host for a machine, over SSH with the cluster's ssh_config."""
        return testinfra.get_host(
            f"ssh://{machine}", ssh_config=str(self.paths.ssh_config), ssh_extra_args=SSH_EXTRA_ARGS
        )

    def run(self, machine: str, command: str, timeout: int | None = None) -> CommandResult:
        """Run a shell command on a machine, bounded by a timeout (settings' command timeout by default)."""
        limit = timeout or self.timeouts.command_s
        return self.host(machine).run(f"timeout {limit} bash -c {shlex.quote(command)}")

    def inventory(self, method: str) -> Inventory:
        """The nodes as a task-runner inventory, reached with the cluster's ssh_config."""
        primary = self.spec.primary.name
        hosts = tuple(
            InventoryHost(
                name=n.name,
                ssh_config=str(self.paths.ssh_config),
                groups=("nodes", "primary" if n.primary else "secondaries"),
                vars={"role": "primary" if n.primary else "secondary"},
            )
            for n in self.nodes
        )
        names = [n.name for n in self.nodes]
        common = {"cluster_size": len(names), "method": method, "primary": primary, "nodes_json": json.dumps(names)}
        return Inventory(hosts, common)

    def where(self, machine: str) -> str:
        """How messages name a machine (an existing host adds its address)."""
        return machine

    # -- readiness ---------------------------------------------------------

    def wait_ready(self) -> None:
        """Every machine answers over SSH and its systemd has finished booting."""
        with step(self.emit, f"waiting for {len(self.machines)} machines to be ready"):
            self.write_ssh_config()
            with ThreadPoolExecutor(max_workers=min(32, len(self.machines))) as pool:
                problems = [p for p in pool.map(self._readiness_problem, self.machines) if p]
            if problems:
                raise ClusterError(f"cluster {self.name} is not ready:\n" + "\n".join(f"  - {p}" for p in problems))

    def _readiness_problem(self, machine: MachineSpec) -> str | None:
        try:
            result = self.run(machine.name, "systemctl is-system-running --wait", timeout=self.timeouts.ready_s)
        except Exception as exc:  # testinfra raises plain RuntimeError/AssertionError on SSH failure
            return f"{self.where(machine.name)}: does not answer over SSH ({exc})"
        state = result.stdout.strip()
        if state == "running":
            return None
        if state == "degraded":
            failed = self.run(machine.name, "systemctl --failed --no-legend --plain | cut -d' ' -f1").stdout.split()
            return self._degraded_problem(machine.name, failed)
        where = self.where(machine.name)
        return f"{where}: systemd is {state or 'not answering'} after {self.timeouts.ready_s} s (timeouts.ready)"

    def _degraded_problem(self, machine: str, failed: list[str]) -> str | None:
        """A machine whose systemd is degraded: what is wrong (None: usable all the same)."""
        return f"{machine}: systemd is degraded, failed units: {', '.join(failed) or '?'}"

    # -- what each provider does its own way --------------------------------

    @abc.abstractmethod
    def write_ssh_config(self) -> None:
        """The cluster's ssh_config, which host(), run() and the runner read."""

    @abc.abstractmethod
    def up(self) -> None:
        """Bring every machine up and provisioned, as the plan says."""

    @abc.abstractmethod
    def destroy(self) -> None:
        """Remove what orka made of this cluster, and its state; safe to call twice."""

    @abc.abstractmethod
    def exists(self) -> bool:
        """True when any machine orka made of this cluster exists, running or not."""

    @abc.abstractmethod
    def is_running(self) -> bool:
        """True when every planned machine is up (a kept cluster can be reused)."""

    @abc.abstractmethod
    def machine_states(self) -> dict[str, str]:
        """Each machine's state, as the provider says it; empty if unknown."""

    @abc.abstractmethod
    def hand_command(self, machine: str, command: str) -> subprocess.CompletedProcess[str]:
        """A command on a machine the way a user types it (`vagrant ssh`, or `ssh -F` to an existing host)."""


class Provider(abc.ABC):
    """Where a cluster's machines come from: it makes the plan, and gives the Cluster of a plan."""

    name: ClassVar[str]

    @abc.abstractmethod
    def prepare(self, settings: Settings, name: str, emit: Emit) -> ClusterSpec:
        """Everything before bringing up: what the machines need built, the keys, the plan."""

    @abc.abstractmethod
    def cluster(self, spec: ClusterSpec, timeouts: Timeouts, emit: Emit) -> Cluster:
        """The cluster of a plan of this provider's."""

    def check_name(self, name: str) -> None:  # noqa: B027  (most providers serve any name)
        """Refuse a cluster name this provider cannot serve (nothing to refuse by default)."""

    def has_leftovers(self, name: str) -> bool:
        """Whether anything of a cluster by this name exists without its plan (a killed run's)."""
        return False

    def discard(self, name: str) -> None:
        """Remove what preparing a cluster made (its state folder), when it goes no further."""
        shutil.rmtree(ClusterPaths.for_name(name).state_dir, ignore_errors=True)
