"""What every orchestration method is: the same verbs, the same result type."""

from __future__ import annotations

import abc
from typing import ClassVar, Protocol

from testinfra.backend.base import CommandResult

from orka.results import PhaseResult
from orka.runner.inventory import Inventory
from orka.spec import MachineSpec


class ClusterView(Protocol):
    """All a method may know of the cluster: its nodes, running a command on a machine, and
    the nodes as an inventory for a method that drives them from here."""

    @property
    def nodes(self) -> tuple[MachineSpec, ...]: ...

    def run(self, machine: str, command: str, timeout: int | None = None) -> CommandResult: ...

    def inventory(self, method: str) -> Inventory: ...


class Method(abc.ABC):
    """An orchestration method; every verb returns a PhaseResult with one outcome per node."""

    name: ClassVar[str]

    def __init__(self, cluster: ClusterView, timeout_s: int) -> None:
        self.cluster = cluster
        self.timeout_s = timeout_s

    @property
    def node_names(self) -> list[str]:
        return [n.name for n in self.cluster.nodes]

    @property
    def primary(self) -> str:
        return next(n.name for n in self.cluster.nodes if n.primary)

    @abc.abstractmethod
    def version(self) -> str:
        """The tool's version, as recorded with every result."""

    @abc.abstractmethod
    def wait_ready(self) -> float:
        """Block until every node can be driven; return the seconds it took."""

    @abc.abstractmethod
    def ping(self) -> PhaseResult:
        """Reach every node."""

    @abc.abstractmethod
    def apply(self, phase: str = "apply") -> PhaseResult:
        """Converge the desired state; phase 'idempotence' marks any change as a failure."""

    @abc.abstractmethod
    def orchestrate(self) -> PhaseResult:
        """The ordered step: the primary first, then every secondary."""
