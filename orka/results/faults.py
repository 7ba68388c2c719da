"""A method under a fault: how its run ended, and whether the next run on the same cluster converged.

The fault matrix (tests/integration/test_fault_matrix.py) puts each fault on a cluster while a method
applies, checks the nodes right after, takes the fault off, applies again and checks again. Its records,
in reports/faults.json (phase `fault`, `condition` the fault, `recovered`), are what the comparison page's
fault x method matrix shows.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from orka.results.record import PhaseResult, RunContext

FAULT = "fault"  # the records' phase
FAULTS_FILE = "faults.json"  # beside results.json
# How the run under the fault ended, worst last.
UNAFFECTED = "unaffected"  # every node passed, and its checks too
PARTIAL = "partial"  # the faulted nodes failed, saying why; every other node passed
LOUD = "fails loudly"  # nodes the fault did not touch failed too, or the whole run did: saying why
SILENT = "silently wrong"  # the tool said every node passed, and a check found a node wrong
OUTCOMES = (UNAFFECTED, PARTIAL, LOUD, SILENT)


@dataclass(frozen=True)
class FaultCell:
    """One method under one fault: the run under it and the checks right after, then the recovery's."""

    method: str
    fault: str
    faulted: tuple[str, ...]  # the nodes the fault was put on (all of them: a fault on the network)
    result: PhaseResult
    checks: Mapping[str, bool]  # node -> the scenario's checks passed, right after the run
    recovery: PhaseResult
    recovery_checks: Mapping[str, bool]
    left_running: tuple[str, ...] = ()  # what the method left running on a node once it gave up (a hung step)

    @property
    def outcome(self) -> str:
        if self.result.ok:
            return UNAFFECTED if all(self.checks.values()) else SILENT
        failed = {h.node for h in self.result.hosts if not h.ok}
        if self.result.error or not failed or not failed <= set(self.faulted):
            return LOUD
        return PARTIAL

    @property
    def recovered(self) -> bool:
        return self.recovery.ok and bool(self.recovery_checks) and all(self.recovery_checks.values())

    def words(self) -> str:
        """What the method said of the fault, in its own words: its error, each failed node's reason."""
        problems = self.result.problems()
        wrong = [node for node, ok in self.checks.items() if not ok]
        if not problems and wrong:
            return f"reported every node passed; the checks failed on {', '.join(wrong)}"
        return "; ".join(problems)


def fault_record(cell: FaultCell, context: RunContext) -> dict[str, Any]:
    """The cell as one record of reports/faults.json."""
    return {
        "run_id": context.run_id,
        "scenario": context.scenario,
        "method": cell.method,
        "phase": FAULT,
        "condition": cell.fault,
        "node": None,
        "faulted_nodes": list(cell.faulted),
        "outcome": cell.outcome,
        "recovered": cell.recovered,
        "words": cell.words(),
        "duration_s": round(cell.result.duration_s, 3),
        "recovery_s": round(cell.recovery.duration_s, 3),
        "left_running": list(cell.left_running),
        "recovery_problems": [
            *cell.recovery.problems(),
            *(f"{n}: checks failed" for n, ok in cell.recovery_checks.items() if not ok),
        ],
        "tool_version": context.tool_version,
        "cluster_size": context.cluster_size,
        "provider": context.provider,
        "node_os": context.node_os,
        "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
