"""reports/comparison.html: the methods side by side, made from reports/results.json alone.

    orka report [--results reports/results.json] [--out reports/comparison.html]

One self-contained HTML file that opens from disk: no network, no CDN, no
JavaScript. It holds the matrix of method x phase (pass or fail, time,
changes, failures, and per node what happened, with the tool's own output for
a failure), charts of the times, the facts a reviewer needs to trust the
figures (tool versions, cluster size, provider, node OS, settings, dates, how
each tool was tuned) and the effort each method took to express the same
desired state (files and lines under spikes/, counted at report time).
When they exist it also shows each method's phase times against cluster size
(reports/scale/*.json, orka/report_scale.py) and the methods under network
latency (conditions.json beside results.json, orka/report_conditions.py).

Why these tools:

- Jinja2 for the page. The markup lives in a template
  (orka/templates/comparison.html) that reads like the page it makes, apart
  from the Python that gathers the figures, and autoescaping is on for all of
  it: tool output is full of `<`, `&` and quotes, and none of it can break
  the page or inject markup. It is the template engine Ansible and Salt
  themselves use, so every reader of this project knows it.
- matplotlib, drawing on its Agg canvas and saved as SVG that is inlined into
  the page. Vector charts stay sharp at any zoom and on paper, need no script
  to draw (a JavaScript charting library would need a CDN, which the page must
  not use, or a few hundred KB of inlined script), and the page stays one
  file. Figures are made with matplotlib.figure.Figure directly, never
  pyplot: no GUI backend, no global figure state. Glyphs are drawn as paths,
  so a chart looks the same in every browser whatever fonts it has.

The HTML is written atomically (a temp file in the same folder, then
os.replace), so a crash never leaves a half-written report.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import statistics
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup
from matplotlib.figure import Figure

from orka.charts import COLORS, SPARE_COLORS, chart_style, svg
from orka.errors import OrkaError
from orka.report_conditions import ConditionsView, conditions_view
from orka.report_scale import SCALE_PHASES, ScaleView, scale_view
from orka.results import PHASES, passed
from orka.settings import REPO_ROOT

__all__ = ["ReportError", "count_effort", "load_results", "render_comparison"]

TEMPLATES = Path(__file__).resolve().parent / "templates"
TEMPLATE = "comparison.html"
METHODS = ("salt", "ansible", "custom")  # the matrix's rows, in this order, whether they ran or not
RAW_TAIL_LINES = 200  # a failure's tool output: the end is where tools say what went wrong
RAW_TAIL_CHARS = 100_000  # and a bound for tools that print a whole JSON document on one line
FIX = "run `pytest spikes/` first (or `make spike`) to record results, or give --results the file to read"

# What each method needed to express the desired state: file patterns under spikes/<method>/.
EFFORT_PATTERNS: dict[str, tuple[str, ...]] = {
    "salt": ("*.sls", "*.jinja"),
    "ansible": ("*.yml", "*.j2", "*.cfg"),
    "custom": ("*.yml",),
}
EFFORT_EXCLUDED = frozenset({"__init__.py", "README.md"})
JINJA_COMMENT = re.compile(r"\{#.*?#\}", re.DOTALL)

BENCH_PHASES = {"ping": "ping (cold SSH)", "apply": "apply", "apply2": "2nd apply (nothing to change)"}


class ReportError(OrkaError):
    """The results to report on are missing or unreadable."""


# -- the results ---------------------------------------------------------------


def load_results(path: Path) -> list[dict[str, Any]]:
    """The records of results.json; a ReportError naming the file and the fix when there are none."""
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        raise ReportError(f"no results at {path}: {FIX}") from None
    except OSError as exc:
        raise ReportError(f"cannot read {path} ({exc.strerror or exc}): {FIX}") from None
    if not text.strip():
        raise ReportError(f"{path} is empty: {FIX}")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReportError(f"{path} is not valid JSON (line {exc.lineno}: {exc.msg}): {FIX}") from None
    if not isinstance(data, list):
        raise ReportError(f"{path} holds a JSON {type(data).__name__}, not the list of records orka writes: {FIX}")
    found = [r for r in data if isinstance(r, dict) and r.get("method") and r.get("phase")]
    if not found:
        raise ReportError(f"{path} holds no result records: {FIX}")
    return found


def latest_run(found: Sequence[Mapping[str, Any]]) -> tuple[str, list[str]]:
    """The run_id last recorded, and the others (older) the file also holds."""
    last_seen: dict[str, str] = {}
    for record in found:
        run_id = str(record.get("run_id") or "")
        last_seen[run_id] = max(last_seen.get(run_id, ""), str(record.get("recorded_at") or ""))
    latest = max(last_seen, key=lambda run_id: (last_seen[run_id], run_id))
    return latest, sorted(set(last_seen) - {latest})


def _latest_records(found: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    run_id, _ = latest_run(found)
    return [r for r in found if str(r.get("run_id") or "") == run_id]


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _float(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def _text(value: Any) -> str:
    return "" if value is None else str(value)


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
    status: str  # pass, fail, not-run (the method did not run), missing (the method ran, the phase left no record)
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

    @property
    def label(self) -> str:
        return {"pass": "PASS", "fail": "FAIL", "not-run": "not run", "missing": "no record"}[self.status]

    @property
    def anchor(self) -> str:
        return f"failure-{self.method}-{self.phase}"

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

    @property
    def passed(self) -> int:
        return sum(c.status == "pass" for c in self.cells)

    @property
    def total_s(self) -> float:
        return sum(c.duration_s or 0.0 for c in self.cells)

    @property
    def ok(self) -> bool:
        return self.ran and self.passed == len(self.cells)


def tail(raw: str, lines: int = RAW_TAIL_LINES, chars: int = RAW_TAIL_CHARS) -> RawView:
    """The last lines of a tool's output (and at most chars of them)."""
    every = raw.rstrip("\n").splitlines()
    shown = "\n".join(every[-lines:])
    if len(shown) > chars:
        shown = "…" + shown[-chars:]
    return RawView(shown, min(len(every), lines), len(every))


