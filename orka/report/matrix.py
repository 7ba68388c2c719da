"""The comparison page's matrix: each method x phase, and each node of it, as orka judged it.

A cell shows orka's verdict (orka.results.verdict), with its reasons; a node
that a phase left no record of is a failure, not a blank. Records of an older
orka carry only the tool's own result, and the cell says so.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from markupsafe import Markup
from matplotlib.figure import Figure

from orka import methods
from orka.report.charts import chart_style, method_colors, svg
from orka.report.records import Record, of_latest_run
from orka.results.record import NOT_DEFINED, NOT_WRITTEN, PHASES

RAW_TAIL_LINES = 200  # a failure's tool output: the end is where tools say what went wrong
RAW_TAIL_CHARS = 100_000  # and a bound for tools that print a whole JSON document on one line
# (scenario, method, phase, node or None, check or None): what JUnit's testcases are matched by.
VerdictKey = tuple[str, str, str, str | None, str | None]
LABELS = {
    "pass": "PASS",
    "fail": "FAIL",
    "not-run": "not run",
    "missing": "no record",
    "not-written": NOT_WRITTEN,
    "not-defined": NOT_DEFINED,
}


@dataclass(frozen=True)
class NodeView:
    """One node in one phase of one method."""

    node: str
    ok: bool
    changed: int
    failed: int
    duration_s: float
    detail: str
    checks: int = 0  # verify: the checks that ran on the node
    failed_checks: tuple[tuple[str, str], ...] = ()  # verify: (check, why)
    reasons: tuple[str, ...] = ()  # why orka failed the node (the tool's own detail is `detail`)
    checked: tuple[str, ...] = ()  # verify: the checks recorded of the node


@dataclass(frozen=True)
class RawView:
    """The end of a tool's output, as the page shows it."""

    text: str
    shown_lines: int
    total_lines: int

    @property
    def trimmed(self) -> bool:
        return self.shown_lines < self.total_lines


@dataclass(frozen=True)
class StepView:
    """One step of an orchestration, in seconds from the start of the first step."""

    name: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class CellView:
    """One method x phase of the matrix."""

    method: str
    phase: str
    # pass, fail, not-run (the method did not run), missing (the method ran, the phase left no record),
    # not-written (the scenario has no folder for the method), not-defined (nothing to run for the phase)
    status: str
    duration_s: float | None = None
    changed: int = 0
    failed: int = 0
    nodes: tuple[NodeView, ...] = ()
    error: str = ""
    raw: RawView | None = None
    steps: tuple[StepView, ...] = ()
    expected_nodes: int = 0
    reasons: tuple[str, ...] = ()  # why orka failed the phase as a whole
    notes: tuple[str, ...] = ()
    judged: bool = True  # False: records of an older orka, which carry the tool's own result only
    section: str = ""  # the scenario, where the page has several (it names the cell's anchor)

    @property
    def label(self) -> str:
        return LABELS[self.status]

    @property
    def anchor(self) -> str:
        return "-".join(("failure", *((self.section,) if self.section else ()), self.method, self.phase))

    @property
    def failing_nodes(self) -> tuple[NodeView, ...]:
        return tuple(n for n in self.nodes if not n.ok)

    @property
    def steps_in_order(self) -> bool:
        return all(b.start_s >= a.end_s for a, b in itertools.pairwise(self.steps))


@dataclass(frozen=True)
class FactsView:
    """What one method ran with."""

    tool_version: str
    cluster_size: int
    provider: str
    node_os: str
    tuning: str
    first_at: str
    last_at: str
    up_s: float | None = None  # bring-up: cluster up and ready, the method's tool answering
    fresh_nodes: int = 0  # nodes with none of the desired state before the method's first phase
    checked_nodes: int = 0

    @property
    def all_fresh(self) -> bool:
        return self.checked_nodes > 0 and self.fresh_nodes == self.checked_nodes


