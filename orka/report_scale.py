"""The comparison page's scale section: each method's phase times against cluster size.

From the spikes themselves, not from a separate benchmark: every file in
reports/scale/ (`pytest spikes/ --cluster-size 10 --results reports/scale/10.json`,
`make scale`) holds one run at one size, and the page's own results.json adds
its size when no scale file has it. One point per method and size: the
latest run that has it. The chart has a panel per phase (bring-up, then the
method's phases); the table under it also says whether verify passed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from markupsafe import Markup
from matplotlib.figure import Figure

from orka.charts import COLORS, SPARE_COLORS, chart_style, svg
from orka.results import passed

#: The scale table's columns: bring-up, the method's phases, and verify (pass or fail; its time is the checks').
SCALE_PHASES = ("up", "ping", "apply", "idempotence", "orchestrate", "verify")
#: The chart's panels: the phases whose time is the method's own.
CHARTED_PHASES = ("up", "ping", "apply", "idempotence", "orchestrate")
PHASE_TITLES = {"up": "bring-up (cluster ready, tool answering)", "idempotence": "idempotence (2nd apply)"}
METHOD_ORDER = ("salt", "ansible", "custom")


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


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _latest_run(records: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    last: dict[str, str] = {}
    for r in records:
        run = str(r.get("run_id") or "")
        last[run] = max(last.get(run, ""), str(r.get("recorded_at") or ""))
    latest = max(last, key=lambda run: (last[run], run))
    return [r for r in records if str(r.get("run_id") or "") == latest]


def _cell(phase: str, mine: Sequence[Mapping[str, Any]]) -> ScaleCell:
    records = [r for r in mine if r.get("phase") == phase]
    if phase == "verify":  # one record per node and check; no whole-phase record
        checks = [r for r in records if r.get("node") is not None]
        if not checks:
            return ScaleCell(phase, "missing")
        good = sum(passed(r) for r in checks)
        seconds = sum(_number(r.get("duration_s")) or 0.0 for r in checks)
        status = "pass" if good == len(checks) and all(passed(w) for w in records if w.get("node") is None) else "fail"
        return ScaleCell(phase, status, round(seconds, 3), f"{good}/{len(checks)} checks")
    wholes = [r for r in records if r.get("node") is None]
    if not wholes:
        return ScaleCell(phase, "missing")
    whole = wholes[-1]
    detail = ""
    if phase == "up":
        nodes = [r for r in records if r.get("node") is not None]
        detail = f"{sum(bool(r.get('ok')) for r in nodes)}/{len(nodes)} nodes fresh"
    return ScaleCell(phase, "pass" if passed(whole) else "fail", _number(whole.get("duration_s")), detail)


def rows_of(records: Sequence[Mapping[str, Any]], source: str) -> list[ScaleRow]:
    """A row per method of the file's latest run, at the cluster size its records name."""
    run = _latest_run(records)
    rows = []
    for method in dict.fromkeys(str(r["method"]) for r in run):
        mine = [r for r in run if r["method"] == method]
        sizes = [r["cluster_size"] for r in mine if isinstance(r.get("cluster_size"), int)]
        if not sizes:
            continue
        stamps = sorted(str(r.get("recorded_at") or "") for r in mine)
        rows.append(
            ScaleRow(
                method,
                max(set(sizes), key=sizes.count),
                source,
                str(mine[0].get("run_id") or ""),
                stamps[-1],
                tuple(_cell(phase, mine) for phase in SCALE_PHASES),
            )
        )
    return rows


def _records(path: Path) -> list[Mapping[str, Any]]:
    """The result records of a file; ValueError saying why there are none."""
    try:
        data = json.loads(path.read_text(errors="replace"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON (line {exc.lineno}: {exc.msg})") from None
    items = data if isinstance(data, list) else []
    found: list[Mapping[str, Any]] = [r for r in items if isinstance(r, dict) and r.get("method") and r.get("phase")]
    if not found:
        raise ValueError("holds no result records")
    return found


def _order(row: ScaleRow) -> tuple[int, int, str]:
    known = METHOD_ORDER.index(row.method) if row.method in METHOD_ORDER else len(METHOD_ORDER)
    return (known, row.size, row.method)


def scale_view(
    folder: Path, shown_folder: str, current: Sequence[Mapping[str, Any]] = (), current_source: str = ""
) -> ScaleView | None:
    """The scale section, or None when there is no reports/scale/ folder with a file in it."""
    files = sorted(folder.glob("*.json")) if folder.is_dir() else []
    if not files:
        return None
    chosen: dict[tuple[str, int], ScaleRow] = {}
    notes = []
    for path in files:
        try:
            found = rows_of(_records(path), f"{shown_folder}/{path.name}")
        except (OSError, ValueError) as exc:
            notes.append(f"{shown_folder}/{path.name}: {exc}")
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
    spare = iter(SPARE_COLORS * max(1, len(methods)))
    colors = {m: COLORS.get(m) or next(spare) for m in methods}
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
    """`python -m orka.report_scale [FOLDER] [RESULTS]`: print the scale table of reports/scale/ (and results.json)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m orka.report_scale", description=main.__doc__)
    parser.add_argument("folder", nargs="?", default="reports/scale", type=Path)
    parser.add_argument("results", nargs="?", default="reports/results.json", type=Path)
    args = parser.parse_args(argv)
    try:
        current = _records(args.results) if args.results.exists() else []
    except ValueError as exc:
        parser.error(f"{args.results}: {exc}")
    view = scale_view(args.folder, str(args.folder), current, str(args.results))
    if view is None:
        parser.error(f"{args.folder}: no scale runs (make scale writes them)")
    print(text_table(view))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
