"""The session's fixtures: the settings, a cluster with its testinfra hosts, and each method's spike.

`orka_emit` is the progress line writer: straight to the terminal past pytest's
capture, or from an xdist worker through the controller, tagged with the worker.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from testinfra.host import Host

from orka import methods
from orka.config.platforms import Platform
from orka.config.scenario import Scenario
from orka.config.settings import Settings
from orka.errors import OrkaError
from orka.plan.layout import cluster_name_for
from orka.progress import Emit, relay_to, tagged
from orka.providers.base import Cluster
from orka.providers.lifecycle import started
from orka.providers.pool import ClusterPool
from orka.pytest_plugin import options
from orka.pytest_plugin.collection import EXPECTED_CHECKS, method_of, platform_of, scenario_of
from orka.pytest_plugin.terminal import progress_writer
from orka.results.record import NORMAL
from orka.secrets import redacting
from orka.spike import Spike, SpikeRegistry


def emitter(config: pytest.Config) -> Emit:
    """Progress lines, each redacted of the declared secrets first."""
    worker_input = getattr(config, "workerinput", None)
    if worker_input and "orka_progress" in worker_input:
        return redacting(tagged(relay_to(worker_input["orka_progress"]), worker_input["workerid"]))
    return redacting(progress_writer(config))


def _side_by_side(config: pytest.Config) -> str:
    """The records' condition: several xdist workers share this machine's CPUs, and every phase's time shows it."""
    workers = int(getattr(config, "workerinput", {}).get("workercount", 1))
    return f"side by side on {workers} xdist workers" if workers > 1 else NORMAL


def _cluster_options(config: pytest.Config, worker_id: str) -> dict[str, Any]:
    """The cluster's name (an xdist worker's own), and whether to keep it or reuse a kept one."""
    return {
        "name": cluster_name_for(worker_id, config.getoption("cluster_name")),
        "keep": config.getoption("keep_cluster"),
        "reuse": config.getoption("reuse_cluster"),
    }


def _fail_on_orka_error(exc: OrkaError) -> None:
    # orka's own words (what failed and how to fix it), not a traceback from deep inside.
    pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def orka_emit(pytestconfig: pytest.Config) -> Emit:
    """A progress line to the user's terminal, also from an xdist worker."""
    return emitter(pytestconfig)


@pytest.fixture(scope="session")
def orka_settings(pytestconfig: pytest.Config) -> Settings:
    return options.settings(pytestconfig)


@pytest.fixture(scope="session")
def cluster(pytestconfig: pytest.Config, orka_settings: Settings, worker_id: str, orka_emit: Emit) -> Iterator[Cluster]:
    """The cluster with every selected method's master, up and ready; destroyed at the end."""
    lifecycle = started(orka_settings, **_cluster_options(pytestconfig, worker_id), emit=orka_emit)
    try:
        up = lifecycle.__enter__()
    except OrkaError as exc:
        _fail_on_orka_error(exc)
    try:
        yield up
    finally:
        lifecycle.__exit__(None, None, None)


@pytest.fixture(scope="session")
def hosts(cluster: Cluster) -> dict[str, Host]:
    """A testinfra host for every machine of the cluster, by name."""
    return {m.name: cluster.host(m.name) for m in cluster.machines}


@pytest.fixture(scope="session")
def spikes(
    pytestconfig: pytest.Config, orka_settings: Settings, worker_id: str, orka_emit: Emit
) -> Iterator[SpikeRegistry]:
    """Each method on a fresh cluster of its own (one at a time per worker)."""
    pool = ClusterPool(
        orka_settings, **_cluster_options(pytestconfig, worker_id), emit=orka_emit, clock=options.clock(pytestconfig)
    )
    registry = SpikeRegistry(
        pool,
        options.run_id(pytestconfig),
        options.results_path(pytestconfig),
        orka_settings.timeouts.command_s,
        orka_emit,
        orka_settings.to_dict(),
        tag_methods=hasattr(pytestconfig, "workerinput"),
        condition=_side_by_side(pytestconfig),
        tag_scenarios=len(orka_settings.scenarios) > 1,
        tag_platforms=len(orka_settings.platforms) > 1,
    )
    try:
        yield registry
    finally:
        try:
            # Each method's verify phase as a whole: every check collected for it, run and passed.
            expected = pytestconfig.stash.get(EXPECTED_CHECKS, {})
            for spike in registry.spikes():
                if checks := expected.get((spike.scenario.name, spike.platform.name, spike.name)):
                    spike.record_verify(checks)
                elif spike.scenario.checks is None:
                    spike.not_defined("verify", f"{spike.scenario.name} has no checks (verify/test_*.py)")
        finally:
            pool.close()


@pytest.fixture
def scenario(request: pytest.FixtureRequest) -> Scenario:
    """The scenario this test spikes: its checks' folder's, its `scenario` parameter's, or the only one."""
    return scenario_of(request.node)


@pytest.fixture
def platform(request: pytest.FixtureRequest) -> Platform:
    """The platform this test's cluster runs: its `platform` parameter, or the only one."""
    return platform_of(request.node)


@pytest.fixture
def method(request: pytest.FixtureRequest) -> str:
    """The method this test belongs to (its marker; a scenario's check has it as a parameter)."""
    name = method_of(request.node)
    if name is None:
        raise pytest.UsageError(
            f"{request.node.nodeid} uses `spike` but has no method marker ({', '.join(methods.names())})"
        )
    return name


@pytest.fixture
def spike(spikes: SpikeRegistry, method: str, scenario: Scenario, platform: Platform) -> Spike:
    """The method on its cluster for the scenario on the platform, ready to drive; a skip when the scenario has
    no folder of it."""
    if method not in scenario.methods:
        pytest.skip(spikes.not_written(method, scenario, platform))
    try:
        return spikes.get(method, scenario, platform)
    except OrkaError as exc:
        failure = exc
    _fail_on_orka_error(failure)  # outside the except: the message alone, not "During handling ..."
    raise failure
