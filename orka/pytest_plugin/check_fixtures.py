"""The fixtures a scenario's checks (its verify/*.py) take, as Molecule's testinfra verifier gives them.

`host` is testinfra's Host of the node under check, after the method's apply and
orchestration ran there; `method` and `node` are the test's parameters; `role`
is the node's (primary or secondary); `cluster` the nodes the method ran on.
Not a plugin: these are given to the checks' modules alone (checks.py), so
testinfra's own `host` stays what it is everywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from testinfra.host import Host

from orka.providers.base import Cluster
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


@pytest.fixture
def host(pytestconfig: pytest.Config, spike: Spike, node: str) -> Host:
    if not pytestconfig.getoption("verify_only"):
        spike.ensure("orchestrate")  # and apply before it, once per method (a scenario without one: apply alone)
    return spike.cluster.host(node)
