"""What every orchestration method is: the same verbs, the same result type."""

from __future__ import annotations

import abc
import time
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, Protocol

from testinfra.backend.base import CommandResult

from orka import methods
from orka.config.scenario import Scenario
from orka.errors import OrkaError
from orka.plan.spec import MachineSpec
from orka.results.record import PhaseResult
from orka.results.verdict import TIMED_OUT
from orka.runner.inventory import Inventory


class ClusterView(Protocol):
    """All a method may know of the cluster: its nodes, running a command on a machine, and
    the nodes as an inventory for a method that drives them from here."""

    @property
    def nodes(self) -> tuple[MachineSpec, ...]: ...

    def run(self, machine: str, command: str, timeout: int | None = None) -> CommandResult: ...

    def inventory(self, method: str) -> Inventory: ...


class MachineUnreachable(OrkaError):
    """A machine could not be reached over SSH at all (as opposed to a command failing on it)."""

    def __init__(self, machine: str, why: str) -> None:
        self.machine = machine
        self.why = why
        super().__init__(f"{machine} is unreachable: {why}")


class MethodError(OrkaError):
    """A method could not do what orka asked of it (its tool's own words follow)."""


def ssh_failure(exc: BaseException) -> str:
    """Why SSH failed, in its own last words: testinfra raises RuntimeError(CommandResult) on exit 255."""
    result = exc.args[0] if exc.args else None
    if not isinstance(result, CommandResult):
        return str(exc) or type(exc).__name__
    stderr = str(result.stderr or "").strip()
    # Vagrant's ssh-config says LogLevel FATAL, which keeps even the reason quiet.
    return stderr.splitlines()[-1].strip() if stderr else "SSH could not connect (exit 255, no message)"


