"""orka's two scenarios in one run, as a user runs several:
`pytest spikes/ --scenario spikes/example --scenario spikes/web -k "web or custom"`.

web with every method, its drift phase and its checks again after the repair; the example beside it with the
custom method alone (`-k`: its salt and ansible run in full in `make spike`), each scenario x method on a fresh
cluster of its own (cluster orka-scenarios), each scenario's checks per method x node in JUnit in its
method's class (spikes.web.salt; the example's package is spikes: spikes.custom), web's orchestrate
"not defined" (it has none) as a skip while the example's runs, and the page's matrix and drift table of each
scenario. The reports go to a folder of the test's own (ORKA_REPORTS), never to reports/.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from orka.config import REPO_ROOT

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("scenarios")]

METHODS = ("salt", "ansible", "custom", "pyinfra")
NODES = ("orka-node-1", "orka-node-2", "orka-node-3")
EXAMPLE_CHECKS = (
    "test_tree_is_installed",
    "test_orka_user_and_group",
    "test_node_conf",
    "test_agent_serves_the_node_page",
    "test_cluster_json_spread_from_the_primary",
)
CHECKS = (
    "test_nginx_runs_enabled",
    "test_the_node_serves_its_own_name",
    "test_the_proxy_config_names_the_primary",
    "test_every_node_forwards_to_the_primary",
)


@pytest.fixture(scope="module")
def web_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    reports = tmp_path_factory.mktemp("scenario-reports")
    command = [sys.executable, "-m", "pytest", "spikes/", "--scenario", "spikes/example", "--scenario", "spikes/web"]
    command += ["--cluster-name", "orka-scenarios", "-k", "web or custom"]
    command += ["-p", "no:cacheprovider", "--results", str(reports / "results.json")]
    run = subprocess.run(
        command, cwd=REPO_ROOT, capture_output=True, text=True, check=False, timeout=1800,
        env={**os.environ, "ORKA_REPORTS": str(reports)},
    )  # fmt: skip
    return run, reports


def test_both_scenarios_pass_for_every_method(web_run: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    run, _ = web_run
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    for method in METHODS:
        assert f"[orka web/{method}] {method} orchestrate: not defined" in run.stdout
        assert re.search(rf"\[orka web/{method}\] {method} drift: ok in", run.stdout), run.stdout[-3000:]
    assert re.search(r"\[orka example/custom\] custom orchestrate: ok in", run.stdout), run.stdout[-3000:]
    assert "[orka example/salt]" not in run.stdout  # -k: the example's salt is make spike's


def test_its_checks_are_in_junit_per_method_and_node(web_run: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    _, reports = web_run
    cases = list(ET.parse(reports / "junit.xml").getroot().iter("testcase"))
    checks = {(c.get("classname"), c.get("name")) for c in cases}
    for method in METHODS:
        for node in NODES:
            for check in CHECKS:
                assert (f"spikes.web.{method}", f"test_web.{check}[{method}-{node}]") in checks
                assert (f"spikes.web.{method}", f"test_web.{check}[{method}-{node}-repaired]") in checks
            assert (f"spikes.web.{method}", f"test_drift[web-{method}-{node}]") in checks
    for node in NODES:
        for check in EXAMPLE_CHECKS:  # the example's package is spikes: its custom tests are spikes.custom
            assert ("spikes.custom", f"test_desired_state.{check}[custom-{node}]") in checks
    skipped = [c for c in cases if c.find("skipped") is not None]
    assert skipped, "orchestrate is not defined for web: its tests skip"
    assert all("not defined" in (c.find("skipped").get("message") or "") for c in skipped)  # type: ignore[union-attr]
    properties = [{p.get("name"): p.get("value") for p in c.iter("property")} for c in cases]
    assert {p.get("scenario") for p in properties if p.get("phase")} == {"example", "web"}
    skipped_scenarios = {
        p.get("scenario") for c, p in zip(cases, properties, strict=True) if c.find("skipped") is not None
    }
    assert skipped_scenarios == {"web"}, "only web has no orchestration"


def test_the_records_and_page_carry_the_scenario(web_run: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    _, reports = web_run
    records = json.loads((reports / "results.json").read_text())
    assert {r["scenario"] for r in records} == {"example", "web"}
    orchestrate = {(r["scenario"], r["verdict"]) for r in records if r["phase"] == "orchestrate" and r["node"] is None}
    assert orchestrate == {("web", "not defined"), ("example", "pass")}
    drift = [r for r in records if r["phase"] == "drift" and r["node"] and not r.get("check")]
    assert {(r["scenario"], r["method"]) for r in drift} == {("web", m) for m in METHODS} | {("example", "custom")}
    for record in (r for r in drift if r["scenario"] == "web"):
        # The proxy config edited on every node; the page removed and nginx stopped on the last as well.
        assert record["verdict"] == "pass", record["reasons"]
        made = 3 if record["node"] == NODES[-1] else 1
        assert len(record["facts"]["found"]) == made, record["facts"]
        assert record["facts"]["repaired"] is True
    again = [r for r in records if r["phase"] == "drift" and r.get("check") and r["scenario"] == "web"]
    assert len(again) == len(METHODS) * len(NODES) * len(CHECKS)
    assert all(r["verdict"] == "pass" for r in again)
    # What each method's apply changed that no check looks at, node by node, on its verify record.
    verify = [r for r in records if r["phase"] == "verify" and r["node"] is None and r["scenario"] == "web"]
    assert {r["method"] for r in verify} == set(METHODS)
    assert all(set(r["facts"]["unchecked"]) == set(NODES) for r in verify), verify
    page = (reports / "comparison.html").read_text()
    assert '<table class="drift" data-scenario="web">' in page
    assert '<div class="unchecked" data-scenario="web">' in page
    assert 'data-scenario="web"' in page
    assert 'data-scenario="example"' in page
    assert 'data-status="not-defined"' in page
    command = [sys.executable, "-m", "orka.report.junit", str(reports / "junit.xml")]
    command += ["--results", str(reports / "results.json")]
    check = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stdout
