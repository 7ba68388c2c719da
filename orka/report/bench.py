"""The comparison page's benchmark section: benchmarks/bench_methods.py's figures, time against cluster size."""

from __future__ import annotations

import json
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from markupsafe import Markup
from matplotlib.figure import Figure

from orka.report.charts import chart_style, method_colors, svg
from orka.report.records import _int, _number, _text

BENCH_PHASES = {"ping": "ping (cold SSH)", "apply": "apply", "apply2": "2nd apply (nothing to change)"}


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


def bench_view(path: Path | None, shown: str) -> BenchView | None:
    if path is None:
        return None
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
            samples.setdefault((tool, phase, size), []).append(_number(r["seconds"]) or 0.0)
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


def size_chart(medians: Mapping[tuple[str, str], Mapping[int, float]], tools: Sequence[str]) -> Markup:
    """Lines: time against cluster size, one line per tool, one panel per benchmark phase."""
    phases = [p for p in BENCH_PHASES if any(phase == p for _, phase in medians)]
    phases += sorted({phase for _, phase in medians} - set(phases))
    colors = method_colors(tools)
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
