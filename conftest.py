"""orka's pytest wiring: command line options, session fixtures, test order.

The logic lives in the orka package; this file only connects it to pytest.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from testinfra.host import Host

from orka.cluster import Cluster, started
from orka.errors import OrkaError
from orka.pool import ClusterPool
from orka.progress import Emit
from orka.settings import METHODS, REPO_ROOT, Settings, load_settings, resolve_settings_path
from orka.spec import cluster_name_for, master_machines, node_names
from orka.spike import Spike, SpikeRegistry

SETTINGS = pytest.StashKey[Settings]()
RUN_ID = pytest.StashKey[str]()
SPIKES_DIR = REPO_ROOT / "spikes"
RESULTS = REPO_ROOT / "reports" / "results.json"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("orka", "orka cluster")
    group.addoption("--settings", help="settings file (default: ORKA_SETTINGS, else settings/user_settings.yaml)")
    group.addoption("--cluster-size", type=int, help="number of nodes, overrides settings: cluster")
    group.addoption("--provider", help="auto, docker, virtualbox or libvirt, overrides settings: provider")
    group.addoption("--keep-cluster", action="store_true", help="leave the (last) cluster up after the run")
    group.addoption("--reuse-cluster", action="store_true", help="use a cluster kept by --keep-cluster")


def _runs_spikes(config: pytest.Config) -> bool:
    return any(Path(str(arg).split("::")[0]).resolve().is_relative_to(SPIKES_DIR) for arg in config.args)


def pytest_configure(config: pytest.Config) -> None:
    worker_input = getattr(config, "workerinput", None)
    if worker_input is not None:  # an xdist worker: the run belongs to the controller
        config.stash[RUN_ID] = worker_input["orka_run_id"]
        return
    config.stash[RUN_ID] = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    if _runs_spikes(config):
        # A new spike run starts a new results.json: reports compare one run.
        RESULTS.unlink(missing_ok=True)


def pytest_configure_node(node: object) -> None:
    """xdist: every worker records under the controller's run id."""
    node.workerinput["orka_run_id"] = node.config.stash[RUN_ID]  # type: ignore[attr-defined]


def _settings(config: pytest.Config) -> Settings:
    """Load and validate once, before anything boots; a bad file stops the run with its message."""
    if SETTINGS not in config.stash:
        path = resolve_settings_path(config.getoption("settings"), os.environ)
        overrides = {"cluster": config.getoption("cluster_size"), "provider": config.getoption("provider")}
        try:
            config.stash[SETTINGS] = load_settings(path, overrides)
        except OrkaError as exc:
            raise pytest.UsageError(str(exc)) from None
    return config.stash[SETTINGS]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parameters named by machine, node, or method and node, with IDs like `salt-orka-node-2`."""
    names = metafunc.fixturenames
    if not {"machine", "node"} & set(names):
        return
    settings = _settings(metafunc.config)
    nodes = node_names(settings.cluster)
    if "method" in names and "node" in names:
        params = [
            pytest.param(m, n, id=f"{m}-{n}", marks=[getattr(pytest.mark, m), pytest.mark.xdist_group(m)])
            for m in settings.methods
            for n in nodes
        ]
        metafunc.parametrize(("method", "node"), params)
    elif "node" in names:
        metafunc.parametrize("node", nodes, ids=nodes)
    else:
        machines = [name for name, _ in master_machines(settings.methods)] + nodes
        metafunc.parametrize("machine", machines, ids=machines)


def method_of(item: pytest.Item) -> str | None:
    return next((m for m in METHODS if item.get_closest_marker(m)), None)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run each method's phases in order, its verification right after them, one method after another."""

    def drives_a_method(item: pytest.Item) -> bool:
        return isinstance(item, pytest.Function) and "spike" in item.fixturenames

    if not any(drives_a_method(item) for item in items):
        return
    order = {m: i for i, m in enumerate(_settings(config).methods)}
    unselected = [item for item in items if drives_a_method(item) and (method_of(item) or "") not in order]
    if unselected:
        config.hook.pytest_deselected(items=unselected)
        items[:] = [item for item in items if item not in unselected]

    def position(item: pytest.Item) -> tuple[int, int]:
        method = method_of(item)
        verify = 1 if item.get_closest_marker("verify") else 0
        return (order.get(method, -1) if method else -1, verify)

    items.sort(key=position)


def _terminal_emit(config: pytest.Config) -> Emit:
    """Progress lines straight to the terminal, past pytest's output capture."""
    capture = config.pluginmanager.getplugin("capturemanager")
    writer = config.get_terminal_writer()
    lock = threading.Lock()

    def emit(line: str) -> None:
        with lock, capture.global_and_fixture_disabled():
            writer.line(line)

    return emit


def _fail_on_orka_error(exc: OrkaError) -> None:
    # orka's own words (what failed and how to fix it), not a traceback from deep inside.
    pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def orka_settings(pytestconfig: pytest.Config) -> Settings:
    return _settings(pytestconfig)


@pytest.fixture(scope="session")
def cluster(pytestconfig: pytest.Config, orka_settings: Settings, worker_id: str) -> Iterator[Cluster]:
    """The cluster with every selected method's master, up and ready; destroyed at the end."""
    lifecycle = started(
        orka_settings,
        name=cluster_name_for(worker_id),
        keep=pytestconfig.getoption("keep_cluster"),
        reuse=pytestconfig.getoption("reuse_cluster"),
        emit=_terminal_emit(pytestconfig),
    )
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
def spikes(pytestconfig: pytest.Config, orka_settings: Settings, worker_id: str) -> Iterator[SpikeRegistry]:
    """Each method on a fresh cluster of its own (one at a time per worker)."""
    emit = _terminal_emit(pytestconfig)
    pool = ClusterPool(
        orka_settings,
        name=cluster_name_for(worker_id),
        keep=pytestconfig.getoption("keep_cluster"),
        reuse=pytestconfig.getoption("reuse_cluster"),
        emit=emit,
    )
    try:
        yield SpikeRegistry(pool, pytestconfig.stash[RUN_ID], RESULTS, orka_settings.timeouts.command_s, emit)
    finally:
        pool.close()


@pytest.fixture
def spike(request: pytest.FixtureRequest, spikes: SpikeRegistry) -> Spike:
    """The method this test belongs to (by its marker), on its cluster, ready to drive."""
    method = method_of(request.node)
    if method is None:
        raise pytest.UsageError(f"{request.node.nodeid} uses `spike` but has no method marker ({', '.join(METHODS)})")
    try:
        return spikes.get(method)
    except OrkaError as exc:
        _fail_on_orka_error(exc)
        raise


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Each verification check becomes a verify record of its method and node."""
    report: pytest.TestReport = yield
    if call.when == "call" and isinstance(item, pytest.Function) and item.get_closest_marker("verify"):
        spike = item.funcargs.get("spike")
        if isinstance(spike, Spike):
            detail = "" if report.passed else str(report.longrepr).strip().splitlines()[-1][:300]
            node = str(item.funcargs.get("node", ""))
            spike.record_check(node, item.originalname, report.passed, report.duration, detail)
    return report
