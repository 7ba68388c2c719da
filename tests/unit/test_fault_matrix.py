"""The fault matrix as pure logic: how a run under a fault is classified, its record, and the page's matrix."""

from __future__ import annotations

import json
from pathlib import Path

from orka.report.faults import fault_matrix, fault_matrix_view
from orka.report.page import render_comparison
from orka.results.faults import LOUD, PARTIAL, SILENT, UNAFFECTED, FaultCell, fault_record
from orka.results.record import HostOutcome, PhaseResult, RunContext

DATA = Path(__file__).parent / "data" / "results"
NODES = ("orka-node-1", "orka-node-2", "orka-node-3")
ALL_PASS = {n: True for n in NODES}


def run(*failed: str, error: str = "", why: str = "Minion did not return") -> PhaseResult:
    hosts = tuple(HostOutcome(n, ok=n not in failed, failed=int(n in failed), detail=why if n in failed else "")
                  for n in NODES)  # fmt: skip
    return PhaseResult("salt", "apply", hosts, 12.5, error=error)


def cell(
    result: PhaseResult,
    checks: dict[str, bool] = ALL_PASS,
    recovery: PhaseResult | None = None,
    recovery_checks: dict[str, bool] = ALL_PASS,
    faulted: tuple[str, ...] = ("orka-node-3",),
) -> FaultCell:
    return FaultCell("salt", "node rebooted mid-apply", faulted, result, checks, recovery or run(), recovery_checks)


def test_a_run_is_classified_by_where_it_failed_and_what_the_checks_found() -> None:
    assert cell(run()).outcome == UNAFFECTED
    assert cell(run("orka-node-3")).outcome == PARTIAL
    assert cell(run("orka-node-2", "orka-node-3")).outcome == LOUD  # a node the fault did not touch failed too
    assert cell(run(error="Salt master orka-master is unreachable")).outcome == LOUD
    assert cell(run(), checks={**ALL_PASS, "orka-node-3": False}).outcome == SILENT
    # A fault on the network touches every node: every one may fail and it is still the fault's.
    assert cell(run(*NODES), faulted=NODES).outcome == PARTIAL


def test_recovered_needs_the_next_apply_and_every_check_to_pass() -> None:
    assert cell(run("orka-node-3")).recovered
    assert not cell(run(), recovery=run("orka-node-1")).recovered
    assert not cell(run(), recovery_checks={**ALL_PASS, "orka-node-2": False}).recovered
    assert not cell(run(), recovery_checks={}).recovered


def test_the_method_s_own_words_are_kept_and_a_silent_wrong_is_named() -> None:
    assert cell(run("orka-node-3")).words() == "orka-node-3: Minion did not return"
    silent = cell(run(), checks={**ALL_PASS, "orka-node-3": False})
    assert silent.words() == "reported every node passed; the checks failed on orka-node-3"


def test_the_record_holds_the_outcome_recovery_and_times() -> None:
    context = RunContext("r1", 3, "docker", "salt 3008.4", scenario="faults")
    record = fault_record(cell(run("orka-node-3")), context)
    assert record["phase"] == "fault"
    assert record["condition"] == "node rebooted mid-apply"
    assert (record["outcome"], record["recovered"]) == (PARTIAL, True)
    assert (record["duration_s"], record["recovery_s"]) == (12.5, 12.5)
    assert record["faulted_nodes"] == ["orka-node-3"]
    assert record["recovery_problems"] == []
    assert record["left_running"] == []
    hung = FaultCell("ansible", "a step that never ends", ("orka-node-3",), run("orka-node-3"), ALL_PASS, run(),
                     ALL_PASS, ("the hanging step on orka-node-3",))  # fmt: skip
    assert fault_record(hung, context)["left_running"] == ["the hanging step on orka-node-3"]
    assert fault_matrix([fault_record(hung, context)], "f").rows[0].cells[0].left_running == (
        "the hanging step on orka-node-3",
    )


def test_the_page_matrix_takes_each_cell_s_latest_run_in_the_faults_order(tmp_path: Path) -> None:
    context = RunContext("r1", 3, "docker", "v", scenario="faults")
    first = fault_record(cell(run("orka-node-3")), context)
    later = {**fault_record(cell(run(), recovery=run("orka-node-1")), context), "run_id": "r2"}
    loss = {**first, "condition": "packet loss 10%", "method": "custom"}
    view = fault_matrix([first, loss, later], "faults.json")
    assert view.methods == ("salt", "custom")  # orka's order of the methods
    assert [row.fault for row in view.rows] == ["node rebooted mid-apply", "packet loss 10%"]
    reboot, network = view.rows
    assert (reboot.cells[0].outcome, reboot.cells[0].recovered, reboot.cells[0].status) == (UNAFFECTED, False, "pass")
    assert reboot.cells[1].outcome == ""  # custom was not run under it: not applicable
    assert (network.cells[1].outcome, network.cells[1].status) == (PARTIAL, "partial")
    path = tmp_path / "faults.json"
    path.write_text(json.dumps([first]))
    shown = fault_matrix_view(path, "faults.json")
    assert shown is not None
    assert shown.rows[0].cells[0].words == "orka-node-3: Minion did not return"
    assert fault_matrix_view(tmp_path / "none.json", "x") is None
    path.write_text("{}")
    broken = fault_matrix_view(path, "faults.json")
    assert broken is not None
    assert broken.note == "faults.json does not hold a JSON list"


def test_the_comparison_page_shows_the_matrix_from_faults_json_beside_the_results(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    results.write_text((DATA / "all_green.json").read_text())
    context = RunContext("r1", 3, "docker", "v", scenario="faults")
    hung = FaultCell("ansible", "a step that never ends", ("orka-node-3",), run("orka-node-3", why="Timed out"),
                     ALL_PASS, run(), ALL_PASS, ("the hanging step on orka-node-3",))  # fmt: skip
    (tmp_path / "faults.json").write_text(json.dumps([fault_record(hung, context)]))
    html = render_comparison(results, tmp_path / "page.html", bench_path=None, scale_dir=None).read_text()
    table = html[
        html.index('<table class="faults" id="faults-table">') : html.index("</table>", html.index("faults-table"))
    ]
    assert '<tr data-fault="a step that never ends">' in table
    assert 'data-method="ansible" data-outcome="partial" data-recovered="yes"' in table
    assert "orka-node-3: Timed out" in table
    assert "left running: the hanging step on orka-node-3" in table
    (tmp_path / "faults.json").unlink()
    assert (
        'id="faults"'
        not in render_comparison(results, tmp_path / "page.html", bench_path=None, scale_dir=None).read_text()
    )
