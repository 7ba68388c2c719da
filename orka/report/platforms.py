"""The comparison page's method x platform matrix: each scenario's methods on each node OS release of the run.

A run on one platform has no such matrix (None): its sections say it all. Each cell is the method's phases
passed of those that count on that platform, its apply's time, and the node OS the records name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from orka.config.platforms import DEFAULT_PLATFORM
from orka.report.matrix import method_views
from orka.report.records import Record


@dataclass(frozen=True)
class PlatformCell:
    platform: str
    status: str  # pass (every phase that counts), fail (one failed), incomplete (one left no record), not-run
    passed: int = 0
    judged: int = 0
    apply_s: float | None = None
    node_os: str = ""


@dataclass(frozen=True)
class PlatformRow:
    scenario: str
    method: str
    cells: tuple[PlatformCell, ...]


@dataclass(frozen=True)
class PlatformMatrixView:
    platforms: tuple[str, ...]
    rows: tuple[PlatformRow, ...]


def platform_matrix(run: Sequence[Record]) -> PlatformMatrixView | None:
    """Each scenario x method of the run by platform; None when the run has one platform."""
    platforms = tuple(dict.fromkeys(r.platform or DEFAULT_PLATFORM for r in run))
    if len(platforms) < 2:
        return None
    rows = []
    for scenario in dict.fromkeys(r.scenario for r in run):
        by_platform = {
            p: {m.name: m for m in method_views([r for r in run if r.scenario == scenario and _on(r, p)])}
            for p in platforms
        }
        for method in dict.fromkeys(name for views in by_platform.values() for name in views):
            cells = []
            for p in platforms:
                view = by_platform[p].get(method)
                if view is None or not view.ran:
                    cells.append(PlatformCell(p, "not-run"))
                    continue
                apply = next((c for c in view.cells if c.phase == "apply"), None)
                node_os = view.facts.node_os if view.facts else ""
                failed = any(c.status == "fail" for c in view.cells)
                status = "fail" if failed else "pass" if view.ok else "incomplete"
                apply_s = apply.duration_s if apply is not None else None
                cells.append(PlatformCell(p, status, view.passed, view.judged, apply_s, node_os))
            if any(c.status != "not-run" for c in cells):
                rows.append(PlatformRow(scenario, method, tuple(cells)))
    return PlatformMatrixView(platforms, tuple(rows))


def _on(record: Record, platform: str) -> bool:
    return (record.platform or DEFAULT_PLATFORM) == platform
