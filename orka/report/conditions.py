"""The comparison page's "Under network latency" table, from reports/conditions.json.

The fault tests (tests/integration/test_faults.py) run phases of every method
under a network condition and append their records to conditions.json, in
results.json's format with one key more, `condition` ("normal", or a fault such
as "latency 100 ms"; a record without it was made under "normal"). The table
gives, per method and phase, the median time under each condition, how many
runs failed (and on how many nodes), and how much slower than normal it was.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from orka import methods
from orka.report.records import Record, read_records
from orka.results.record import NORMAL

PHASE_ORDER = ("up", "ping", "apply", "idempotence", "orchestrate", "verify")


@dataclass(frozen=True)
class ConditionCell:
    """One method's phase under one condition, over every run of it in the file."""

    condition: str
    runs: int
    median_s: float | None = None
    failed_runs: int = 0
    failed_nodes: int = 0
    why: str = ""  # the last failure's first problem
    factor: float | None = None  # median against the median under normal

    @property
    def status(self) -> str:
        return "none" if not self.runs else ("fail" if self.failed_runs else "pass")


@dataclass(frozen=True)
class ConditionRow:
    method: str
    phase: str
    cells: tuple[ConditionCell, ...]


@dataclass(frozen=True)
class ConditionsView:
    path: str
    conditions: tuple[str, ...] = ()
    rows: tuple[ConditionRow, ...] = ()
    note: str = ""  # why there is no table
    cluster_sizes: tuple[int, ...] = ()
    runs: tuple[str, ...] = ()
    first_at: str = ""
    last_at: str = ""


def _rank(order: Sequence[str], name: str) -> tuple[int, str]:
    return (order.index(name) if name in order else len(order), name)


def _cell(condition: str, wholes: Sequence[Record], normal_median: float | None) -> ConditionCell:
    times = [r.duration_s for r in wholes if r.duration_s is not None]
    failed = [r for r in wholes if not r.passed]
    median = statistics.median(times) if times else None
    why = ""
    if failed:
        last = failed[-1]
        why = last.error or f"{last.failed} node(s) failed"
    factor = median / normal_median if median is not None and normal_median else None
    return ConditionCell(
        condition,
        len(wholes),
        median,
        len(failed),
        sum(r.failed for r in failed),
        why,
        None if condition == NORMAL else factor,
    )


def conditions_of(records: Sequence[Record], shown: str) -> ConditionsView:
    """The table of the whole-phase records: per method and phase, per condition (normal first)."""
    wholes = [r for r in records if r.whole]
    if not wholes:
        return ConditionsView(shown, note=f"{shown} holds no whole-phase records")
    conditions = sorted({r.condition for r in wholes}, key=lambda c: (c != NORMAL, c))
    keys = sorted(
        {(r.method, r.phase) for r in wholes},
        key=lambda k: (_rank(methods.names(), k[0]), _rank(PHASE_ORDER, k[1])),
    )
    rows = []
    for method, phase in keys:
        mine = [r for r in wholes if (r.method, r.phase) == (method, phase)]
        by_condition = {c: [r for r in mine if r.condition == c] for c in conditions}
        normal = _cell(NORMAL, by_condition.get(NORMAL, []), None)
        cells = tuple(normal if c == NORMAL else _cell(c, by_condition[c], normal.median_s) for c in conditions)
        rows.append(ConditionRow(method, phase, cells))
    stamps = sorted(r.recorded_at for r in wholes if r.recorded_at)
    return ConditionsView(
        shown,
        tuple(conditions),
        tuple(rows),
        cluster_sizes=tuple(sorted({r.cluster_size for r in wholes if r.cluster_size})),
        runs=tuple(sorted({r.run_id for r in wholes})),
        first_at=stamps[0] if stamps else "",
        last_at=stamps[-1] if stamps else "",
    )


def conditions_view(path: Path, shown: str) -> ConditionsView | None:
    """The section, or None when the fault tests have left no conditions.json."""
    try:
        records = read_records(path)
    except FileNotFoundError:
        return None
    except ValueError as exc:
        return ConditionsView(shown, note=f"could not read {shown}: it {exc}")
    return conditions_of(records, shown)