def _steps(order: Any) -> tuple[StepView, ...]:
    steps = [s for s in order or () if isinstance(s, list | tuple) and len(s) == 3]
    if not steps:
        return ()
    origin = min(_float(s[1]) for s in steps)
    return tuple(StepView(str(s[0]), _float(s[1]) - origin, _float(s[2]) - origin) for s in steps)


def _texts(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, list | tuple) else ()


def _missing_nodes(nodes: Sequence[NodeView], expected: Sequence[str], why: str) -> tuple[NodeView, ...]:
    """A NodeView for each expected node the phase left no record of: a failure, not a blank."""
    seen = {n.node for n in nodes}
    return tuple(NodeView(node, False, 0, 1, 0.0, why, reasons=(why,)) for node in expected if node not in seen)


def _phase_cell(method: str, phase: str, mine: list[dict[str, Any]], expected: Sequence[str]) -> CellView:
    """A phase of up, ping, apply, idempotence or orchestrate: one whole-phase record, one per node."""
    wholes = [r for r in mine if r.get("node") is None]
    if not wholes:
        return CellView(method, phase, "missing", expected_nodes=len(expected))
    whole = wholes[-1]  # a phase that ran twice in a run: its last result
    per_node: dict[str, dict[str, Any]] = {}
    for record in mine:
        if record.get("node") is not None:
            per_node[str(record["node"])] = record
    nodes = tuple(
        NodeView(
            node,
            passed(r),
            _int(r.get("changed")),
            _int(r.get("failed")),
            _float(r.get("duration_s")),
            _text(r.get("detail")),
            reasons=_texts(r.get("reasons")),
        )
        for node, r in sorted(per_node.items())
    )
    nodes += _missing_nodes(nodes, expected, f"{phase} left no record of this node")
    judged = "verdict" in whole
    ok = passed(whole) and all(n.ok for n in nodes)
    notes = _texts(whole.get("notes"))
    if not judged:
        notes += ("recorded by an older orka: the tool's own result, not orka's verdict",)
    return CellView(
        method,
        phase,
        "pass" if ok else "fail",
        duration_s=_float(whole.get("duration_s")),
        changed=_int(whole.get("changed")),
        failed=_int(whole.get("failed")),
        nodes=nodes,
        error=_text(whole.get("error")),
        raw=None if ok else tail(_text(whole.get("raw"))),
        steps=_steps(whole.get("order")),
        expected_nodes=len(expected),
        reasons=tuple(r for r in _texts(whole.get("reasons")) if r != _text(whole.get("error"))),
        notes=notes,
        judged=judged,
    )


