"""Did the methods build the same server? A check per scenario, pair of methods and node, once all have applied.

Each method's apply leaves its fingerprint of every node in fingerprints.json
(orka.spike); the comparison needs every method's, and under xdist the methods
run on different workers, so no test of a worker can make it. The process that
writes JUnit (the xdist controller, or the only process) makes it at the end of
the session and reports each comparison as a testcase of its own,
`spikes/equivalence.py::test_same_server[<method>-<method>-<node>]` (the
scenario first when the run has several), as xdist reports its workers' tests:
JUnit, pytest-html and the terminal get it like any other, and a difference
fails the run. A pair is compared when both methods ran in the run.
"""

from __future__ import annotations

import time
from itertools import combinations
from typing import Literal

import pytest
from _pytest.reports import TestReport

from orka.config.platforms import on_platform
from orka.plan.layout import node_names
from orka.pytest_plugin import options
from orka.pytest_plugin.terminal import line_writer
from orka.report.equivalence import compare_node
from orka.results.fingerprint import fingerprints_path, read_left
from orka.results.store import read_records

MODULE = "spikes/equivalence.py"
TEST = "test_same_server"
PHASE = "equivalence"


Outcome = Literal["passed", "failed", "skipped"]
Longrepr = tuple[str, int, str] | str | None
Check = tuple[str, Outcome, Longrepr, list[tuple[str, str]]]  # nodeid, outcome, longrepr, JUnit properties
WHEN: tuple[Literal["setup", "call", "teardown"], ...] = ("setup", "call", "teardown")


def _emit(session: pytest.Session, check: Check) -> None:
    nodeid, outcome, longrepr, properties = check
    hook = session.config.hook
    location = (MODULE, None, nodeid.split("::", 1)[1])
    hook.pytest_runtest_logstart(nodeid=nodeid, location=location)
    now = time.time()
    for when in WHEN:
        result: Outcome = outcome if when == "call" else "passed"
        text = longrepr if when == "call" else None
        report = TestReport(
            nodeid, location, {TEST: 1, PHASE: 1}, result, text, when, start=now, stop=now, user_properties=properties
        )
        hook.pytest_runtest_logreport(report=report)
    hook.pytest_runtest_logfinish(nodeid=nodeid, location=location)


def equivalence_checks(config: pytest.Config) -> list[Check]:
    """(nodeid, outcome, longrepr, JUnit properties) of every comparison this run can make."""
    settings = options.settings(config)
    results = options.results_path(config)
    run_id = options.run_id(config)
    left = read_left(fingerprints_path(results), run_id)
    ran = {
        (on_platform(str(r.get("scenario")), str(r.get("platform") or "")), str(r.get("method")))
        for r in read_records(results)
        if r.get("run_id") == run_id
    }
    several = len(settings.scenarios) > 1
    checks: list[Check] = []
    for scenario, platform in [(s, p.name) for s in settings.scenarios for p in settings.platforms]:
        variant = on_platform(scenario.name, platform)
        written = [m for m in settings.methods if m in scenario.methods and (variant, m) in ran]
        for first, second in combinations(written, 2):
            for node in node_names(settings.cluster):
                shown = [*([scenario.name] if several else []), *([platform] if variant != scenario.name else [])]
                nodeid = f"{MODULE}::{TEST}[{'-'.join([*shown, first, second, node])}]"
                props = [("scenario", scenario.name)] if several else []
                props += [("platform", platform)] if variant != scenario.name else []
                props += [("method", first), ("compared_with", second), ("phase", PHASE), ("node", node)]
                props.append(("duration_s", "0.000"))
                comparison = compare_node(left, variant, first, second, node)
                differences = comparison.differences
                if comparison.missing:
                    why = f"{' and '.join(comparison.missing)} left no fingerprint on {node}: "
                    why += "its apply did not run to the end"
                    checks.append((nodeid, "skipped", (MODULE, 0, f"Skipped: {why}"), props))
                elif comparison.stale:
                    why = f"{' and '.join(comparison.stale)}'s {node} was not fresh when its cluster came up "
                    why += "(reused?): nothing to compare against"
                    checks.append((nodeid, "skipped", (MODULE, 0, f"Skipped: {why}"), props))
                elif differences:
                    items = f"{len(differences)} item{'s' if len(differences) != 1 else ''}"
                    lines = [f"{first} and {second} left {node} differently ({items}):"]
                    lines += [f"  {d}" for d in differences]
                    lines.append(
                        f"fix the desired state of one, or declare what may differ in {scenario.name}'s "
                        "scenario.yaml (equivalence.ignore, equivalence.naming_method)"
                    )
                    checks.append((nodeid, "failed", "\n".join(lines), props))
                else:
                    checks.append((nodeid, "passed", None, props))
    return checks


@pytest.hookimpl(tryfirst=True)  # before junitxml and pytest-html write their files, and the terminal's summary
def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    if hasattr(config, "workerinput") or not options.runs_spikes(config) or config.option.collectonly:
        return
    if not options.results_path(config).exists():
        return
    checks = equivalence_checks(config)
    failed = sum(outcome == "failed" for _, outcome, _, _ in checks)
    if checks:
        line_writer(config)(f"[orka] equivalence: {len(checks)} comparisons of the methods' nodes, {failed} differing")
    session.testscollected += len(checks)
    for check in checks:
        _emit(session, check)
    if failed and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