@dataclass(frozen=True)
class MethodView:
    """One row of the matrix."""

    name: str
    color: str
    ran: bool
    cells: tuple[CellView, ...]
    facts: FactsView | None
    written: bool = True  # False: the scenario has no folder for the method

    @property
    def passed(self) -> int:
        return sum(c.status == "pass" for c in self.cells)

    @property
    def judged(self) -> int:
        """The phases that count: those the scenario defines for the method (not `not defined`)."""
        return sum(c.status != "not-defined" for c in self.cells)

    @property
    def total_s(self) -> float:
        return sum(c.duration_s or 0.0 for c in self.cells)

    @property
    def ok(self) -> bool:
        return self.ran and self.passed == self.judged


def tail(raw: str, lines: int = RAW_TAIL_LINES, chars: int = RAW_TAIL_CHARS) -> RawView:
    """The last lines of a tool's output (and at most chars of them)."""
    every = raw.rstrip("\n").splitlines()
    shown = "\n".join(every[-lines:])
    if len(shown) > chars:
        shown = "…" + shown[-chars:]
    return RawView(shown, min(len(every), lines), len(every))


def _steps(order: Sequence[tuple[str, float, float]]) -> tuple[StepView, ...]:
    if not order:
        return ()
    origin = min(start for _, start, _ in order)
    return tuple(StepView(name, start - origin, end - origin) for name, start, end in order)


def _missing_nodes(nodes: Sequence[NodeView], expected: Sequence[str], why: str) -> tuple[NodeView, ...]:
    """A NodeView for each expected node the phase left no record of: a failure, not a blank."""
    seen = {n.node for n in nodes}
    return tuple(NodeView(node, False, 0, 1, 0.0, why, reasons=(why,)) for node in expected if node not in seen)


def _phase_cell(method: str, phase: str, mine: Sequence[Record], expected: Sequence[str]) -> CellView:
    """A phase of up, ping, apply, idempotence or orchestrate: one whole-phase record, one per node."""
    wholes = [r for r in mine if r.whole]
    if not wholes:
        return CellView(method, phase, "missing", expected_nodes=len(expected))
    whole = wholes[-1]  # a phase that ran twice in a run: its last result
    if whole.verdict == NOT_DEFINED:
        return CellView(method, phase, "not-defined", notes=whole.notes, expected_nodes=len(expected))
    per_node = {r.node: r for r in mine if r.node is not None}
    nodes = tuple(
        NodeView(node, r.passed, r.changed, r.failed, r.duration_s or 0.0, r.detail, reasons=r.reasons)
        for node, r in sorted(per_node.items())
    )
    nodes += _missing_nodes(nodes, expected, f"{phase} left no record of this node")
    ok = whole.passed and all(n.ok for n in nodes)
    notes = whole.notes
    if not whole.judged:
        notes += ("recorded by an older orka: the tool's own result, not orka's verdict",)
    return CellView(
        method,
        phase,
        "pass" if ok else "fail",
        duration_s=whole.duration_s or 0.0,
        changed=whole.changed,
        failed=whole.failed,
        nodes=nodes,
        error=whole.error,
        raw=None if ok else tail(whole.raw),
        steps=_steps(whole.order),
        expected_nodes=len(expected),
        reasons=tuple(r for r in whole.reasons if r != whole.error),
        notes=notes,
        judged=whole.judged,
    )