def _verify_cell(method: str, mine: list[dict[str, Any]], expected: Sequence[str]) -> CellView:
    """verify: one record per node per check, and (once its checks are done) one for the phase as a whole.

    A node passes when every check of it passed; one with no record fails; time is the checks' sum."""
    checks: dict[str, list[dict[str, Any]]] = {}
    for record in mine:
        if record.get("node") is not None:
            checks.setdefault(str(record["node"]), []).append(record)
    wholes = [r for r in mine if r.get("node") is None]
    if not checks and not wholes:
        return CellView(method, "verify", "missing", expected_nodes=len(expected))
    nodes: list[NodeView] = []
    for node, done in sorted(checks.items()):
        bad = tuple(
            (_text(r.get("check")) or "check", _text(r.get("detail")) or "failed") for r in done if not passed(r)
        )
        nodes.append(
            NodeView(
                node,
                not bad,
                0,
                len(bad),
                round(sum(_float(r.get("duration_s")) for r in done), 3),
                "; ".join(f"{check}: {why}" for check, why in bad),
                checks=len(done),
                failed_checks=bad,
                checked=tuple(dict.fromkeys(_text(r.get("check")) for r in done)),
            )
        )
    nodes += _missing_nodes(nodes, expected, "no verify records of this node")
    whole = wholes[-1] if wholes else {}
    reasons = _texts(whole.get("reasons"))
    ok = all(n.ok for n in nodes) and (not whole or passed(whole))
    return CellView(
        method,
        "verify",
        "pass" if ok else "fail",
        duration_s=round(sum(n.duration_s for n in nodes), 3),
        failed=sum(n.failed for n in nodes),
        nodes=tuple(nodes),
        expected_nodes=len(expected),
        reasons=reasons,
        judged=bool(whole),
    )


def _expected_nodes(mine: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
    """The method's nodes, as its `up` named them (every later phase must speak of each)."""
    up = [str(r["node"]) for r in mine if r.get("phase") == "up" and r.get("node") is not None]
    return tuple(dict.fromkeys(up))


def _facts(mine: list[dict[str, Any]]) -> FactsView:
    wholes = [r for r in mine if r.get("node") is None] or mine
    first = wholes[0]
    stamps = sorted(str(r["recorded_at"]) for r in mine if r.get("recorded_at"))
    up = [r for r in mine if r.get("phase") == "up"]
    up_whole = next((r for r in reversed(up) if r.get("node") is None), None)
    up_nodes = [r for r in up if r.get("node") is not None]
    return FactsView(
        tool_version=_text(first.get("tool_version")),
        cluster_size=_int(first.get("cluster_size")),
        provider=_text(first.get("provider")),
        node_os=_text(next((r["node_os"] for r in wholes if r.get("node_os")), "")),
        tuning=_text(next((r["tuning"] for r in wholes if r.get("tuning")), "")),
        first_at=stamps[0] if stamps else "",
        last_at=stamps[-1] if stamps else "",
        up_s=_float(up_whole.get("duration_s")) if up_whole else None,
        fresh_nodes=sum(bool(r.get("ok")) for r in up_nodes),  # the probe's finding, whatever the verdict
        checked_nodes=len(up_nodes),
    )


def method_views(run: Sequence[dict[str, Any]]) -> list[MethodView]:
    """The matrix: every known method (run or not), then any other method the run holds."""
    names = list(METHODS) + sorted({str(r["method"]) for r in run} - set(METHODS))
    spare = iter(SPARE_COLORS * len(names))
    views = []
    for name in names:
        color = COLORS.get(name) or next(spare)
        mine = [r for r in run if r["method"] == name]
        if not mine:
            cells = tuple(CellView(name, phase, "not-run") for phase in PHASES)
            views.append(MethodView(name, color, False, cells, None))
            continue
        facts = _facts(mine)
        expected = _expected_nodes(mine)
        cells = tuple(
            _verify_cell(name, [r for r in mine if r["phase"] == phase], expected)
            if phase == "verify"
            else _phase_cell(name, phase, [r for r in mine if r["phase"] == phase], expected)
            for phase in PHASES
        )
        views.append(MethodView(name, color, True, cells, facts))
    return views


# (method, phase, node or None, check or None): what JUnit's testcases are matched by.
VerdictKey = tuple[str, str, str | None, str | None]


def page_verdicts(found: Sequence[dict[str, Any]]) -> dict[VerdictKey, bool]:
    """Pass or not, as the page shows it for the latest run: each cell, each node of it, each verify check."""
    run_id, _ = latest_run(found)
    shown: dict[VerdictKey, bool] = {}
    for method in method_views([r for r in found if str(r.get("run_id") or "") == run_id]):
        for cell in method.cells:
            shown[(method.name, cell.phase, None, None)] = cell.status == "pass"
            for node in cell.nodes:
                shown[(method.name, cell.phase, node.node, None)] = node.ok
                failed = {check for check, _ in node.failed_checks}
                for check in node.checked:
                    shown[(method.name, cell.phase, node.node, check)] = check not in failed
    return shown


def settings_used(run: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, str]]:
    """The settings each method ran with, flattened to dotted keys: {method: {key: value}}."""
    found: dict[str, dict[str, str]] = {}
    for record in run:
        settings = record.get("settings")
        if record.get("node") is None and isinstance(settings, dict) and settings:
            found.setdefault(str(record["method"]), dict(_flatten(settings)))
    return found


