"""Faults that tests/integration/test_teardown.py runs, each in a pytest session of its own.

Not collected by `pytest tests/` (the name does not start with test_):
test_teardown.py names one test of this module on the command line, with
--cluster-name and a settings file of its own, so that the repository's
conftest.py brings the cluster up as it does for any run.
"""

from __future__ import annotations

import subprocess

import pytest

from orka.providers.base import Cluster


def running_containers(cluster: Cluster) -> list[str]:
    listing = ["docker", "ps", "-q", "--filter", f"label=orka.cluster={cluster.name}", "--filter", "status=running"]
    return subprocess.run(listing, capture_output=True, text=True, check=True).stdout.split()


def test_fails_an_assert(cluster: Cluster) -> None:
    running = running_containers(cluster)
    up = f"cluster {cluster.name} was up with {len(running)} running containers"
    assert running == [], f"the failure under test: {up}"


@pytest.fixture
def broken(cluster: Cluster) -> None:
    running = running_containers(cluster)
    raise RuntimeError(f"the fault under test: cluster {cluster.name} was up with {len(running)} running containers")


def test_with_a_broken_fixture(broken: None) -> None:
    """Never runs: its fixture raises."""
