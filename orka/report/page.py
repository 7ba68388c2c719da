"""reports/comparison.html: the methods side by side, made from reports/results.json alone.

    orka report [--results reports/results.json] [--out reports/comparison.html]

One self-contained HTML file that opens from disk (no network, no script): the
matrix (matrix.py), the methods on each platform (platforms.py), the charts, the facts, the effort (effort.py), the
methods' equivalence (equivalence.py) and drift (drift.py), and when
they exist the scale runs (scale.py), the methods under network latency
(conditions.py) and the benchmark (bench.py). Jinja2 makes it from
templates/comparison.html with autoescaping on, as tool output is full of `<`
and `&`; matplotlib draws the charts as inline SVG (charts.py). Written
atomically: a crash never leaves half a page.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import jinja2
from markupsafe import Markup

from orka.config import REPO_ROOT
from orka.files import write_atomically
from orka.report.bench import bench_view
from orka.report.charts import method_colors
from orka.report.conditions import ConditionsView, conditions_view
from orka.report.drift import drift_views
from orka.report.effort import EffortView, count_effort
from orka.report.equivalence import equivalence_views, unchecked_of
from orka.report.faults import FaultMatrixView, fault_matrix_view
from orka.report.matrix import RAW_TAIL_LINES, MethodView, method_views, phase_chart, scenarios_of, settings_used
from orka.report.platforms import platform_matrix
from orka.report.records import Record, latest_run, load_results, of_latest_run
from orka.report.scale import SCALE_PHASES, ScaleView, scale_view
from orka.results.faults import FAULTS_FILE
from orka.results.fingerprint import fingerprints_path, read_left
from orka.results.record import NORMAL, PHASES

TEMPLATES = Path(__file__).resolve().parent / "templates"
TEMPLATE = "comparison.html"


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


@dataclass(frozen=True)
class SectionView:
    """One scenario of the run: its matrix, its chart, the effort of each method's folder of it."""

    name: str
    path: str
    methods: list[MethodView]
    effort: list[EffortView]
    chart: Markup | None

    @property
    def effort_max(self) -> int:
        return max((e.lines for e in self.effort), default=0) or 1


def sections_of(run: Sequence[Record], default_folder: Path) -> list[SectionView]:
    """Each scenario of the run (records of an older orka: one, its effort counted in default_folder)."""
    several = len(scenarios_of(run)) > 1
    sections = []
    for name in scenarios_of(run):
        mine = [r for r in run if r.variant == name]
        folder = Path(next((r.scenario_path for r in mine if r.scenario_path), "") or default_folder)
        methods = method_views(mine, section=name if several else "")
        sections.append(SectionView(name, _display(folder), methods, count_effort(folder), phase_chart(methods)))
    return sections


def build_page(
    found: Sequence[Record],
    results_path: Path,
    spikes_dir: Path,
    bench_path: Path | None,
    scale: ScaleView | None = None,
    conditions: ConditionsView | None = None,
    faults: FaultMatrixView | None = None,
) -> str:
    """The page's HTML, from the records of results.json (and the scale, conditions and faults sections, if any)."""
    run_id, older = latest_run(found)
    run = [r for r in found if r.run_id == run_id]
    sections = sections_of(run, spikes_dir)
    methods = [m for section in sections for m in section.methods]
    facts = [m.facts for m in methods if m.facts]
    settings = settings_used(run)
    shared = next(iter(settings.values())) if settings and len({repr(s) for s in settings.values()}) == 1 else None
    stamps = sorted(r.recorded_at for r in run if r.recorded_at)
    run_conditions = sorted({r.condition for r in run if r.condition != NORMAL})
    equivalence = equivalence_views(read_left(fingerprints_path(results_path), run_id))
    drift = drift_views(run, scenarios_of(run), list(dict.fromkeys(m.name for m in methods)))
    return (
        _environment()
        .get_template(TEMPLATE)
        .render(
            phases=PHASES,
            methods=sections[0].methods,
            sections=sections,
            several=len(sections) > 1,
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
            bench=bench_view(bench_path, _display(bench_path)) if bench_path else None,
            run_conditions=run_conditions,
            scale=scale,
            scale_phases=SCALE_PHASES,
            colors=method_colors([*(m.name for m in methods), *(r.method for r in (scale.rows if scale else ()))]),
            conditions=conditions,
            faults=faults,
            equivalence=equivalence,
            unchecked=unchecked_of(run),
            drift=drift,
            platforms=platform_matrix(run),
            raw_tail_lines=RAW_TAIL_LINES,
        )
    )


def render_comparison(
    results_path: Path,
    out_path: Path,
    *,
    spikes_dir: Path = REPO_ROOT / "spikes" / "example",
    bench_path: Path | None = REPO_ROOT / "reports" / "bench_methods.json",
    scale_dir: Path | None = REPO_ROOT / "reports" / "scale",
    conditions_path: Path | None = None,
) -> Path:
    """Write the comparison page of results_path to out_path; return out_path.

    scale_dir: runs at several cluster sizes (None: no scale section). conditions_path:
    the fault tests' records (default: conditions.json beside results_path); the fault matrix's are
    faults.json beside results_path."""
    found = load_results(results_path)
    scale = None
    if scale_dir is not None:
        scale = scale_view(scale_dir, _display(scale_dir), of_latest_run(found), _display(results_path))
    conditions_path = conditions_path or results_path.parent / "conditions.json"
    conditions = conditions_view(conditions_path, _display(conditions_path))
    faults_path = results_path.parent / FAULTS_FILE
    faults = fault_matrix_view(faults_path, _display(faults_path))
    page = build_page(found, results_path, spikes_dir, bench_path, scale, conditions, faults)
    write_atomically(out_path, page)
    return out_path