def _flatten(value: Mapping[str, Any], prefix: str = "") -> Iterable[tuple[str, str]]:
    for key, item in value.items():
        name = f"{prefix}{key}"
        if isinstance(item, Mapping):
            yield from _flatten(item, f"{name}.")
        elif isinstance(item, list | tuple):
            yield name, ", ".join(str(i) for i in item)
        else:
            yield name, str(item)


# -- the effort ----------------------------------------------------------------


@dataclass(frozen=True)
class EffortFile:
    path: str  # relative to the method's folder
    lines: int


@dataclass(frozen=True)
class EffortView:
    """Files and lines one method needed to express the desired state."""

    method: str
    folder: str
    exists: bool
    patterns: tuple[str, ...]
    files: tuple[EffortFile, ...]

    @property
    def lines(self) -> int:
        return sum(f.lines for f in self.files)


def meaningful_lines(text: str) -> int:
    """Lines that are neither blank nor comments: `#` (YAML, sls, cfg, templates), `;` (ini), Jinja `{# #}`."""
    count = 0
    for line in JINJA_COMMENT.sub("", text).splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith(("#", ";")):
            count += 1
    return count


def count_effort(spikes_dir: Path) -> list[EffortView]:
    """Files and lines under spikes_dir/<method>/ for each method; tests, __init__.py and README.md left out."""
    views = []
    for method, patterns in EFFORT_PATTERNS.items():
        folder = spikes_dir / method
        paths: set[Path] = set()
        for pattern in patterns:
            paths.update(p for p in folder.rglob(pattern) if p.is_file())
        files = []
        for path in sorted(paths):
            relative = path.relative_to(folder)
            hidden = any(part.startswith(".") or part == "__pycache__" for part in relative.parts)
            tests = any(part in ("tests", "test") for part in relative.parts[:-1]) or path.name.startswith("test_")
            if hidden or tests or path.name in EFFORT_EXCLUDED:
                continue
            files.append(EffortFile(relative.as_posix(), meaningful_lines(path.read_text(errors="replace"))))
        views.append(EffortView(method, f"{spikes_dir.name}/{method}/", folder.is_dir(), patterns, tuple(files)))
    return views


# -- the benchmark -------------------------------------------------------------


@dataclass(frozen=True)
class BenchView:
    """benchmarks/bench_methods.py's figures, if any: time against cluster size per tool."""

    path: str
    note: str = ""  # why there is no chart
    svg: Markup | None = None
    date: str = ""
    runs_per_size: int = 0
    sizes: tuple[int, ...] = ()
    tools: tuple[str, ...] = ()
    machine: str = ""
    versions: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = ()
    invalid: tuple[str, ...] = ()


