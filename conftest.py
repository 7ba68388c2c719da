"""orka's pytest wiring: command line options and the session fixtures.

The logic lives in the orka package; this file only connects it to pytest.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator

import pytest
from testinfra.host import Host

from orka.cluster import Cluster, started
from orka.errors import OrkaError
from orka.progress import Emit
from orka.settings import METHODS, Settings, load_settings, resolve_settings_path
from orka.spec import cluster_name_for, master_machines, node_names

SETTINGS = pytest.StashKey[Settings]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("orka", "orka cluster")
    group.addoption("--settings", help="settings file (default: ORKA_SETTINGS, else settings/user_settings.yaml)")
    group.addoption("--cluster-size", type=int, help="number of nodes, overrides settings: cluster")
    group.addoption("--provider", help="auto, docker, virtualbox or libvirt, overrides settings: provider")
    group.addoption("--keep-cluster", action="store_true", help="leave the cluster up after the run")
    group.addoption("--reuse-cluster", action="store_true", help="use a cluster kept by --keep-cluster")


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
    """`machine` and `node` parameters, with readable IDs: the machine's own name."""
    for fixture in ("machine", "node"):
        if fixture in metafunc.fixturenames:
            settings = _settings(metafunc.config)
            names = node_names(settings.cluster)
            if fixture == "machine":
                names = [name for name, _ in master_machines(settings.methods)] + names
            metafunc.parametrize(fixture, names, ids=names)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Create masters only for the methods whose tests were selected (for example `-m salt`)."""
    if not any("cluster" in getattr(item, "fixturenames", ()) for item in items):
        return
    settings = _settings(config)
    selected = {m for item in items for m in METHODS if item.get_closest_marker(m)}
    if selected:
        methods = tuple(m for m in settings.methods if m in selected)
        config.stash[SETTINGS] = load_settings(
            resolve_settings_path(config.getoption("settings"), os.environ),
            {
                "cluster": settings.cluster,
                "provider": config.getoption("provider"),
                "methods": list(methods or settings.methods),
            },
        )


def _terminal_emit(config: pytest.Config) -> Emit:
    """Progress lines straight to the terminal, past pytest's output capture."""
    capture = config.pluginmanager.getplugin("capturemanager")
    writer = config.get_terminal_writer()
    lock = threading.Lock()

    def emit(line: str) -> None:
        with lock, capture.global_and_fixture_disabled():
            writer.line(line)

    return emit


@pytest.fixture(scope="session")
def orka_settings(pytestconfig: pytest.Config) -> Settings:
    return _settings(pytestconfig)


@pytest.fixture(scope="session")
def cluster(pytestconfig: pytest.Config, orka_settings: Settings, worker_id: str) -> Iterator[Cluster]:
    """The cluster, up and ready; one per xdist worker, destroyed at the end."""
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
        # orka's own words (what failed and how to fix it), not a traceback from deep inside.
        pytest.fail(str(exc), pytrace=False)
    try:
        yield up
    finally:
        lifecycle.__exit__(None, None, None)


@pytest.fixture(scope="session")
def hosts(cluster: Cluster) -> dict[str, Host]:
    """A testinfra host for every machine of the cluster, by name."""
    return {m.name: cluster.host(m.name) for m in cluster.machines}
