"""The comparison page's scale section: each method's phase times against cluster size.

From the spikes themselves, not from a separate benchmark: every file in
reports/scale/ (`pytest spikes/ --cluster-size 10 --results reports/scale/10.json`,
`make scale`) holds one run at one size, and the page's own results.json adds
its size when no scale file has it. One point per method and size: the
latest run that has it. The chart has a panel per phase (bring-up, then the
method's phases); the table under it also says whether verify passed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from markupsafe import Markup
from matplotlib.figure import Figure

from orka import methods
from orka.report.charts import chart_style, method_colors, svg
from orka.report.records import Record, of_latest_run, read_records

#: The scale table's columns: bring-up, the method's phases, and verify (pass or fail; its time is the checks').
SCALE_PHASES = ("up", "ping", "apply", "idempotence", "orchestrate", "verify")
#: The chart's panels: the phases whose time is the method's own.
CHARTED_PHASES = ("up", "ping", "apply", "idempotence", "orchestrate")
PHASE_TITLES = {"up": "bring-up (cluster ready, tool answering)", "idempotence": "idempotence (2nd apply)"}


@dataclass(frozen=True)
class ScaleCell:
    phase: str
    status: str  # pass, fail, missing
    seconds: float | None = None
    detail: str = ""  # up: nodes fresh; verify: checks passed


@dataclass(frozen=True)
class ScaleRow:
    """One method at one cluster size."""

    method: str
    size: int
    source: str  # the file it came from
    run_id: str
    recorded_at: str
    cells: tuple[ScaleCell, ...]

    def cell(self, phase: str) -> ScaleCell:
        return next(c for c in self.cells if c.phase == phase)

    @property
    def ok(self) -> bool:
        return all(c.status == "pass" for c in self.cells)


@dataclass(frozen=True)
class ScaleView:
    folder: str
    rows: tuple[ScaleRow, ...] = ()
    svg: Markup | None = None
    notes: tuple[str, ...] = ()  # files left out, and why

    @property
    def sizes(self) -> tuple[int, ...]:
        return tuple(sorted({r.size for r in self.rows}))

    @property
    def methods(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(r.method for r in self.rows))


def _cell(phase: str, mine: Sequence[Record]) -> ScaleCell:
    records = [r for r in mine if r.phase == phase]
    if phase == "verify":  # one record per node and check, and one for the whole phase once done
        checks = [r for r in records if not r.whole]
        if not checks:
            return ScaleCell(phase, "missing")
        good = sum(r.passed for r in checks)
        seconds = sum(r.duration_s or 0.0 for r in checks)
        status = "pass" if good == len(checks) and all(w.passed for w in records if w.whole) else "fail"
        return ScaleCell(phase, status, round(seconds, 3), f"{good}/{len(checks)} checks")
    wholes = [r for r in records if r.whole]
    if not wholes:
        return ScaleCell(phase, "missing")
    whole = wholes[-1]
    detail = ""
    if phase == "up":
        nodes = [r for r in records if not r.whole]
        detail = f"{sum(r.ok for r in nodes)}/{len(nodes)} nodes fresh"
    return ScaleCell(phase, "pass" if whole.passed else "fail", whole.duration_s, detail)


def rows_of(records: Sequence[Record], source: str) -> list[ScaleRow]:
    """A row per method of the file's latest run, at the cluster size its records name."""
    run = of_latest_run(records)
    rows = []
    for method in dict.fromkeys(r.method for r in run):
        mine = [r for r in run if r.method == method]
        sizes = [r.cluster_size for r in mine if r.cluster_size]
        if not sizes:
            continue
        stamps = sorted(r.recorded_at for r in mine)
        rows.append(
            ScaleRow(
                method,
                max(set(sizes), key=sizes.count),
                source,
                mine[0].run_id,
                stamps[-1],
                tuple(_cell(phase, mine) for phase in SCALE_PHASES),
            )
        )
    return rows


def _order(row: ScaleRow) -> tuple[int, int, str]:
    known = methods.names()
    return (known.index(row.method) if row.method in known else len(known), row.size, row.method)