def _verify_cell(method: str, mine: Sequence[Record], expected: Sequence[str]) -> CellView:
    """verify: one record per node per check, and (once its checks are done) one for the phase as a whole.

    A node passes when every check of it passed; one with no record fails; time is the checks' sum."""
    checks: dict[str, list[Record]] = {}
    for record in mine:
        if record.node is not None:
            checks.setdefault(record.node, []).append(record)
    wholes = [r for r in mine if r.whole]
    if not checks and not wholes:
        return CellView(method, "verify", "missing", expected_nodes=len(expected))
    nodes: list[NodeView] = []
    for node, done in sorted(checks.items()):
        bad = tuple((r.check or "check", r.detail or "failed") for r in done if not r.passed)
        nodes.append(
            NodeView(
                node,
                not bad,
                0,
                len(bad),
                round(sum(r.duration_s or 0.0 for r in done), 3),
                "; ".join(f"{check}: {why}" for check, why in bad),
                checks=len(done),
                failed_checks=bad,
                checked=tuple(dict.fromkeys(r.check for r in done)),
            )
        )
    nodes += _missing_nodes(nodes, expected, "no verify records of this node")
    whole = wholes[-1] if wholes else None
    ok = all(n.ok for n in nodes) and (whole is None or whole.passed)
    return CellView(
        method,
        "verify",
        "pass" if ok else "fail",
        duration_s=round(sum(n.duration_s for n in nodes), 3),
        failed=sum(n.failed for n in nodes),
        nodes=tuple(nodes),
        expected_nodes=len(expected),
        reasons=whole.reasons if whole else (),
        judged=whole is not None,
    )


def _with_checks(cell: CellView, checks: Sequence[Record]) -> CellView:
    """A phase's cell with the scenario's checks it ran again on each node (drift's, after the repair)."""
    if not checks:
        return cell
    nodes = []
    for node in cell.nodes:
        done = [r for r in checks if r.node == node.node]
        bad = tuple((r.check, r.detail or "failed") for r in done if not r.passed)
        checked = tuple(dict.fromkeys(r.check for r in done))
        nodes.append(dataclasses.replace(node, checks=len(done), failed_checks=bad, checked=checked))
    return dataclasses.replace(cell, nodes=tuple(nodes))


def _expected_nodes(mine: Sequence[Record]) -> tuple[str, ...]:
    """The method's nodes, as its `up` named them (every later phase must speak of each)."""
    return tuple(dict.fromkeys(r.node for r in mine if r.phase == "up" and r.node is not None))


def _facts(mine: Sequence[Record]) -> FactsView:
    wholes = [r for r in mine if r.whole] or list(mine)
    first = wholes[0]
    stamps = sorted(r.recorded_at for r in mine if r.recorded_at)
    up = [r for r in mine if r.phase == "up"]
    up_whole = next((r for r in reversed(up) if r.whole), None)
    up_nodes = [r for r in up if not r.whole]
    return FactsView(
        tool_version=first.tool_version,
        cluster_size=first.cluster_size,
        provider=first.provider,
        node_os=next((r.node_os for r in wholes if r.node_os), ""),
        tuning=next((r.tuning for r in wholes if r.tuning), ""),
        first_at=stamps[0] if stamps else "",
        last_at=stamps[-1] if stamps else "",
        up_s=(up_whole.duration_s or 0.0) if up_whole else None,
        fresh_nodes=sum(r.ok for r in up_nodes),  # the probe's finding, whatever the verdict
        checked_nodes=len(up_nodes),
    )


def method_views(run: Sequence[Record], section: str = "") -> list[MethodView]:
    """The matrix of one scenario's records: every known method (run or not), then any other the run holds.

    section: the scenario's name where the page has several, for the cells' anchors."""
    known = methods.names()  # the matrix's rows, in this order, whether they ran or not
    names = list(known) + sorted({r.method for r in run} - set(known))
    colors = method_colors(names)
    views = []
    for name in names:
        color = colors[name]
        mine = [r for r in run if r.method == name]
        if any(r.verdict == NOT_WRITTEN for r in mine):
            notes = next(r.notes for r in mine if r.verdict == NOT_WRITTEN)
            cells = tuple(CellView(name, phase, "not-written", notes=notes, section=section) for phase in PHASES)
            views.append(MethodView(name, color, False, cells, None, written=False))
            continue
        if not mine:
            cells = tuple(CellView(name, phase, "not-run", section=section) for phase in PHASES)
            views.append(MethodView(name, color, False, cells, None))
            continue
        expected = _expected_nodes(mine)
        cells = tuple(
            dataclasses.replace(
                _verify_cell(name, [r for r in mine if r.phase == phase], expected)
                if phase == "verify"
                else _with_checks(
                    _phase_cell(name, phase, [r for r in mine if r.phase == phase and not r.check], expected),
                    [r for r in mine if r.phase == phase and r.check],
                ),
                section=section,
            )
            for phase in PHASES
        )
        views.append(MethodView(name, color, True, cells, _facts(mine)))
    return views


