"""Which method notices a server that drifted, and which repairs it? The page's Drift section, from the
drift records of results.json (orka.results.drift's facts per node) and the checks run again after the repair.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from orka.report.records import Record
from orka.results.record import DRIFT, NOT_DEFINED


def _texts(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


@dataclass(frozen=True)
class FoundView:
    drift: str
    words: tuple[str, ...]  # the tool's own words for it


@dataclass(frozen=True)
class NodeDriftView:
    node: str
    passed: bool
    made: tuple[str, ...]
    found: tuple[FoundView, ...]
    missed: tuple[str, ...]
    false_reports: tuple[str, ...]
    also_reported: tuple[str, ...]
    repaired: bool
    not_back: tuple[str, ...]
    reasons: tuple[str, ...]
    checks: int = 0  # the scenario's checks run again after the repair
    failed_checks: tuple[str, ...] = ()


@dataclass(frozen=True)
class MethodDriftView:
    method: str
    passed: bool
    nodes: tuple[NodeDriftView, ...]
    dry_run_s: float | None
    repair_s: float | None
    error: str = ""

    @property
    def made(self) -> int:
        return sum(len(n.made) for n in self.nodes)

    @property
    def found(self) -> int:
        return sum(len(n.found) for n in self.nodes)

    @property
    def false_reports(self) -> int:
        return sum(len(n.false_reports) for n in self.nodes)

    @property
    def repaired(self) -> int:
        return sum(n.repaired for n in self.nodes)

    @property
    def checks(self) -> int:
        return sum(n.checks for n in self.nodes)

    @property
    def checks_passed(self) -> int:
        return sum(n.checks - len(n.failed_checks) for n in self.nodes)


@dataclass(frozen=True)
class DriftView:
    scenario: str
    methods: tuple[MethodDriftView, ...]


def _node(record: Record, checks: Sequence[Record]) -> NodeDriftView:
    facts: Mapping[str, Any] = record.facts
    found = tuple(
        FoundView(str(f.get("drift", "")), _texts(f.get("words")))
        for f in facts.get("found", [])
        if isinstance(f, Mapping)
    )
    return NodeDriftView(
        str(record.node),
        record.passed,
        _texts(facts.get("made")) + _texts(facts.get("not_made")),
        found,
        _texts(facts.get("missed")),
        _texts(facts.get("false_reports")),
        _texts(facts.get("also_reported")),
        bool(facts.get("repaired")),
        _texts(facts.get("not_back")),
        record.reasons,
        checks=len(checks),
        failed_checks=tuple(f"{c.check}: {c.detail or 'failed'}" for c in checks if not c.passed),
    )


def _seconds(nodes: Sequence[Record], key: str) -> float | None:
    values = [n.facts.get(key) for n in nodes]
    return next((float(v) for v in values if isinstance(v, int | float)), None)


def drift_views(run: Sequence[Record], scenarios: Sequence[str], methods: Sequence[str]) -> list[DriftView]:
    """Each scenario whose drift phase ran: per method, what each node's dry run found and whether it was
    repaired (a scenario that declares no drift, or whose methods never reached it, has no view)."""
    views = []
    for scenario in scenarios:
        rows = []
        for method in methods:
            mine = [r for r in run if r.variant == scenario and r.method == method and r.phase == DRIFT]
            wholes = [r for r in mine if r.whole]
            if not wholes or wholes[-1].verdict == NOT_DEFINED:
                continue
            nodes = [r for r in mine if not r.whole and not r.check]
            checks = [r for r in mine if r.check]
            node_views = tuple(_node(r, [c for c in checks if c.node == r.node]) for r in nodes)
            passed = wholes[-1].passed and all(n.passed for n in node_views)
            rows.append(
                MethodDriftView(
                    method,
                    passed,
                    node_views,
                    _seconds(nodes, "dry_run_s"),
                    _seconds(nodes, "repair_s"),
                    wholes[-1].error,
                )
            )
        if rows:
            views.append(DriftView(scenario, tuple(rows)))
    return views