def scale_view(
    folder: Path, shown_folder: str, current: Sequence[Record] = (), current_source: str = ""
) -> ScaleView | None:
    """The scale section, or None when there is no reports/scale/ folder with a file in it."""
    files = sorted(folder.glob("*.json")) if folder.is_dir() else []
    if not files:
        return None
    chosen: dict[tuple[str, int], ScaleRow] = {}
    notes = []
    for path in files:
        try:
            found = rows_of(read_records(path), f"{shown_folder}/{path.name}")
        except (OSError, ValueError) as exc:
            notes.append(f"{shown_folder}/{path.name}: {str(exc).removeprefix('is ')}")
            continue
        for row in found:
            key = (row.method, row.size)
            if key not in chosen or row.recorded_at > chosen[key].recorded_at:
                chosen[key] = row
    if current:
        for row in rows_of(current, current_source):
            chosen.setdefault((row.method, row.size), row)
    rows = tuple(sorted(chosen.values(), key=_order))
    if not rows:
        return ScaleView(shown_folder, notes=tuple(notes))
    sizes = {r.size for r in rows}
    chart = scale_chart(rows) if len(sizes) > 1 else None
    if len(sizes) == 1:
        notes.append(f"only one cluster size ({rows[0].size} nodes): nothing to draw against size yet")
    return ScaleView(shown_folder, rows, chart, tuple(notes))


def scale_chart(rows: Sequence[ScaleRow]) -> Markup:
    """Lines: seconds against nodes, one line per method, one panel per phase; a failed phase drawn hollow."""
    methods = list(dict.fromkeys(r.method for r in sorted(rows, key=_order)))
    colors = method_colors(methods)
    sizes = sorted({r.size for r in rows})
    with chart_style():
        figure = Figure(figsize=(13.5, 3.6), dpi=72)
        panels = figure.subplots(1, len(CHARTED_PHASES), squeeze=False)[0]
        for axes, phase in zip(panels, CHARTED_PHASES, strict=True):
            for method in methods:
                points = sorted(
                    (r.size, r.cell(phase)) for r in rows if r.method == method and r.cell(phase).seconds is not None
                )
                if not points:
                    continue
                xs = [size for size, _ in points]
                ys = [cell.seconds for _, cell in points]
                axes.plot(xs, ys, color=colors[method], linewidth=2, label=method, zorder=2)
                for size, cell in points:
                    failed = cell.status == "fail"
                    axes.plot(
                        [size],
                        [cell.seconds],
                        marker="o",
                        markersize=7 if failed else 5,
                        color=colors[method],
                        markerfacecolor="white" if failed else colors[method],
                        markeredgecolor="#b3261e" if failed else colors[method],
                        zorder=3,
                    )
            axes.set_xticks(sizes)
            axes.set_title(PHASE_TITLES.get(phase, phase), fontsize=10)
            axes.set_xlabel("nodes")
            axes.set_ylim(bottom=0)
            axes.grid(color="#e0e0e0", zorder=0)
        panels[0].set_ylabel("seconds")
        handles, labels = panels[0].get_legend_handles_labels()
        figure.legend(handles, labels, frameon=False, ncols=len(labels), loc="upper center", bbox_to_anchor=(0.5, 1.1))
        figure.tight_layout()
        return svg(figure, "scale", "Each method's phase times against cluster size, in seconds")


def text_table(view: ScaleView) -> str:
    """The scale table for a terminal: a line per method and size, each phase's seconds (FAIL, or - when missing)."""
    lines = [f"{'method':<8} {'nodes':>5} " + " ".join(f"{p:>12}" for p in SCALE_PHASES)]
    for row in view.rows:
        cells = []
        for cell in row.cells:
            text = "-" if cell.seconds is None else f"{cell.seconds:.1f} s"
            cells.append(f"{text + (' FAIL' if cell.status == 'fail' else ''):>12}")
        lines.append(f"{row.method:<8} {row.size:>5} " + " ".join(cells))
    return "\n".join([*lines, *(f"note: {n}" for n in view.notes)])


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m orka.report.scale [FOLDER] [RESULTS]`: print the scale table of reports/scale/ (and results.json)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m orka.report.scale", description=main.__doc__)
    parser.add_argument("folder", nargs="?", default="reports/scale", type=Path)
    parser.add_argument("results", nargs="?", default="reports/results.json", type=Path)
    args = parser.parse_args(argv)
    try:
        current = read_records(args.results) if args.results.exists() else []
    except ValueError as exc:
        parser.error(f"{args.results}: {exc}")
    view = scale_view(args.folder, str(args.folder), current, str(args.results))
    if view is None:
        parser.error(f"{args.folder}: no scale runs (make scale writes them)")
    print(text_table(view))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
