"""Two methods that do not build the same server: orka's equivalence check fails, naming the item.

data/unequal/ writes one file with Ansible (0644) and with the runner (0600), the
same content. `pytest spikes/` on it, the two methods side by side (-n 2, so the
comparison is made where every worker's fingerprints meet): every phase passes,
and the comparison of each node fails with that one item, in the terminal, in
JUnit, on the page and from `python -m orka.report.equivalence`. The example's
methods, which build the same server, pass theirs in test_scenarios.py's run.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from orka.config import REPO_ROOT
from orka.report.junit import validate_junit

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("equivalence")]

DATA = Path(__file__).parent / "data" / "unequal"
NODES = ("orka-node-1", "orka-node-2", "orka-node-3")
DIFFERENCE = re.compile(
    r"(?P<node>orka-node-\d) file /etc/orka-unequal\.conf: "
    r"ansible f root:root 0644 (?P<sum>sha256:[0-9a-f]{16}), custom f root:root 0600 (?P=sum)"
)
Run = tuple[subprocess.CompletedProcess[str], Path]


@pytest.fixture(scope="module")
def unequal_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    reports = tmp_path_factory.mktemp("unequal-reports")
    command = [sys.executable, "-m", "pytest", "spikes/", "--scenario", str(DATA), "--cluster-name", "orka-unequal"]
    command += ["-n", "2", "-p", "no:cacheprovider", "--results", str(reports / "results.json")]
    run = subprocess.run(
        command, cwd=REPO_ROOT, capture_output=True, text=True, check=False, timeout=1200,
        env={**os.environ, "ORKA_REPORTS": str(reports)},
    )  # fmt: skip
    return run, reports


def test_the_run_fails_on_the_difference_alone(unequal_run: Run) -> None:
    run, reports = unequal_run
    assert run.returncode == 1, run.stdout[-4000:] + run.stderr[-2000:]
    cases = list(ET.parse(reports / "junit.xml").getroot().iter("testcase"))
    failed = {c.get("name") for c in cases if c.find("failure") is not None or c.find("error") is not None}
    assert failed == {f"test_same_server[ansible-custom-{node}]" for node in NODES}, failed
    assert "[orka] equivalence: 3 comparisons of the methods' nodes, 3 differing" in run.stdout
    for node in NODES:
        assert f"ansible and custom left {node} differently (1 item):" in run.stdout


def test_each_node_names_the_item_with_both_values(unequal_run: Run) -> None:
    _, reports = unequal_run
    cases = {c.get("name"): c for c in ET.parse(reports / "junit.xml").getroot().iter("testcase")}
    for node in NODES:
        case = cases[f"test_same_server[ansible-custom-{node}]"]
        assert case.get("classname") == "spikes.unequal.equivalence"
        failure = case.find("failure")
        assert failure is not None
        found = DIFFERENCE.search(failure.get("message", ""))
        assert found is not None, failure.get("message")
        assert found["node"] == node
        properties = {p.get("name"): p.get("value") for p in case.iter("property")}
        assert properties["method"] == "ansible"
        assert properties["compared_with"] == "custom"
        assert properties["phase"] == "equivalence"
        assert properties["node"] == node
    assert validate_junit(reports / "junit.xml") == []


def test_the_page_and_the_command_show_the_same(unequal_run: Run) -> None:
    _, reports = unequal_run
    page = (reports / "comparison.html").read_text()
    assert 'data-pair="ansible-custom" data-status="different"' in page
    assert len(DIFFERENCE.findall(page)) == len(NODES)
    check = subprocess.run(
        [sys.executable, "-m", "orka.report.equivalence", str(reports / "fingerprints.json")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert check.returncode == 1, check.stdout + check.stderr
    assert "unequal: ansible / custom on 3 nodes: 3 differences" in check.stdout