def scenarios_of(run: Sequence[Record]) -> list[str]:
    """The run's scenarios (each on each platform but the default one, as its own), in the order they were
    recorded (records of an older orka: one, named '')."""
    return list(dict.fromkeys(r.variant for r in run))


def page_verdicts(found: Sequence[Record]) -> dict[VerdictKey, bool]:
    """Pass or not, as the page shows it for the latest run: each cell, each node of it, each verify check."""
    shown: dict[VerdictKey, bool] = {}
    run = of_latest_run(found)
    for scenario in scenarios_of(run):
        for method in method_views([r for r in run if r.variant == scenario]):
            for cell in method.cells:
                shown[(scenario, method.name, cell.phase, None, None)] = cell.status == "pass"
                for node in cell.nodes:
                    shown[(scenario, method.name, cell.phase, node.node, None)] = node.ok
                    failed = {check for check, _ in node.failed_checks}
                    for check in node.checked:
                        shown[(scenario, method.name, cell.phase, node.node, check)] = check not in failed
    return shown


def settings_used(run: Sequence[Record]) -> dict[str, dict[str, str]]:
    """The settings each method ran with, flattened to dotted keys: {method: {key: value}}."""
    found: dict[str, dict[str, str]] = {}
    for record in run:
        if record.whole and record.settings:
            found.setdefault(record.method, dict(_flatten(record.settings)))
    return found


def _flatten(value: Mapping[str, object], prefix: str = "") -> Iterable[tuple[str, str]]:
    for key, item in value.items():
        name = f"{prefix}{key}"
        if isinstance(item, Mapping):
            yield from _flatten(item, f"{name}.")
        elif isinstance(item, list | tuple):
            yield name, ", ".join(str(i) for i in item)
        else:
            yield name, str(item)


def phase_chart(methods: Sequence[MethodView]) -> Markup | None:
    """Grouped bars: time per phase, one bar per method; a failed phase hatched."""
    ran = [m for m in methods if m.ran]
    if not ran:
        return None
    with chart_style():
        figure = Figure(figsize=(13.5, 4.4), dpi=72)
        axes = figure.add_subplot()
        width = min(0.8 / len(ran), 0.27)  # one method alone keeps a bar's width
        top = max((c.duration_s or 0.0 for m in ran for c in m.cells), default=0.0) or 1.0
        for i, method in enumerate(ran):
            xs = [p + (i - (len(ran) - 1) / 2) * width for p in range(len(PHASES))]
            values = [c.duration_s or 0.0 for c in method.cells]
            bars = axes.bar(xs, values, width * 0.92, color=method.color, label=method.name, zorder=2)
            for bar, cell in zip(bars, method.cells, strict=True):
                if cell.status == "fail":
                    bar.set_hatch("///")
                    bar.set_edgecolor("#b3261e")
                text = "" if cell.duration_s is None else f"{cell.duration_s:.1f}"
                if cell.status == "fail":
                    text += "\nFAIL"
                axes.annotate(
                    text,
                    (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    xytext=(0, 2),
                    textcoords="offset points",
                    ha="center",
                    va="bottom",
                    fontsize=8.5,
                    color="#b3261e" if cell.status == "fail" else "#3c4043",
                )
        axes.set_xticks(range(len(PHASES)), [p if p != "verify" else "verify (sum of checks)" for p in PHASES])
        axes.set_ylabel("seconds")
        axes.set_ylim(0, top * 1.18)
        axes.grid(axis="y", color="#e0e0e0", zorder=0)
        axes.legend(frameon=False, ncols=len(ran), loc="upper right")
        return svg(figure, "phases", "Time per phase per method, in seconds")
