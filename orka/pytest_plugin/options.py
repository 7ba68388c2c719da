"""The plugin's command line options, and the settings a run reads once, before anything boots."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from orka import methods
from orka.config import REPO_ROOT
from orka.config.preflight import check_files
from orka.config.settings import Settings, load_settings, resolve_settings_path
from orka.errors import OrkaError
from orka.timings import Clock, clock_to, timings_path

SETTINGS = pytest.StashKey[Settings]()
RUN_ID = pytest.StashKey[str]()
SPIKES_DIR = REPO_ROOT / "spikes"
# Where a spike run leaves its reports: reports/, or ORKA_REPORTS (orka's own tests
# run spike sessions there, so the reports of the user's last run stay as they were).
REPORTS = Path(os.environ.get("ORKA_REPORTS") or REPO_ROOT / "reports").resolve()
RESULTS = REPORTS / "results.json"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("orka", "orka cluster")
    group.addoption("--settings", help="settings file (default: ORKA_SETTINGS, else settings/user_settings.yaml)")
    group.addoption("--cluster-size", type=int, help="number of nodes, overrides settings: cluster")
    group.addoption("--provider", help="auto, docker, virtualbox, libvirt or static, overrides settings: provider")
    group.addoption("--keep-cluster", action="store_true", help="leave the (last) cluster up after the run")
    group.addoption("--reuse-cluster", action="store_true", help="use a cluster kept by --keep-cluster")
    group.addoption(
        "--results",
        default=str(RESULTS),
        help="the spike run's records, replaced by each run (default: reports/results.json; "
        "reports/scale/<nodes>.json keeps a run per cluster size for the report's scale chart)",
    )
    group.addoption("--cluster-name", help="the cluster's name, in .orka/clusters/ (default: ORKA_CLUSTER, or orka)")
    group.addoption(
        "--verify-only",
        action="store_true",
        help="run the scenarios' checks on a kept cluster as it is (with --reuse-cluster): no apply, no orchestration",
    )
    group.addoption(
        "--scenario",
        action="append",
        metavar="PATH",
        help="a scenario folder to spike (repeatable), overrides settings: scenarios (default: spikes/example)",
    )
    group.addoption(
        "--platform",
        action="append",
        metavar="NAME",
        help="a node OS release to spike on (repeatable), overrides settings: platforms (default: debian-12)",
    )


def pytest_configure(config: pytest.Config) -> None:
    """A marker per method, from its descriptor (`pytest spikes/ -m salt`)."""
    for descriptor in methods.descriptors():
        config.addinivalue_line("markers", f"{descriptor.name}: {descriptor.summary}")


def runs_spikes(config: pytest.Config) -> bool:
    """Does the run hold spikes: spikes/, or a scenario given with --scenario (a team's own repository)?"""
    roots = [SPIKES_DIR, *(config.invocation_params.dir / p for p in config.getoption("scenario", None) or ())]
    paths = [Path(str(arg).split("::")[0]).resolve() for arg in config.args]
    return any(path.is_relative_to(root.resolve()) for path in paths for root in roots)


def results_path(config: pytest.Config) -> Path:
    """--results, relative to the folder pytest was started in (workers share the controller's)."""
    return (config.invocation_params.dir / str(config.getoption("results"))).resolve()


def clock(config: pytest.Config) -> Clock:
    """The run's timings of the harness's own parts, beside its results (orka.timings)."""
    return clock_to(timings_path(results_path(config)))


def run_id(config: pytest.Config) -> str:
    if RUN_ID not in config.stash:
        worker_input = getattr(config, "workerinput", None)  # an xdist worker: the run belongs to the controller
        config.stash[RUN_ID] = (
            worker_input["orka_run_id"] if worker_input else time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        )
    return config.stash[RUN_ID]


def settings(config: pytest.Config) -> Settings:
    """Load and validate once, before anything boots; a bad file stops the run with its message."""
    if SETTINGS not in config.stash:
        path = resolve_settings_path(config.getoption("settings"), os.environ)
        overrides: dict[str, object] = {
            "cluster": config.getoption("cluster_size"),
            "provider": config.getoption("provider"),
            "platforms": config.getoption("platform"),
        }
        if config.getoption("scenario"):  # relative to where pytest was started, as a path on a command line is
            overrides["scenarios"] = [str(config.invocation_params.dir / p) for p in config.getoption("scenario")]
        try:
            config.stash[SETTINGS] = check_files(load_settings(path, overrides))
        except OrkaError as exc:
            raise pytest.UsageError(str(exc)) from None
    return config.stash[SETTINGS]
