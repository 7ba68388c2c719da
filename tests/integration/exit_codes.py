"""The tool's exit code of each phase, which PhaseResult does not carry: the methods, recording what
Method.run_on returned (the exit code of salt or ansible-playbook on the master, through sudo and timeout)."""

from __future__ import annotations

from orka.methods import Method, load_method
from orka.methods.ansible import AnsibleMethod
from orka.methods.base import ClusterView
from orka.methods.salt import SaltMethod


class _Recording(Method):
    """Keeps (command, exit code) of every command the method ran on a machine, in order."""

    def __init__(self, cluster: ClusterView, timeout_s: int) -> None:
        super().__init__(cluster, timeout_s)
        self.exits: list[tuple[str, int]] = []

    def run_on(self, machine: str, command: str) -> tuple[str, str, int, float]:
        stdout, stderr, rc, took = super().run_on(machine, command)
        self.exits.append((command, rc))
        return stdout, stderr, rc, took

    @property
    def last_exit(self) -> int | None:
        return self.exits[-1][1] if self.exits else None


class RecordingSalt(_Recording, SaltMethod):
    pass


class RecordingAnsible(_Recording, AnsibleMethod):
    pass


RECORDING: dict[str, type[Method]] = {"salt": RecordingSalt, "ansible": RecordingAnsible}


def method(name: str, cluster: ClusterView, timeout_s: int) -> Method:
    """The method by name; salt and ansible record their exit codes (custom runs no tool on a machine)."""
    return RECORDING.get(name, load_method(name))(cluster, timeout_s)


def last_exit(method: Method) -> int | None:
    """The exit code of the last command the method ran on a machine (its phase's tool), if it records them."""
    return method.last_exit if isinstance(method, _Recording) else None
