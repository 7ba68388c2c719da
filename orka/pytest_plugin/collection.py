"""Which tests a spike run has: parameters by method and node, each method's phases in order, then its checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from orka import methods
from orka.plan.build import masters_of
from orka.plan.layout import node_names
from orka.pytest_plugin import options
from orka.pytest_plugin.parallel import write_groups
from orka.report import junit

# method -> the (check, node) verify tests the run holds, for the verify phase's verdict as a whole
EXPECTED_CHECKS = pytest.StashKey[dict[str, set[tuple[str, str]]]]()


def method_of(item: pytest.Item) -> str | None:
    return next((m for m in methods.names() if item.get_closest_marker(m)), None)


def drives_a_method(item: pytest.Item) -> bool:
    return isinstance(item, pytest.Function) and "spike" in item.fixturenames


def phase_of(item: pytest.Item) -> str:
    """The phase a spike test checks: its `phase` marker, verify, or extra (beside the phases)."""
    marker = item.get_closest_marker("phase")
    if marker is not None:
        return str(marker.args[0])
    return junit.VERIFY if item.get_closest_marker("verify") else junit.EXTRA


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parameters named by machine, node, or method and node, with IDs like `salt-orka-node-2`."""
    names = metafunc.fixturenames
    if not {"machine", "node"} & set(names):
        return
    settings = options.settings(metafunc.config)
    nodes = node_names(settings.cluster)
    method = next((m for m in methods.names() if metafunc.definition.get_closest_marker(m)), None)
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
        machines = [machine for _, machine, _, _ in masters_of(settings.methods)] + nodes
        metafunc.parametrize("machine", machines, ids=machines)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run each method's phases in order, its verification right after them, one method after another."""
    worker_input = getattr(config, "workerinput", None)
    if worker_input and "orka_xdist_dir" in worker_input:  # for the controller's GroupScheduling
        write_groups(Path(worker_input["orka_xdist_dir"]), worker_input["workerid"], items)
    if not any(drives_a_method(item) for item in items):
        return
    order = {m: i for i, m in enumerate(options.settings(config).methods)}
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
