"""Which tests a spike run has: parameters by scenario, platform, method and node; each scenario x platform
x method's phases in order, then its checks, then its drift phase and (`test_<check>[<method>-<node>-repaired]`)
its checks again on the repaired server; a scenario's own checks (its verify/ folder) collected with the spikes."""

from __future__ import annotations

from pathlib import Path

import pytest

from orka import methods
from orka.config.platforms import DEFAULT_PLATFORM, Platform
from orka.config.scenario import CHECKS, SCENARIO_FILE, Scenario
from orka.config.settings import Settings
from orka.plan.build import masters_of
from orka.plan.layout import node_names
from orka.pytest_plugin import options
from orka.pytest_plugin.parallel import write_groups
from orka.report import junit
from orka.report.junit import REPAIRED
from orka.results.record import DRIFT

DRIFTED = pytest.mark.drift
# (scenario, platform, method) -> the (check, node) verify tests the run holds, for the verify phase's verdict
EXPECTED_CHECKS = pytest.StashKey[dict[tuple[str, str, str], set[tuple[str, str]]]]()


def method_of(item: pytest.Item) -> str | None:
    return next((m for m in methods.names() if item.get_closest_marker(m)), None)


def drives_a_method(item: pytest.Item) -> bool:
    return isinstance(item, pytest.Function) and "spike" in item.fixturenames


def phase_of(item: pytest.Item) -> str:
    """The phase a spike test checks: its `phase` marker, verify, drift, or extra (beside the phases)."""
    marker = item.get_closest_marker("phase")
    if marker is not None:
        return str(marker.args[0])
    if item.get_closest_marker("verify"):
        return junit.VERIFY
    return DRIFT if item.get_closest_marker(DRIFT) else junit.EXTRA


def is_check(item: pytest.Item) -> bool:
    """A scenario's own check (of its verify/ folder): after the apply, or again after the drift's repair."""
    return checks_of(item.path, options.settings(item.config)) is not None


def checks_of(path: Path, settings: Settings) -> Scenario | None:
    """The selected scenario whose verify/ folder holds this file, if one does."""
    return next((s for s in settings.scenarios if s.checks and path.resolve().is_relative_to(s.checks)), None)


def scenario_of(item: pytest.Item) -> Scenario:
    """The scenario a spike test belongs to: its checks' folder, its `scenario` parameter, or the only one."""
    settings = options.settings(item.config)
    owner = checks_of(item.path, settings)
    if owner is not None:
        return owner
    callspec = getattr(item, "callspec", None)
    name = callspec.params.get("scenario") if callspec is not None else None
    return settings.scenario(str(name)) if name else settings.scenarios[0]


def platform_of(item: pytest.Item) -> Platform:
    """The platform a spike test runs on: its `platform` parameter, or the only one."""
    settings = options.settings(item.config)
    callspec = getattr(item, "callspec", None)
    name = callspec.params.get("platform") if callspec is not None else None
    return next((p for p in settings.platforms if p.name == name), settings.platforms[0])


def platform_id(name: str) -> str | None:
    """The platform's part of a test ID: none for the default platform, whose tests keep their names."""
    return None if name == DEFAULT_PLATFORM else name


def _looks_like_a_scenario(folder: Path) -> bool:
    return (folder / SCENARIO_FILE).is_file() or any((folder / m).is_dir() for m in methods.names())


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """A verify/ folder of a scenario the run does not select is not collected (its checks are another's)."""
    if (
        collection_path.name != CHECKS
        or not collection_path.is_dir()
        or not _looks_like_a_scenario(collection_path.parent)
    ):
        return None
    if not options.runs_spikes(config):
        return None
    selected = {s.checks for s in options.settings(config).scenarios if s.checks}
    return None if collection_path.resolve() in selected else True


def pytest_configure(config: pytest.Config) -> None:
    """`pytest spikes/` collects every selected scenario's checks, a team's own repository's too."""
    if not options.runs_spikes(config) or not any(
        options.SPIKES_DIR.is_relative_to(Path(str(arg).split("::")[0]).resolve()) for arg in config.args
    ):
        return
    given = [Path(str(arg).split("::")[0]).resolve() for arg in config.args]
    for scenario in options.settings(config).scenarios:
        if scenario.checks and not any(scenario.checks.is_relative_to(path) for path in given):
            config.args.append(str(scenario.checks))


