"""The fixtures a scenario's checks (its verify/*.py) take, as Molecule's testinfra verifier gives them.

`host` is testinfra's Host of the node under check, after the method's apply and
orchestration ran there (a check run again after the drift phase: after its repair);
`method` and `node` are the test's parameters; `role`
is the node's (primary or secondary); `cluster` the nodes the method ran on.
Not a plugin: these are given to the checks' modules alone (checks.py), so
testinfra's own `host` stays what it is everywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from testinfra.backend.base import CommandResult
from testinfra.host import Host

from orka.providers.base import Cluster
from orka.results.record import DRIFT
from orka.spike import Spike

PRIMARY = "primary"
SECONDARY = "secondary"


@dataclass(frozen=True)
class ClusterUnderTest:
    """What a check may know of the cluster: its nodes by name, the primary, and a host for each node."""

    cluster: Cluster

    @property
    def name(self) -> str:
        return self.cluster.name

    @property
    def nodes(self) -> tuple[str, ...]:
        return tuple(n.name for n in self.cluster.nodes)

    @property
    def primary(self) -> str:
        return self.cluster.spec.primary.name

    @property
    def secondaries(self) -> tuple[str, ...]:
        return tuple(n for n in self.nodes if n != self.primary)

    def role(self, node: str) -> str:
        return PRIMARY if node == self.primary else SECONDARY

    def host(self, node: str) -> Host:
        return self.cluster.host(node)


@pytest.fixture
def cluster(spike: Spike) -> ClusterUnderTest:
    return ClusterUnderTest(spike.cluster)


@pytest.fixture
def role(cluster: ClusterUnderTest, node: str) -> str:
    return cluster.role(node)


class WatchedHost(Host):  # type: ignore[misc]  # testinfra has no type hints
    """testinfra's Host of a node, writing down each command a check runs: what the checks look at."""

    def __init__(self, host: Host, commands: list[str]) -> None:
        super().__init__(host.backend)
        self._commands = commands

    def run(self, command: str, *args: str, **kwargs: Any) -> CommandResult:
        self._commands.append(self.backend.quote(command, *args))
        return super().run(command, *args, **kwargs)


@pytest.fixture
def host(request: pytest.FixtureRequest, spike: Spike, node: str) -> Host:
    if request.node.get_closest_marker(DRIFT):  # the check again, on the server the drift phase repaired
        spike.ensure(DRIFT)
        return spike.cluster.host(node)
    if not request.config.getoption("verify_only"):
        spike.ensure("orchestrate")  # and apply before it, once per method (a scenario without one: apply alone)
    commands = spike.check_commands.setdefault(node, [])
    key = (id(commands), node)
    if key not in _watched:  # one per method's node: testinfra keeps what it learnt of the node (its OS) on it
        _watched[key] = WatchedHost(spike.cluster.host(node), commands)
    return _watched[key]


_watched: dict[tuple[int, str], WatchedHost] = {}