class Method(abc.ABC):
    """An orchestration method; every verb returns a PhaseResult with one outcome per node."""

    name: ClassVar[str]
    tuning: ClassVar[str]  # how the tool is set up for speed, for the report
    tool: ClassVar[str]  # the command whose exit codes the verdict reads, as messages name it
    # The exit codes the tool documents as "some host failed" (its per-host results say which).
    host_failure_codes: ClassVar[frozenset[int]] = frozenset()

    def __init__(self, cluster: ClusterView, timeout_s: int, scenario: Scenario | None = None) -> None:
        self.cluster = cluster
        self.timeout_s = timeout_s
        self.scenario = scenario  # whose desired state it applies (None: ping only)
        self.last_probe: PhaseResult | None = None

    @property
    def orchestration(self) -> str:
        """The scenario's orchestration entry point for this method (a MethodError where it declares none)."""
        entry = self.scenario.orchestration_of(self.name) if self.scenario else None
        if not entry:
            raise MethodError(f"the scenario declares no orchestration for {self.name}")
        return entry

    @property
    def node_names(self) -> list[str]:
        return [n.name for n in self.cluster.nodes]

    @property
    def primary(self) -> str:
        return next(n.name for n in self.cluster.nodes if n.primary)

    @abc.abstractmethod
    def version(self) -> str:
        """The tool's version, as recorded with every result."""

    def run_on(self, machine: str, command: str) -> tuple[str, str, int, float]:
        """(stdout, stderr, exit code, seconds) of a command run with sudo on a machine of the cluster,
        stopped after the command timeout from settings (exit TIMED_OUT).

        Raises:
            MachineUnreachable: SSH could not reach the machine (it is down, or not where it was).
        """
        start = time.monotonic()
        try:
            result = self.cluster.run(machine, f"sudo {command}", timeout=self.timeout_s)
        except RuntimeError as exc:
            raise MachineUnreachable(machine, ssh_failure(exc)) from None
        return result.stdout, result.stderr, result.rc, time.monotonic() - start

    @property
    def step_timeout_s(self) -> int:
        """One step's bound, for a tool that can set one (Ansible's task timeout, pyinfra's per command), a
        little under the command timeout: a step that never ends fails on its own node, and the tool reports
        every other node, before the whole run is stopped."""
        return max(1, self.timeout_s - max(5, self.timeout_s // 6))

    def cut_off(self, tool: str, rc: int) -> str:
        """The phase's error when the tool was stopped by the command timeout, else ''."""
        if rc != TIMED_OUT:
            return ""
        return f"{tool} did not finish within {self.timeout_s} s (timeouts.command) and was stopped"

    def ready_probe(self) -> PhaseResult:
        """What wait_ready asks until it succeeds: a ping, unless a method knows better."""
        return self.ping()

    def wait_ready(self) -> float:
        """Block until every node can be driven (bounded by the timeout); return the seconds it took.

        The last probe is kept in `last_probe`: a cluster never ready says so in its `up` verdict."""
        return self.probe_until_ready(time.monotonic())

    def probe_until_ready(self, start: float) -> float:
        """Probe until every node is ready or the timeout has passed since start (a monotonic time); the
        seconds since start."""
        while True:
            self.last_probe = self.ready_probe()
            if self.last_probe.ok or time.monotonic() - start >= self.timeout_s:
                return time.monotonic() - start
            time.sleep(0.5)

    @abc.abstractmethod
    def ping(self) -> PhaseResult:
        """Reach every node."""

    @abc.abstractmethod
    def apply(self, phase: str = "apply") -> PhaseResult:
        """Converge the desired state; phase 'idempotence' marks any change as a failure."""

    @abc.abstractmethod
    def orchestrate(self) -> PhaseResult:
        """The ordered step: the primary first, then every secondary."""

    @abc.abstractmethod
    def dry_run(self) -> PhaseResult:
        """The tool's own dry run of the desired state (phase 'check'): per node, what it would change
        (`changed`, named in `detail`), changing nothing."""

    @abc.abstractmethod
    def declared_steps(self) -> tuple[str, ...]:
        """The orchestration's steps as its file declares them, in order: what `orchestrate` must report."""

    def secret_names(self) -> tuple[str, ...]:
        """The secrets the scenario declares as held by this method's tool."""
        return self.scenario.secret_names(self.name) if self.scenario else ()

    def secrets(self) -> list[tuple[str, Any]]:
        """(name, value) of each secret the scenario holds in this method's tool, the values as the tool gives
        them to the nodes (one pair per distinct value): what orka keeps out of every report from then on.
        By default the names are looked up in the vars the method gives every node, the scenario's.

        Raises:
            MethodError: a declared secret the tool does not know, named with where it was looked for.
        """
        names = self.secret_names()
        if not names:
            return []
        return values_of(names, self.secret_sources(), self.name, self.secret_sources_words)

    # Where secret_sources() looks, for the message naming a secret found nowhere.
    secret_sources_words: ClassVar[str] = "in the vars the method gives the nodes; name a var the desired state uses"

    def secret_sources(self) -> list[Mapping[str, Any]]:
        """What the default secrets() looks names up in: the inventory's vars (the scenario's with them) and each
        host's own."""
        inventory = self.cluster.inventory(self.name).with_vars(self.scenario.vars if self.scenario else {})
        return [inventory.vars, *(host.vars for host in inventory.hosts)]


def values_of(
    names: Iterable[str],
    sources: Iterable[Mapping[str, Any]],
    method: str,
    where: str = "in the vars the method gives the nodes; name a var the desired state uses",
) -> list[tuple[str, Any]]:
    """Each name's values in the sources (a var that differs between hosts: each of its values); a MethodError
    naming every secret found in none of them."""
    sources = list(sources)
    found: list[tuple[str, Any]] = []
    missing = []
    for name in names:
        values = [source[name] for source in sources if name in source]
        if not values:
            missing.append(name)
        found += [(name, value) for i, value in enumerate(values) if value not in values[:i]]
    if missing:
        raise MethodError(
            f"{method}: secret {', '.join(missing)} declared in scenario.yaml's `secrets.{method}` has no value {where}"
        )
    return found


def load_method(name: str) -> type[Method]:
    """The Method class of a method, by its name (its code imported now)."""
    cls: type[Method] = methods.imported(methods.descriptor(name).method_class)
    return cls
