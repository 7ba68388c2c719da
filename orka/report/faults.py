"""The comparison page's fault x method matrix, from reports/faults.json (orka.results.faults).

Each cell is the latest run of that method under that fault: how the run under it ended (unaffected,
partial, fails loudly, silently wrong), whether the next apply on the same cluster converged every node
and its checks passed (recovered), the two times, the method's own words, and what it left running on a
node after it gave up (a step that never ends).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orka import methods
from orka.results.faults import FAULT, LOUD, OUTCOMES, PARTIAL, SILENT, UNAFFECTED

# The page's colour of each outcome: a fault a method went through unharmed is a pass.
STATUS = {UNAFFECTED: "pass", PARTIAL: "partial", LOUD: "fail", SILENT: "fail"}


@dataclass(frozen=True)
class FaultMatrixCell:
    method: str
    outcome: str = ""  # "" where the fault was not put on this method (not applicable)
    recovered: bool = False
    duration_s: float | None = None
    recovery_s: float | None = None
    words: str = ""
    recovery_problems: tuple[str, ...] = ()
    faulted_nodes: tuple[str, ...] = ()
    left_running: tuple[str, ...] = ()

    @property
    def status(self) -> str:
        return STATUS.get(self.outcome, "none")


@dataclass(frozen=True)
class FaultRow:
    fault: str
    cells: tuple[FaultMatrixCell, ...]


@dataclass(frozen=True)
class FaultMatrixView:
    path: str
    methods: tuple[str, ...] = ()
    rows: tuple[FaultRow, ...] = ()
    note: str = ""
    run_id: str = ""
    cluster_size: int = 0
    recorded_at: str = ""


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _cell(method: str, record: dict[str, Any] | None) -> FaultMatrixCell:
    if record is None:
        return FaultMatrixCell(method)
    outcome = str(record.get("outcome", ""))
    return FaultMatrixCell(
        method,
        outcome if outcome in OUTCOMES else "",
        record.get("recovered") is True,
        _number(record.get("duration_s")),
        _number(record.get("recovery_s")),
        str(record.get("words") or ""),
        tuple(str(p) for p in record.get("recovery_problems") or ()),
        tuple(str(n) for n in record.get("faulted_nodes") or ()),
        tuple(str(n) for n in record.get("left_running") or ()),
    )


def fault_matrix(records: Sequence[dict[str, Any]], shown: str) -> FaultMatrixView:
    """The latest record of each fault x method (the file keeps every run), in the order the faults were run."""
    faults = [r for r in records if isinstance(r, dict) and r.get("phase") == FAULT and r.get("condition")]
    if not faults:
        return FaultMatrixView(shown, note=f"{shown} holds no fault records")
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for record in faults:  # appended in time order: a later run's record replaces an earlier one's
        latest[(str(record["condition"]), str(record.get("method", "")))] = record
    order = list(dict.fromkeys(str(r["condition"]) for r in faults))
    known = methods.names()
    shown_methods = sorted({m for _, m in latest}, key=lambda m: (known.index(m) if m in known else len(known), m))
    rows = tuple(FaultRow(f, tuple(_cell(m, latest.get((f, m))) for m in shown_methods)) for f in order)
    last = faults[-1]
    return FaultMatrixView(
        shown,
        tuple(shown_methods),
        rows,
        run_id=str(last.get("run_id", "")),
        cluster_size=int(last.get("cluster_size") or 0),
        recorded_at=str(last.get("recorded_at", "")),
    )


def fault_matrix_view(path: Path, shown: str) -> FaultMatrixView | None:
    """The section, or None when the fault matrix has left no faults.json."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        return FaultMatrixView(shown, note=f"could not read {shown}: {exc}")
    if not isinstance(data, list):
        return FaultMatrixView(shown, note=f"{shown} does not hold a JSON list")
    return fault_matrix(data, shown)
