"""Methods side by side under pytest-xdist: each group whole on one worker, node IDs untouched, progress relayed.

A small suite of plain tests (no cluster) runs under `-n 3` in a pytest of its
own, with orka's plugin loaded as any pytest loads it (its entry point), so
the wiring under test is the real one: the plugin's xdist hooks, its
scheduler and orka.progress's relay.
"""

from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

from orka.progress import ProgressRelay, relay_to, tag, tagged
from orka.pytest_plugin.parallel import group_of, read_groups, write_groups

SUITE = """
import pytest

pytestmark = pytest.mark.parametrize("n", range(5))


@pytest.mark.xdist_group("salt")
def test_salt(n, orka_emit):
    if n == 0:
        orka_emit("[orka] hello from salt")


@pytest.mark.xdist_group("ansible")
def test_ansible(n, orka_emit):
    if n == 0:
        orka_emit("[orka] hello from ansible")


@pytest.mark.xdist_group("custom")
def test_custom(n):
    pass
"""
RAN = re.compile(r"^\[(gw\d)\] \[\s*\d+%\] PASSED (\S+)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Run:
    out: str
    junit: ET.Element
    code: int

    def workers(self) -> dict[str, set[str]]:
        """The workers each test function ran on."""
        found: dict[str, set[str]] = defaultdict(set)
        for worker, nodeid in RAN.findall(self.out):
            found[nodeid.split("::")[1].split("[")[0]].add(worker)
        return found


@pytest.fixture(scope="module")
def side_by_side(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """The suite under `pytest -n 3`, once for every test here (a second or two of pytest and three workers)."""
    folder = tmp_path_factory.mktemp("side_by_side")
    (folder / "test_groups.py").write_text(SUITE)
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "3"]
    command += ["--dist", "loadgroup", "-v", "--junitxml=junit.xml", "test_groups.py"]
    done = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=300, check=False)
    return Run(done.stdout + done.stderr, ET.parse(folder / "junit.xml").getroot(), done.returncode)


def test_each_group_runs_whole_on_a_worker_of_its_own(side_by_side: Run) -> None:
    assert side_by_side.code == 0, side_by_side.out
    assert "15 passed" in side_by_side.out
    assert "scheduling tests via GroupScheduling" in side_by_side.out
    workers = side_by_side.workers()
    assert set(workers) == {"test_salt", "test_ansible", "test_custom"}
    assert all(len(w) == 1 for w in workers.values()), workers
    assert len(set.union(*workers.values())) == 3, workers


def test_node_ids_and_junit_names_are_those_of_a_serial_run(side_by_side: Run) -> None:
    ran = {nodeid for _, nodeid in RAN.findall(side_by_side.out)}
    assert ran == {f"test_groups.py::test_{m}[{n}]" for m in ("salt", "ansible", "custom") for n in range(5)}
    names = {case.get("name") for case in side_by_side.junit.iter("testcase")}
    assert names == {f"test_{m}[{n}]" for m in ("salt", "ansible", "custom") for n in range(5)}


def test_a_workers_progress_reaches_the_terminal_tagged_with_the_worker(side_by_side: Run) -> None:
    out = side_by_side.out
    workers = side_by_side.workers()
    for method in ("salt", "ansible"):
        line = f"[orka {min(workers[f'test_{method}'])}] hello from {method}"
        assert any(row == line for row in out.splitlines()), f"{line!r} not on a line of its own in:\n{out}"


# -- the pieces ------------------------------------------------------------------


class Marked:
    """As much of a pytest.Item as group_of reads."""

    def __init__(self, nodeid: str, *marks: pytest.MarkDecorator) -> None:
        self.nodeid = nodeid
        self.marks = [m.mark for m in marks]

    def iter_markers(self, name: str) -> list[pytest.Mark]:
        return [m for m in self.marks if m.name == name]


def test_group_of_names_groups_as_xdist_does() -> None:
    assert group_of(Marked("a", pytest.mark.xdist_group("salt"))) == "salt"  # type: ignore[arg-type]
    assert group_of(Marked("a", pytest.mark.xdist_group(name="salt"))) == "salt"  # type: ignore[arg-type]
    two = Marked("a", pytest.mark.xdist_group("salt"), pytest.mark.xdist_group("faults"))
    assert group_of(two) == "faults_salt"  # type: ignore[arg-type]
    assert group_of(Marked("a", pytest.mark.salt)) is None  # type: ignore[arg-type]


def test_groups_written_by_the_workers_are_read_back_together(tmp_path: Path) -> None:
    write_groups(tmp_path, "gw0", [Marked("t::a", pytest.mark.xdist_group("salt")), Marked("t::b")])  # type: ignore[list-item]
    write_groups(tmp_path, "gw1", [Marked("t::c", pytest.mark.xdist_group("custom"))])  # type: ignore[list-item]
    assert read_groups(tmp_path) == {"t::a": "salt", "t::c": "custom"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["groups-gw0.json", "groups-gw1.json"]


@pytest.mark.parametrize(
    ("line", "label", "tagged_line"),
    [
        ("[orka] vagrant up", "gw1", "[orka gw1] vagrant up"),
        ("[orka]   12.0 s  ==> orka-node-1", "salt", "[orka salt]   12.0 s  ==> orka-node-1"),
        ("[orka salt] ping: ok", "gw0", "[orka gw0 salt] ping: ok"),
        ("[orkaish] x", "gw0", "[orka gw0] [orkaish] x"),
        ("plain", "gw2", "[orka gw2] plain"),
    ],
)
def test_tag_names_the_worker_and_method_after_orka(line: str, label: str, tagged_line: str) -> None:
    assert tag(line, label) == tagged_line


def test_the_relay_prints_every_workers_line_whole_and_stops_cleanly() -> None:
    printed: list[str] = []
    relay = ProgressRelay(printed.append)
    folder = Path(relay.address).parent
    emits = [tagged(tagged(relay_to(relay.address), f"gw{i}"), "salt") for i in range(3)]
    for n in range(50):
        for emit in emits:
            emit(f"[orka] line {n} " + "x" * 500)
    relay.close()
    assert len(printed) == 150
    assert all(re.fullmatch(r"\[orka gw\d salt\] line \d+ x{500}", line) for line in printed)
    assert not folder.exists()


def test_a_worker_whose_relay_is_gone_still_says_its_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    relay_to(str(tmp_path / "gone"))("[orka] still said")
    assert capsys.readouterr().err == "[orka] still said\n"