def _ids(*parts: str | None) -> str:
    return "-".join(p for p in parts if p)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parameters like `salt-orka-node-2`; with several scenarios `web-salt-orka-node-2` (and `web` alone), on
    a platform but the default one `debian-13-salt-orka-node-2` (the default platform's keep their names)."""
    names = set(metafunc.fixturenames)
    if not {"machine", "node", "spike"} & names:
        return
    settings = options.settings(metafunc.config)
    nodes = node_names(settings.cluster)
    platforms = [p.name for p in settings.platforms] if len(settings.platforms) > 1 else [None]
    owner = checks_of(metafunc.definition.path, settings)
    if owner is not None:  # a scenario's check: each method the scenario is written for, on each node
        mine = [m for m in settings.methods if m in owner.methods]
        # Each check again on the server the method repaired after the hand edits (not with --verify-only:
        # that runs the checks on a kept cluster as it is, no phase).
        again = owner.drift and not metafunc.config.getoption("verify_only", False)
        params = [
            pytest.param(
                p, m, n, id=_ids(p and platform_id(p), m, n, repaired), marks=[
                    getattr(pytest.mark, m), pytest.mark.xdist_group(m), DRIFTED if repaired else pytest.mark.verify
                ]
            )
            for repaired in ([None, REPAIRED] if again else [None])
            for p in platforms
            for m in mine
            for n in nodes
        ]  # fmt: skip
        if platforms == [None]:
            metafunc.parametrize(
                ("method", "node"), [pytest.param(*p.values[1:], id=p.id, marks=p.marks) for p in params]
            )
        else:
            metafunc.parametrize(("platform", "method", "node"), params, indirect=["platform"])
        return
    method = next((m for m in methods.names() if metafunc.definition.get_closest_marker(m)), None)
    several = [s.name for s in settings.scenarios] if len(settings.scenarios) > 1 else [None]
    variants = [(s, p) for s in several for p in platforms]
    axes = [axis for axis, values in (("scenario", several), ("platform", platforms)) if values != [None]]

    def values(scenario: str | None, platform: str | None) -> list[str]:
        return [v for v in (scenario, platform) if v is not None]

    def shown(scenario: str | None, platform: str | None) -> list[str | None]:
        return [scenario, platform and platform_id(platform)]

    if "node" in names and method is not None:  # a method's per-node check: test_apply[salt-orka-node-2]
        if not axes:
            metafunc.parametrize("node", nodes, ids=[f"{method}-{n}" for n in nodes])
        else:
            params = [pytest.param(*values(*v), n, id=_ids(*shown(*v), method, n)) for v in variants for n in nodes]
            metafunc.parametrize((*axes, "node"), params, indirect=axes)
    elif "spike" in names and axes:  # a method's whole-phase check, once per scenario and platform
        params = [pytest.param(*values(*v), id=_ids(*shown(*v)) or DEFAULT_PLATFORM) for v in variants]
        metafunc.parametrize(axes, params, indirect=True)
    elif "node" in names:
        metafunc.parametrize("node", nodes, ids=nodes)
    elif "machine" in names:
        machines = [machine for _, machine, _, _ in masters_of(settings.methods)] + nodes
        metafunc.parametrize("machine", machines, ids=machines)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run each scenario x method's phases in order, its checks right after them, one after another."""
    worker_input = getattr(config, "workerinput", None)
    if worker_input and "orka_xdist_dir" in worker_input:  # for the controller's GroupScheduling
        write_groups(Path(worker_input["orka_xdist_dir"]), worker_input["workerid"], items)
    if not any(drives_a_method(item) for item in items):
        return
    settings = options.settings(config)
    order = {m: i for i, m in enumerate(settings.methods)}
    scenarios = {s.name: i for i, s in enumerate(settings.scenarios)}
    platforms = {p.name: i for i, p in enumerate(settings.platforms)}
    unselected = [item for item in items if drives_a_method(item) and (method_of(item) or "") not in order]
    if unselected:
        config.hook.pytest_deselected(items=unselected)
        items[:] = [item for item in items if item not in unselected]

    def position(item: pytest.Item) -> tuple[int, int, int, int]:
        """Its phases, its checks, its drift phase, its checks again on the repaired server."""
        if not drives_a_method(item):
            return (-1, -1, -1, 0)
        method = method_of(item)
        stage = {junit.VERIFY: 1, DRIFT: 3 if is_check(item) else 2}.get(phase_of(item), 0)
        where = (scenarios[scenario_of(item).name], platforms[platform_of(item).name])
        return (*where, order.get(method, -1) if method else -1, stage)

    items.sort(key=position)
    expected: dict[tuple[str, str, str], set[tuple[str, str]]] = {}
    for item in items:
        if isinstance(item, pytest.Function) and item.get_closest_marker("verify") and hasattr(item, "callspec"):
            key = (scenario_of(item).name, platform_of(item).name, str(method_of(item)))
            expected.setdefault(key, set()).add((item.originalname, str(item.callspec.params.get("node"))))
    config.stash[EXPECTED_CHECKS] = expected