def bench_view(path: Path | None) -> BenchView | None:
    if path is None:
        return None
    shown = _display(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return BenchView(shown, note=f"no benchmark results at {shown}: `make bench-methods` measures them")
    except (OSError, ValueError) as exc:
        return BenchView(shown, note=f"could not read {shown}: {exc}")
    runs = data.get("records") if isinstance(data, dict) else None
    if not isinstance(runs, list):
        return BenchView(shown, note=f"{shown} holds no benchmark records")
    good = [r for r in runs if isinstance(r, dict) and {"size", "tool", "phase", "seconds"} <= r.keys()]
    medians: dict[tuple[str, str], dict[int, float]] = {}
    samples: dict[tuple[str, str, int], list[float]] = {}
    invalid: dict[tuple[str, int, str], list[str]] = {}  # (tool, size, problem): phases
    for r in good:
        size, tool, phase = _int(r["size"]), str(r["tool"]), str(r["phase"])
        if r.get("valid", True):
            samples.setdefault((tool, phase, size), []).append(_float(r["seconds"]))
        else:
            invalid.setdefault((tool, size, _text(r.get("problem")) or "invalid"), []).append(phase)
    left_out = tuple(
        f"{tool} at {size} nodes, {len(phases)} measurement{'s' if len(phases) > 1 else ''}"
        f" ({', '.join(dict.fromkeys(phases))}): {problem}"
        for (tool, size, problem), phases in invalid.items()
    )
    for (tool, phase, size), seconds in samples.items():
        medians.setdefault((tool, phase), {})[size] = statistics.median(seconds)
    if not medians:
        return BenchView(shown, note=f"{shown} holds no valid measurements", invalid=left_out)
    tools = tuple(dict.fromkeys(str(t) for t in data.get("tools") or [tool for tool, _ in medians]))
    machine = data.get("machine") if isinstance(data.get("machine"), dict) else {}
    versions = data.get("versions") if isinstance(data.get("versions"), dict) else {}
    return BenchView(
        shown,
        svg=size_chart(medians, tools),
        date=_text(data.get("date")),
        runs_per_size=_int(data.get("runs_per_size")),
        sizes=tuple(sorted({size for by_size in medians.values() for size in by_size})),
        tools=tools,
        machine=f"{machine.get('nproc', '?')} CPUs, {machine.get('memory_mb', '?')} MiB, {machine.get('platform', '')}",
        versions=tuple((str(k), str(v)) for k, v in versions.items()),
        notes=tuple(str(n) for n in data.get("notes") or ()),
        invalid=left_out,
    )


# -- the charts ----------------------------------------------------------------


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


def size_chart(medians: Mapping[tuple[str, str], Mapping[int, float]], tools: Sequence[str]) -> Markup:
    """Lines: time against cluster size, one line per tool, one panel per benchmark phase."""
    phases = [p for p in BENCH_PHASES if any(phase == p for _, phase in medians)]
    phases += sorted({phase for _, phase in medians} - set(phases))
    spare = iter(SPARE_COLORS * max(1, len(tools)))
    colors = {tool: COLORS.get(tool) or next(spare) for tool in tools}
    with chart_style():
        figure = Figure(figsize=(13.5, 3.9), dpi=72)
        panels = figure.subplots(1, len(phases), squeeze=False)[0]
        for axes, phase in zip(panels, phases, strict=True):
            for tool in tools:
                points = sorted(medians.get((tool, phase), {}).items())
                if not points:
                    continue
                axes.plot(
                    [size for size, _ in points],
                    [seconds for _, seconds in points],
                    marker="o",
                    linestyle="--" if tool == "custom-cli" else "-",
                    color=colors[tool],
                    label=tool,
                    linewidth=2,
                )
            sizes = sorted({size for (_, p), by_size in medians.items() if p == phase for size in by_size})
            axes.set_xticks(sizes)
            axes.set_title(BENCH_PHASES.get(phase, phase))
            axes.set_xlabel("nodes")
            axes.set_ylim(bottom=0)
            axes.grid(color="#e0e0e0")
        panels[0].set_ylabel("seconds (median)")
        handles, labels = panels[0].get_legend_handles_labels()
        figure.legend(handles, labels, frameon=False, ncols=len(labels), loc="upper center", bbox_to_anchor=(0.5, 1.08))
        figure.tight_layout()
        return svg(figure, "sizes", "Time against cluster size per tool, in seconds")


# -- the page ------------------------------------------------------------------


def seconds(value: float | None) -> str:
    if value is None:
        return "-"
    if value < 10:
        return f"{value:.2f} s"
    if value < 100:
        return f"{value:.1f} s"
    return f"{value:.0f} s"


def when(stamp: str) -> str:
    """2026-11-26T14:00:20Z -> 2026-11-26 14:00:20 UTC."""
    return stamp.replace("T", " ").replace("Z", " UTC") if stamp else "not recorded"


def _display(path: Path) -> str:
    """A path as a reader of the repository knows it."""
    try:
        return path.resolve().relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return str(path)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["seconds"] = seconds
    env.filters["when"] = when
    return env


def build_page(
    found: Sequence[dict[str, Any]],
    results_path: Path,
    spikes_dir: Path,
    bench_path: Path | None,
    scale: ScaleView | None = None,
    conditions: ConditionsView | None = None,
) -> str:
    """The page's HTML, from the records of results.json (and the scale and conditions sections, if any)."""
    run_id, older = latest_run(found)
    run = [r for r in found if str(r.get("run_id") or "") == run_id]
    methods = method_views(run)
    facts = [m.facts for m in methods if m.facts]
    settings = settings_used(run)
    shared = next(iter(settings.values())) if settings and len({repr(s) for s in settings.values()}) == 1 else None
    effort = count_effort(spikes_dir)
    stamps = sorted(str(r["recorded_at"]) for r in run if r.get("recorded_at"))
    run_conditions = sorted({str(r["condition"]) for r in run if r.get("condition") not in (None, "", "normal")})
    return (
        _environment()
        .get_template(TEMPLATE)
        .render(
            phases=PHASES,
            methods=methods,
            failures=[c for m in methods for c in m.cells if c.status == "fail"],
            run_id=run_id,
            older_runs=older,
            results_path=_display(results_path),
            first_at=stamps[0] if stamps else "",
            last_at=stamps[-1] if stamps else "",
            generated_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            cluster_sizes=sorted({f.cluster_size for f in facts}),
            providers=sorted({f.provider for f in facts if f.provider}),
            node_oses=sorted({f.node_os for f in facts if f.node_os}),
            settings=settings,
            shared_settings=shared,
            phase_chart=phase_chart(methods),
            bench=bench_view(bench_path),
            run_conditions=run_conditions,
            scale=scale,
            scale_phases=SCALE_PHASES,
            colors={**COLORS, **{m.name: m.color for m in methods}},
            conditions=conditions,
            effort=effort,
            effort_max=max((e.lines for e in effort), default=0) or 1,
            raw_tail_lines=RAW_TAIL_LINES,
        )
    )


def write_atomically(path: Path, text: str) -> None:
    """Replace path whole: a crash leaves the old file or none, never half a page."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(partial, 0o644)
        os.replace(partial, path)
    except BaseException:
        os.unlink(partial)
        raise


def render_comparison(
    results_path: Path,
    out_path: Path,
    *,
    spikes_dir: Path = REPO_ROOT / "spikes",
    bench_path: Path | None = REPO_ROOT / "reports" / "bench_methods.json",
    scale_dir: Path | None = REPO_ROOT / "reports" / "scale",
    conditions_path: Path | None = None,
) -> Path:
    """Write the comparison page of results_path to out_path; return out_path.

    scale_dir: runs at several cluster sizes (None: no scale section). conditions_path:
    the fault tests' records (default: conditions.json beside results_path)."""
    found = load_results(results_path)
    scale = None
    if scale_dir is not None:
        scale = scale_view(scale_dir, _display(scale_dir), _latest_records(found), _display(results_path))
    conditions_path = conditions_path or results_path.parent / "conditions.json"
    conditions = conditions_view(conditions_path, _display(conditions_path))
    page = build_page(found, results_path, spikes_dir, bench_path, scale, conditions)
    write_atomically(out_path, page)
    return out_path
