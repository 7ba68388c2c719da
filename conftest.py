"""orka's pytest wiring: command line options, session fixtures, test order, and the
reports a spike run leaves by itself (reports/junit.xml for Bamboo, reports/pytest.html).

The logic lives in the orka package; this file only connects it to pytest.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
from testinfra.host import Host

from orka.cluster import WHEELHOUSE_PINS, Cluster, started
from orka.errors import OrkaError
from orka.parallel import GroupScheduling, write_groups
from orka.pool import ClusterPool
from orka.preflight import check_files
from orka.progress import Emit, ProgressRelay, relay_to, tagged
from orka.report import junit
from orka.settings import METHODS, REPO_ROOT, Settings, load_settings, resolve_settings_path
from orka.spec import cluster_name_for, master_machines, node_names
from orka.spike import Spike, SpikeRegistry

SETTINGS = pytest.StashKey[Settings]()
RUN_ID = pytest.StashKey[str]()
METADATA = pytest.StashKey[dict[str, Any]]()  # pytest-metadata's dict: the html report's environment table
RELAY = pytest.StashKey[ProgressRelay]()  # xdist controller: the workers' progress lines to the terminal
XDIST_DIR = pytest.StashKey[Path]()  # xdist controller: where the workers leave their tests' groups
CALL_DURATION = pytest.StashKey[float]()
EXPECTED_CHECKS = pytest.StashKey[dict[str, set[tuple[str, str]]]]()  # method -> the (check, node) verify tests run
SPIKES_DIR = REPO_ROOT / "spikes"
# Where a spike run leaves its reports: reports/, or ORKA_REPORTS (orka's own tests
# run spike sessions there, so the reports of the user's last run stay as they were).
REPORTS = Path(os.environ.get("ORKA_REPORTS") or REPO_ROOT / "reports").resolve()
RESULTS = REPORTS / "results.json"
JUNIT_XML = REPORTS / junit.DEFAULT_JUNIT.name  # reports/junit.xml, where the Bamboo plan reads it
HTML_REPORT = REPORTS / "pytest.html"


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
    group.addoption("--cluster-name", help="the cluster's name, for its state in .orka/clusters/ (default: orka)")


def _runs_spikes(config: pytest.Config) -> bool:
    return any(Path(str(arg).split("::")[0]).resolve().is_relative_to(SPIKES_DIR) for arg in config.args)


def _results(config: pytest.Config) -> Path:
    """--results, relative to the folder pytest was started in (workers share the controller's)."""
    return (config.invocation_params.dir / str(config.getoption("results"))).resolve()


def _run_id(config: pytest.Config) -> str:
    if RUN_ID not in config.stash:
        worker_input = getattr(config, "workerinput", None)  # an xdist worker: the run belongs to the controller
        run_id = worker_input["orka_run_id"] if worker_input else time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        config.stash[RUN_ID] = run_id
    return config.stash[RUN_ID]


@pytest.hookimpl(tryfirst=True)  # before junitxml and pytest-html read their options
def pytest_configure(config: pytest.Config) -> None:
    _run_id(config)
    if hasattr(config, "workerinput"):
        # orka hands xdist the groups itself (orka/parallel.py): xdist's loadgroup must not rename node IDs.
        config.option.loadgroup = False
    if hasattr(config, "workerinput") or config.option.collectonly or not _runs_spikes(config):
        return  # a worker, a --collect-only, or not a spike run: no reports to start
    # Bad settings stop the run here (a usage error), before the last run's reports are touched.
    _settings(config)
    # A new spike run starts a new results.json: reports compare one run.
    _results(config).unlink(missing_ok=True)
    # And leaves reports/junit.xml (for Bamboo) and reports/pytest.html, unless told where else.
    if hasattr(config.option, "xmlpath") and not config.option.xmlpath:
        config.option.xmlpath = str(JUNIT_XML)
    if hasattr(config.option, "htmlpath") and not config.option.htmlpath:
        config.option.htmlpath = str(HTML_REPORT)
        config.option.self_contained_html = True


def pytest_configure_node(node: Any) -> None:
    """xdist: every worker records under the controller's run id, says its tests' groups, relays its progress."""
    config: pytest.Config = node.config
    if XDIST_DIR not in config.stash:
        config.stash[XDIST_DIR] = Path(tempfile.mkdtemp(prefix="orka-xdist-"))
        config.stash[RELAY] = ProgressRelay(_line_writer(config))
    node.workerinput["orka_run_id"] = config.stash[RUN_ID]
    node.workerinput["orka_xdist_dir"] = str(config.stash[XDIST_DIR])
    node.workerinput["orka_progress"] = config.stash[RELAY].address


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> GroupScheduling | None:
    """`--dist loadgroup` (the default): each xdist_group (a spike method) whole on one worker, node IDs unchanged.

    A spike run is scheduled so whatever --dist says: a method's tests spread over workers would
    bring its cluster up on each of them, and make a worker switch clusters back and forth."""
    dist = config.getvalue("dist")
    if XDIST_DIR not in config.stash or dist == "each" or (dist != "loadgroup" and not _runs_spikes(config)):
        return None
    if dist != "loadgroup":
        config.get_terminal_writer().line(f"[orka] spikes: --dist {dist} ignored, each method's tests on one worker")
    return GroupScheduling(config, log, config.stash[XDIST_DIR])


def _line_writer(config: pytest.Config) -> Emit:
    """Lines on a line of their own, between pytest's progress dots (a worker's progress, the report's path)."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    writer = config.get_terminal_writer()
    lock = threading.Lock()

    def write(line: str) -> None:
        with lock:
            if reporter is not None:
                reporter.ensure_newline()
            if writer.width_of_current_line:
                writer.line()
            writer.line(line)

    return write


def _stop_relay(config: pytest.Config) -> None:
    """Print the workers' last lines, then remove the relay and the groups."""
    relay = config.stash.get(RELAY, None)
    if relay is not None:
        del config.stash[RELAY]
        relay.close()
    folder = config.stash.get(XDIST_DIR, None)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


def _settings(config: pytest.Config) -> Settings:
    """Load and validate once, before anything boots; a bad file stops the run with its message."""
    if SETTINGS not in config.stash:
        path = resolve_settings_path(config.getoption("settings"), os.environ)
        overrides = {"cluster": config.getoption("cluster_size"), "provider": config.getoption("provider")}
        try:
            config.stash[SETTINGS] = check_files(load_settings(path, overrides))
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
    method = next((m for m in METHODS if metafunc.definition.get_closest_marker(m)), None)
    if "method" in names and "node" in names:
        params = [
            pytest.param(m, n, id=f"{m}-{n}", marks=[getattr(pytest.mark, m), pytest.mark.xdist_group(m)])
            for m in settings.methods
            for n in nodes
        ]
        metafunc.parametrize(("method", "node"), params)
    elif "node" in names and method is not None:  # a method's per-node check: test_apply[salt-orka-node-2]
        metafunc.parametrize("node", nodes, ids=[f"{method}-{n}" for n in nodes])
    elif "node" in names:
        metafunc.parametrize("node", nodes, ids=nodes)
    else:
        machines = [name for name, _ in master_machines(settings.methods)] + nodes
        metafunc.parametrize("machine", machines, ids=machines)


def method_of(item: pytest.Item) -> str | None:
    return next((m for m in METHODS if item.get_closest_marker(m)), None)


def drives_a_method(item: pytest.Item) -> bool:
    return isinstance(item, pytest.Function) and "spike" in item.fixturenames


def phase_of(item: pytest.Item) -> str:
    """The phase a spike test checks: its `phase` marker, verify, or extra (beside the phases)."""
    marker = item.get_closest_marker("phase")
    if marker is not None:
        return str(marker.args[0])
    return junit.VERIFY if item.get_closest_marker("verify") else junit.EXTRA


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run each method's phases in order, its verification right after them, one method after another."""
    worker_input = getattr(config, "workerinput", None)
    if worker_input and "orka_xdist_dir" in worker_input:  # for the controller's GroupScheduling
        write_groups(Path(worker_input["orka_xdist_dir"]), worker_input["workerid"], items)
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
    expected: dict[str, set[tuple[str, str]]] = {}
    for item in items:
        if isinstance(item, pytest.Function) and item.get_closest_marker("verify") and hasattr(item, "callspec"):
            params = item.callspec.params
            expected.setdefault(str(params.get("method")), set()).add((item.originalname, str(params.get("node"))))
    config.stash[EXPECTED_CHECKS] = expected


def _terminal_emit(config: pytest.Config) -> Emit:
    """Progress lines straight to the terminal, past pytest's output capture."""
    capture = config.pluginmanager.getplugin("capturemanager")
    writer = config.get_terminal_writer()
    lock = threading.Lock()

    def emit(line: str) -> None:
        with lock, capture.global_and_fixture_disabled():
            writer.line(line)

    return emit


def _side_by_side(config: pytest.Config) -> str:
    """The records' condition: several xdist workers share this machine's CPUs, and every phase's time shows it."""
    workers = int(getattr(config, "workerinput", {}).get("workercount", 1))
    return f"side by side on {workers} xdist workers" if workers > 1 else "normal"


def _emit(config: pytest.Config) -> Emit:
    """Progress to the terminal: directly, or from an xdist worker through the controller, tagged with the worker."""
    worker_input = getattr(config, "workerinput", None)
    if worker_input and "orka_progress" in worker_input:
        return tagged(relay_to(worker_input["orka_progress"]), worker_input["workerid"])
    return _terminal_emit(config)


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
        name=cluster_name_for(worker_id, pytestconfig.getoption("cluster_name")),
        keep=pytestconfig.getoption("keep_cluster"),
        reuse=pytestconfig.getoption("reuse_cluster"),
        emit=_emit(pytestconfig),
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
    emit = _emit(pytestconfig)
    pool = ClusterPool(
        orka_settings,
        name=cluster_name_for(worker_id, pytestconfig.getoption("cluster_name")),
        keep=pytestconfig.getoption("keep_cluster"),
        reuse=pytestconfig.getoption("reuse_cluster"),
        emit=emit,
    )
    registry = SpikeRegistry(
        pool,
        pytestconfig.stash[RUN_ID],
        _results(pytestconfig),
        orka_settings.timeouts.command_s,
        emit,
        orka_settings.to_dict(),
        tag_methods=hasattr(pytestconfig, "workerinput"),
        condition=_side_by_side(pytestconfig),
    )
    try:
        yield registry
    finally:
        try:
            # Each method's verify phase as a whole: every check collected for it, run and passed.
            expected = pytestconfig.stash.get(EXPECTED_CHECKS, {})
            for spike in registry.spikes():
                if expected.get(spike.name):
                    spike.record_verify(expected[spike.name])
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
        failure = exc
    _fail_on_orka_error(failure)  # outside the except: the message alone, not "During handling ..."
    raise failure


def _case_properties(item: pytest.Function) -> list[tuple[str, str]]:
    """method, phase, node, duration_s (the phase's, else the test's own) and check, for the JUnit testcase."""
    phase = phase_of(item)
    spike = item.funcargs.get("spike") if item.funcargs else None
    done = spike.done.get(phase) if isinstance(spike, Spike) else None
    duration = done.duration_s if done is not None else item.stash.get(CALL_DURATION, 0.0)
    node = item.callspec.params.get("node") if hasattr(item, "callspec") else None
    node = str(node) if node else None
    check = item.originalname if phase == junit.VERIFY else None
    return junit.case_properties(method_of(item) or "", phase, node, duration, check)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Each spike test's JUnit properties; each verification check becomes a verify record of its method and node."""
    if call.when == "teardown" and isinstance(item, pytest.Function) and drives_a_method(item):
        item.user_properties.extend(_case_properties(item))  # junitxml reads the teardown report's
    report: pytest.TestReport = yield
    if call.when == "call" and isinstance(item, pytest.Function):
        item.stash[CALL_DURATION] = report.duration
    # A check is recorded when it ran, or when its set-up failed (it then never runs: that is its verdict too).
    ran = call.when == "call" or (call.when == "setup" and report.failed)
    if ran and isinstance(item, pytest.Function) and item.get_closest_marker("verify"):
        spike = (item.funcargs or {}).get("spike")
        if isinstance(spike, Spike):
            detail = "" if report.passed else str(report.longrepr).strip().splitlines()[-1][:300]
            if call.when == "setup":
                detail = f"not run, its set-up failed: {detail}"
            node = str(item.callspec.params.get("node", "")) if hasattr(item, "callspec") else ""
            spike.record_check(node, item.originalname, report.passed, report.duration, detail)
    return report


@pytest.hookimpl(optionalhook=True)
def pytest_metadata(metadata: dict[str, Any], config: pytest.Config) -> None:
    """pytest-metadata: the cluster's facts in the html report's environment table."""
    if _runs_spikes(config) and not hasattr(config, "workerinput"):
        metadata.update(junit.environment(_settings(config), _run_id(config), WHEELHOUSE_PINS))
        config.stash[METADATA] = metadata


def _junit_suite_properties(config: pytest.Config) -> None:
    """provider, cluster_size and run_id on the JUnit testsuite, as the run found them.

    Added by the process that writes the file (the xdist controller, or the only
    process): a worker's record_testsuite_property never reaches it. junitxml's
    plugin object is only reachable through its private stash key."""
    from _pytest.junitxml import xml_key

    xml = config.stash.get(xml_key, None)
    if xml is not None:
        for name, value in junit.suite_properties(_settings(config), _results(config), _run_id(config)).items():
            xml.add_global_property(name, value)


@pytest.hookimpl(tryfirst=True)  # before junitxml and pytest-html write their files
def pytest_sessionfinish(session: pytest.Session) -> None:
    """What the run found out (provider, node OS, each tool's version) replaces what the settings asked;
    then the methods' comparison is made from results.json, as `orka report` makes it."""
    config = session.config
    if hasattr(config, "workerinput"):
        return
    _stop_relay(config)  # the workers are done: their last lines before the summary
    if not _runs_spikes(config):
        return
    results = _results(config)
    metadata = config.stash.get(METADATA, None)
    if metadata is not None:
        metadata.update(junit.recorded_environment(_settings(config), results, _run_id(config)))
    _junit_suite_properties(config)
    if not config.option.collectonly and results.exists():
        from orka.report.page import render_comparison  # matplotlib: loaded only when a report is made

        try:
            written = render_comparison(results, REPORTS / junit.COMPARISON, scale_dir=REPORTS / "scale")
        except OrkaError as exc:
            _line_writer(config)(f"[orka] no comparison report: {exc}")
        else:
            _line_writer(config)(f"[orka] comparison report: {written}")


def pytest_unconfigure(config: pytest.Config) -> None:
    _stop_relay(config)  # also when the session ended early


@pytest.hookimpl(optionalhook=True)
def pytest_html_results_summary(
    prefix: list[str], summary: list[str], postfix: list[str], session: pytest.Session
) -> None:
    """pytest-html: a link to the methods' comparison, made in the same folder by `orka report`."""
    if _runs_spikes(session.config):
        html_report = Path(session.config.option.htmlpath).resolve()
        prefix.append(junit.comparison_link(html_report, REPORTS / junit.COMPARISON))
